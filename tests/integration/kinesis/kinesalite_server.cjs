#!/usr/bin/env node
// Starts kinesalite (the npm Kinesis emulator, in memory) for the client tours.
//
//   node kinesalite_server.cjs [--port N] [--port-file FILE] [--header-log FILE]
//                              [--createStreamMs MS] [--deleteStreamMs MS] [--updateStreamMs MS]
//                              [--shardLimit N]
//
// Differences from kinesalite's own cli.js, all about the transport, none about the API:
//  - listens on 127.0.0.1 only (cli.js listens on every interface) and on a free port by default
//    (--port 0); the port chosen is written to --port-file and printed as "PORT <n>";
//  - serves HTTP/1.1 **and** cleartext HTTP/2 with prior knowledge (h2c) on the same port.
//    kinesalite itself speaks only HTTP/1.1, but the AWS SDK for JavaScript v3 Kinesis client
//    defaults to NodeHttp2Handler, which opens h2c straight away on an http:// endpoint. Each
//    connection is sniffed: the HTTP/2 client preface goes to a node:http2 server, anything else
//    to the node:http server; both hand their requests to kinesalite's own request handler
//    (node's HTTP/2 compatibility API has the same req/res surface kinesalite uses);
//  - --header-log FILE appends one JSON line per request: HTTP version, method, path and the
//    request headers exactly as received, in order (for documenting each client's wire format).
'use strict'

const fs = require('fs')
const net = require('net')
const http = require('http')
const http2 = require('http2')
const path = require('path')
const {Duplex} = require('stream')

function parseArgs(argv) {
  const opts = {port: 0, createStreamMs: 10, deleteStreamMs: 10, updateStreamMs: 10, shardLimit: 1000}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const m = /^--([A-Za-z-]+)(?:=(.*))?$/.exec(a)
    if (!m) throw new Error('unexpected argument ' + a)
    const value = m[2] !== undefined ? m[2] : argv[++i]
    if (value === undefined) throw new Error('missing value for ' + a)
    switch (m[1]) {
      case 'port': opts.port = Number(value); break
      case 'port-file': opts.portFile = value; break
      case 'header-log': opts.headerLog = value; break
      case 'createStreamMs': case 'deleteStreamMs': case 'updateStreamMs': case 'shardLimit':
        opts[m[1]] = Number(value); break
      default: throw new Error('unknown option ' + a)
    }
  }
  return opts
}

const opts = parseArgs(process.argv.slice(2))
const kinesalite = require(path.join(__dirname, 'node_modules', 'kinesalite'))

// kinesalite(options) builds an http.Server whose single 'request' listener is the emulator.
const inner = kinesalite({
  createStreamMs: opts.createStreamMs,
  deleteStreamMs: opts.deleteStreamMs,
  updateStreamMs: opts.updateStreamMs,
  shardLimit: opts.shardLimit,
})
const emulator = inner.listeners('request')[0]
if (typeof emulator !== 'function') throw new Error('kinesalite request handler not found')

function logHeaders(req) {
  if (!opts.headerLog) return
  const raw = req.rawHeaders || []
  const headers = []
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i], raw[i + 1]])
  const line = JSON.stringify({httpVersion: req.httpVersion, method: req.method, url: req.url, headers})
  fs.appendFileSync(opts.headerLog, line + '\n')
}

function handle(req, res) {
  logHeaders(req)
  emulator(req, res)
}

const h1 = http.createServer(handle)
const h2 = http2.createServer({}, handle)
h2.on('sessionError', () => {})
// The JS SDK's default Kinesis handler (NodeHttp2Handler with disableConcurrentStreams) sends
// GOAWAY as soon as the response headers arrive, while the body may still be flowing. node's
// http2 server answers that by closing the session, and bodies larger than the client's
// initial window (65535 bytes) came out cut at 65535 bytes, the rest never sent (seen with a
// plain node http2 server too). h2o 2.2 and nghttpd finish the stream and then close. So
// here a client's GOAWAY does not close the session; it ends after 2 s without activity.
h2.on('session', (session) => {
  session.on('goaway', () => {
    const close = session.close
    session.close = function () { session.close = close } // skip the close node does next
    session.setTimeout(2000, () => session.destroy())
  })
})

// node:http2 reads a net.Socket's handle directly and would miss the bytes already read while
// sniffing, so HTTP/2 connections get a plain Duplex that replays them first.
function bridge(sock, head) {
  const d = new Duplex({
    read() { sock.resume() },
    write(chunk, enc, cb) { sock.write(chunk, enc, cb) },
    final(cb) { sock.end(); cb() },
    destroy(err, cb) { sock.destroy(); cb(err) },
  })
  d.push(head)
  sock.on('data', (c) => { if (!d.push(c)) sock.pause() })
  sock.on('end', () => d.push(null))
  sock.on('close', () => d.destroy())
  return d
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

const front = net.createServer((sock) => {
  sock.setNoDelay(true)
  let buf = Buffer.alloc(0)
  const onData = (chunk) => {
    buf = Buffer.concat([buf, chunk])
    const n = Math.min(buf.length, PREFACE.length)
    const isH2 = buf.subarray(0, n).equals(PREFACE.subarray(0, n))
    if (isH2 && buf.length < PREFACE.length) return // need more bytes to decide
    sock.removeListener('data', onData)
    if (isH2) {
      h2.emit('connection', bridge(sock, buf))
    } else {
      sock.pause()
      sock.unshift(buf)
      h1.emit('connection', sock)
      sock.resume()
    }
  }
  sock.on('data', onData)
  sock.on('error', () => {})
})

front.listen(opts.port, '127.0.0.1', () => {
  const port = front.address().port
  if (opts.portFile) {
    fs.writeFileSync(opts.portFile + '.tmp', String(port) + '\n')
    fs.renameSync(opts.portFile + '.tmp', opts.portFile)
  }
  console.log('PORT ' + port)
})

function stop() {
  front.close()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
