#!/usr/bin/env node
// A tour of the Kinesis Data Streams API through the AWS SDK for JavaScript v3, checking
// behaviour precisely (the same tour as boto3_tour.py).
//
//   node js_tour.mjs [--http1] [ENDPOINT]        (default endpoint: $KINESIS_ENDPOINT)
//
// Without --http1 the client is the SDK's default configuration, whose request handler for
// Kinesis is NodeHttp2Handler: HTTP/2, and on an http:// endpoint cleartext HTTP/2 with prior
// knowledge (h2c, no Upgrade). With --http1 it gets `new NodeHttpHandler()` (HTTP/1.1). The
// tour watches node:http / node:http2 to see which protocol really carried the calls, prints
// it, and fails if it is not the one the mode stands for. Only retries are turned off
// (maxAttempts 1) so that every server error surfaces.
//
// Exits 0 when every check holds, 1 at the first failed check, 2 on bad usage. For
// $KINESIS_KNOWN_DEVIATIONS see boto3_tour.py and kinesalite_deviations.txt.

import crypto from 'node:crypto'
import http from 'node:http'
import http2 from 'node:http2'

// Which protocol carries the calls: count HTTP/1.1 requests and HTTP/2 sessions and streams.
// @smithy/node-http-handler looks http.request and http2.connect up on the module objects at
// call time, so wrapping them here sees every request it makes.
const wire = {h1Requests: 0, h1Versions: new Set(), h2Sessions: 0, h2Streams: 0}
{
  const request = http.request
  http.request = function (...args) {
    wire.h1Requests++
    const req = request.apply(this, args)
    req.on('response', (res) => wire.h1Versions.add(res.httpVersion))
    return req
  }
  const connect = http2.connect
  http2.connect = function (...args) {
    wire.h2Sessions++
    const session = connect.apply(this, args)
    const streamRequest = session.request
    session.request = function (...a) {
      wire.h2Streams++
      return streamRequest.apply(this, a)
    }
    return session
  }
}

// Hermetic: dummy credentials unless given, no profile or shared config from the machine.
process.env.AWS_ACCESS_KEY_ID ||= 'AKIDSLUICETOUR'
process.env.AWS_SECRET_ACCESS_KEY ||= 'sluice-tour-dummy-secret'
delete process.env.AWS_PROFILE
delete process.env.AWS_DEFAULT_PROFILE
process.env.AWS_CONFIG_FILE = '/dev/null'
process.env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null'
process.env.AWS_REGION = 'us-east-1'
process.env.AWS_EC2_METADATA_DISABLED = 'true'

const K = await import('@aws-sdk/client-kinesis')
const {NodeHttpHandler} = await import('@smithy/node-http-handler')
const {createRequire} = await import('node:module')
const sdkVersion = createRequire(import.meta.url)('@aws-sdk/client-kinesis/package.json').version

const args = process.argv.slice(2)
const http1 = args.includes('--http1')
const endpoint = args.filter((a) => a !== '--http1')[0] || process.env.KINESIS_ENDPOINT
if (!endpoint || args.some((a) => a.startsWith('--') && a !== '--http1')) {
  console.error('usage: js_tour.mjs [--http1] ENDPOINT  (or set KINESIS_ENDPOINT)')
  process.exit(2)
}
const TOUR = http1 ? 'js-http1' : 'js-default'
const MAX_HASH = (1n << 128n) - 1n
const ONE_MIB = 1024 * 1024
const KNOWN = new Set((process.env.KINESIS_KNOWN_DEVIATIONS || '').split(',').filter(Boolean))
const deviationsSeen = new Set()
let current = 'setup' // the tour section running, for failure messages

class CheckFailed extends Error {}

const log = (msg) => console.log(`[${TOUR}] ${msg}`)
const section = (title) => {
  current = title
  log(`-- ${title}`)
}

function short(v, n = 300) {
  let s
  try {
    s = JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array
      ? `<${x.length} bytes>` : x))
  } catch {
    s = String(v)
  }
  if (s === undefined) s = String(v)
  return s.length <= n ? s : `${s.slice(0, n)}...(${s.length} chars)`
}

function check(cond, what, deviation) {
  if (deviation && KNOWN.has(deviation)) {
    if (cond) {
      throw new CheckFailed(`${what}: holds, but known deviation '${deviation}' says it should ` +
        'not on this server; update kinesalite_deviations.txt')
    }
    deviationsSeen.add(deviation)
    log(`KNOWN DEVIATION [${deviation}]: ${what}`)
    return false
  }
  if (!cond) throw new CheckFailed(what)
  log(`ok: ${what}`)
  return true
}

function eq(actual, expected, what, deviation) {
  const same = JSON.stringify(actual) === JSON.stringify(expected)
  return check(same, same ? what : `${what}: expected ${short(expected)}, got ${short(actual)}`,
    deviation)
}

const watchdog = setTimeout(() => {
  log('FAILED: the tour did not finish within 240 s')
  process.exit(1)
}, 240000)
watchdog.unref()

const client = new K.KinesisClient({
  endpoint,
  region: 'us-east-1',
  maxAttempts: 1,
  ...(http1 ? {requestHandler: new NodeHttpHandler()} : {}),
})
const send = (Cmd, input, opts) => client.send(new Cmd(input), opts)

async function expectError(code, what, Cmd, input, deviation) {
  try {
    await send(Cmd, input)
  } catch (e) {
    const status = e.$metadata?.httpStatusCode
    if (e.name !== code || status !== 400) {
      return check(false, `${what}: expected ${code} (HTTP 400), got ${e.name} (HTTP ${status}): ` +
        `${String(e.message).slice(0, 200)}`, deviation)
    }
    return check(true, `${what} -> ${code}`, deviation)
  }
  return check(false, `${what}: expected ${code}, but the call succeeded`, deviation)
}

// A call that should succeed, as a check (with `deviation` it may be a known failure): the
// response, or null when it failed as a known deviation.
async function attempt(what, Cmd, input, deviation) {
  let resp
  try {
    resp = await send(Cmd, input)
  } catch (e) {
    check(false, `${what}: ${e.name}: ${String(e.message).slice(0, 200)}`, deviation)
    return null
  }
  check(true, what, deviation)
  return resp
}

// Tags as ListTagsForStream lists them: sorted by key, bytewise (UTF-8).
const tagList = (tags) => Object.keys(tags).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  .map((k) => ({Key: k, Value: tags[k]}))
const normTags = (tags) => (tags || []).map((t) => ({Key: t.Key, Value: t.Value}))
const waitActive = async (stream) => eq((await K.waitUntilStreamExists(
  {client, maxWaitTime: 60, minDelay: 1, maxDelay: 2}, {StreamName: stream})).state, 'SUCCESS',
`waitUntilStreamExists saw ${stream} ACTIVE`)

const hashKey = (pk) => BigInt('0x' + crypto.createHash('md5').update(pk, 'utf8').digest('hex'))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const sleepUntil = (tSec) => sleep(Math.max(0, Math.min(2000, tSec * 1000 - Date.now())))
const bytes = (s) => new Uint8Array(Buffer.from(s))
const big = (s) => BigInt(s)
const isDecimalSeq = (s) => typeof s === 'string' && /^(0|[1-9]\d{0,128})$/.test(s)
const bySeq = (a, b) => (big(a.seq) < big(b.seq) ? -1 : big(a.seq) > big(b.seq) ? 1 : 0)

async function tour(name) {
  const missing = name + '-missing'

  // ---- 1. Errors on a stream that does not exist.
  section('1. Errors on a stream that does not exist')
  await expectError('ResourceNotFoundException', 'DescribeStreamSummary of a missing stream',
    K.DescribeStreamSummaryCommand, {StreamName: missing})
  await expectError('ResourceNotFoundException', 'PutRecord to a missing stream',
    K.PutRecordCommand, {StreamName: missing, Data: bytes('x'), PartitionKey: 'k'})
  await expectError('ResourceNotFoundException', 'PutRecords to a missing stream',
    K.PutRecordsCommand, {StreamName: missing, Records: [{Data: bytes('x'), PartitionKey: 'k'}]})
  await expectError('ResourceNotFoundException', 'ListShards of a missing stream',
    K.ListShardsCommand, {StreamName: missing})
  await expectError('ResourceNotFoundException', 'GetShardIterator on a missing stream',
    K.GetShardIteratorCommand, {StreamName: missing, ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON'})
  await expectError('ResourceNotFoundException', 'DeleteStream of a missing stream',
    K.DeleteStreamCommand, {StreamName: missing})

  // ---- 2. Create, wait with the StreamExists waiter, describe.
  section('2. Create, wait with the StreamExists waiter, describe')
  const tCreate = Date.now() / 1000
  await send(K.CreateStreamCommand, {StreamName: name, ShardCount: 2})
  const w = await K.waitUntilStreamExists({client, maxWaitTime: 60, minDelay: 1, maxDelay: 2},
    {StreamName: name})
  eq(w.state, 'SUCCESS', 'waitUntilStreamExists saw the stream ACTIVE')
  await expectError('ResourceInUseException', 'CreateStream with a name in use',
    K.CreateStreamCommand, {StreamName: name, ShardCount: 1})

  const s = (await send(K.DescribeStreamSummaryCommand, {StreamName: name})).StreamDescriptionSummary
  eq(s.StreamName, name, 'summary StreamName')
  check(new RegExp(`^arn:aws:kinesis:us-east-1:\\d{12}:stream/${name.replace(/[.]/g, '\\.')}$`)
    .test(s.StreamARN || ''), `summary StreamARN has the AWS form (${s.StreamARN})`)
  eq(s.StreamStatus, 'ACTIVE', 'summary StreamStatus')
  eq(s.RetentionPeriodHours, 24, 'summary RetentionPeriodHours (default 24)')
  eq(s.OpenShardCount, 2, 'summary OpenShardCount')
  eq(s.EncryptionType, 'NONE', 'summary EncryptionType')
  eq(s.EnhancedMonitoring, [{ShardLevelMetrics: []}], 'summary EnhancedMonitoring')
  eq(s.ConsumerCount, 0, 'summary ConsumerCount')
  const ct = s.StreamCreationTimestamp
  check(ct instanceof Date && ct.getTime() / 1000 >= tCreate - 30 && ct.getTime() <= Date.now() + 5000,
    `summary StreamCreationTimestamp is about now (${ct?.toISOString?.()})`)
  eq(s.StreamModeDetails, {StreamMode: 'PROVISIONED'},
    'summary StreamModeDetails (PROVISIONED when created with ShardCount)',
    'kinesalite-no-stream-mode')
  const names = []
  let page = {Limit: 100}
  for (let n = 0; n < 50; n++) { // pages of 100 (a shared server may hold other streams)
    const ls = await send(K.ListStreamsCommand, page)
    names.push(...(ls.StreamNames || []))
    if (!ls.HasMoreStreams || !ls.StreamNames?.length) break
    page = {Limit: 100, ExclusiveStartStreamName: ls.StreamNames[ls.StreamNames.length - 1]}
  }
  check(names.includes(name), 'ListStreams lists the stream')

  // ---- 3. ListShards: two open shards tiling the hash key space, paging with MaxResults.
  section('3. ListShards')
  const ls = await send(K.ListShardsCommand, {StreamName: name})
  const shards = ls.Shards
  eq(shards.map((x) => x.ShardId), ['shardId-000000000000', 'shardId-000000000001'],
    'ListShards shard ids')
  check(ls.NextToken === undefined, 'ListShards has no NextToken when every shard fits')
  const half = (1n << 128n) / 2n
  eq(shards.map((x) => [x.HashKeyRange.StartingHashKey, x.HashKeyRange.EndingHashKey]),
    [['0', String(half - 1n)], [String(half), String(MAX_HASH)]], 'ListShards hash key ranges')
  for (const sh of shards) {
    const rng = sh.SequenceNumberRange
    check(isDecimalSeq(rng.StartingSequenceNumber) && rng.EndingSequenceNumber === undefined &&
      sh.ParentShardId === undefined,
    `${sh.ShardId} is open with a decimal StartingSequenceNumber`)
  }
  const ranges = shards.map((x) => [big(x.HashKeyRange.StartingHashKey),
    big(x.HashKeyRange.EndingHashKey), x.ShardId])
  const shardIds = shards.map((x) => x.ShardId)
  const startSeq = Object.fromEntries(shards.map((x) =>
    [x.ShardId, x.SequenceNumberRange.StartingSequenceNumber]))
  const shardFor = (hk) => ranges.find(([lo, hi]) => lo <= hk && hk <= hi)[2]

  const after0 = await send(K.ListShardsCommand, {StreamName: name,
    ExclusiveStartShardId: 'shardId-000000000000'})
  eq(after0.Shards.map((x) => x.ShardId), ['shardId-000000000001'],
    'ListShards ExclusiveStartShardId')
  const p1 = await send(K.ListShardsCommand, {StreamName: name, MaxResults: 1})
  const token = p1.NextToken
  if (check(p1.Shards.length === 1 && p1.Shards[0].ShardId === 'shardId-000000000000' && !!token,
    'ListShards MaxResults=1 returns one shard and a NextToken', 'kinesalite-listshards-no-paging')) {
    const p2 = await send(K.ListShardsCommand, {NextToken: token})
    eq(p2.Shards.map((x) => x.ShardId), ['shardId-000000000001'], 'ListShards NextToken page 2')
    check(p2.NextToken === undefined, 'ListShards last page has no NextToken')
  }
  await expectError('InvalidArgumentException', 'ListShards with both StreamName and NextToken',
    K.ListShardsCommand, {StreamName: name, NextToken: token || 'AAAAAAAAAAE='})

  const iterator = async (sid, type, extra = {}) => (await send(K.GetShardIteratorCommand,
    {StreamName: name, ShardId: sid, ShardIteratorType: type, ...extra})).ShardIterator

  // ---- 4. An empty stream reads empty and caught up.
  section('4. An empty stream reads empty and caught up')
  for (const sid of shardIds) {
    const r = await send(K.GetRecordsCommand, {ShardIterator: await iterator(sid, 'TRIM_HORIZON')})
    check(r.Records.length === 0 && r.MillisBehindLatest === 0 && !!r.NextShardIterator,
      `${sid}: empty shard reads no records, MillisBehindLatest 0, a next iterator`)
  }

  // ---- 5. Phase A: sequential PutRecord calls.
  section('5. Phase A')
  const put = Object.fromEntries(shardIds.map((sid) => [sid, []])) // {seq, pk, data, phase}
  const lastSeq = {}
  const recordPut = (resp, pk, data, phase, expectShard) => {
    const sid = resp.ShardId
    const seq = resp.SequenceNumber
    eq(sid, expectShard, `put pk=${JSON.stringify(pk.slice(0, 20))} went to the shard its hash key selects`)
    check(isDecimalSeq(seq), `sequence number ${seq} is decimal`)
    check(big(seq) >= big(startSeq[sid]), `${seq} >= the shard's StartingSequenceNumber`)
    if (lastSeq[sid] !== undefined) {
      check(big(seq) > big(lastSeq[sid]), `${sid}: sequence number ${seq} > previous ${lastSeq[sid]}`)
    }
    lastSeq[sid] = seq
    put[sid].push({seq, pk, data: Buffer.from(data), phase})
  }

  const tA0 = Date.now() / 1000
  for (let i = 0; i < 12; i++) {
    const pk = `session-${i % 5}`
    const data = Buffer.concat([Buffer.from(`A${i}:`), Buffer.from([...Array(256).keys()]),
      crypto.randomBytes(i)])
    const r = await send(K.PutRecordCommand, {StreamName: name, Data: data, PartitionKey: pk})
    recordPut(r, pk, data, 'A', shardFor(hashKey(pk)))
  }
  let r = await send(K.PutRecordCommand, {StreamName: name, Data: bytes('ehk-zero'),
    PartitionKey: 'ehk', ExplicitHashKey: '0'})
  recordPut(r, 'ehk', bytes('ehk-zero'), 'A', 'shardId-000000000000')
  r = await send(K.PutRecordCommand, {StreamName: name, Data: bytes('ehk-max'), PartitionKey: 'ehk',
    ExplicitHashKey: String(MAX_HASH)})
  recordPut(r, 'ehk', bytes('ehk-max'), 'A', 'shardId-000000000001')
  await expectError('InvalidArgumentException', 'PutRecord with ExplicitHashKey 2^128',
    K.PutRecordCommand, {StreamName: name, Data: bytes('x'), PartitionKey: 'k',
      ExplicitHashKey: String(1n << 128n)})
  const prev = lastSeq[shardFor(hashKey('session-0'))]
  r = await send(K.PutRecordCommand, {StreamName: name, Data: bytes('ordered'),
    PartitionKey: 'session-0', SequenceNumberForOrdering: prev})
  check(big(r.SequenceNumber) > big(prev),
    'PutRecord with SequenceNumberForOrdering gets a greater sequence number')
  recordPut(r, 'session-0', bytes('ordered'), 'A', shardFor(hashKey('session-0')))

  // LATEST iterators now: they must see exactly what is put from here on.
  const latestIt = {}
  for (const sid of shardIds) latestIt[sid] = await iterator(sid, 'LATEST')
  await sleep(1200) // separates phase A's arrival times from phase B's (for AT_TIMESTAMP)

  // ---- 6. Phase B: PutRecords, size and partition-key limits, and their errors.
  section('6. Phase B')
  const batch = []
  for (let i = 0; i < 20; i++) {
    batch.push({Data: bytes(`{"order":${i},"v":"${'x'.repeat(i)}"}`), PartitionKey: `order-${i}-é`})
  }
  batch.push({Data: bytes('batch-ehk'), PartitionKey: 'p', ExplicitHashKey: String(half)})
  const rr = await send(K.PutRecordsCommand, {StreamName: name, Records: batch})
  eq(rr.FailedRecordCount, 0, 'PutRecords FailedRecordCount')
  eq(rr.Records.length, batch.length, 'PutRecords returns one result per entry')
  const batchSeqs = {}
  batch.forEach((ent, i) => {
    const res = rr.Records[i]
    const want = shardFor(ent.ExplicitHashKey !== undefined ? big(ent.ExplicitHashKey)
      : hashKey(ent.PartitionKey))
    check(res.ShardId === want && res.ErrorCode === undefined,
      `PutRecords result for ${JSON.stringify(ent.PartitionKey)} is in request order, on ${want}`)
    // PutRecords does not promise order inside one call, only after earlier calls.
    check(big(res.SequenceNumber) > big(lastSeq[want]),
      `PutRecords entry ${res.SequenceNumber} > earlier puts on ${want}`)
    ;(batchSeqs[want] ||= []).push(big(res.SequenceNumber))
    put[want].push({seq: res.SequenceNumber, pk: ent.PartitionKey, data: Buffer.from(ent.Data),
      phase: 'B'})
  })
  for (const [sid, seqs] of Object.entries(batchSeqs)) {
    eq(new Set(seqs).size, seqs.length, `PutRecords sequence numbers on ${sid} are distinct`)
    lastSeq[sid] = String(seqs.reduce((a, b) => (a > b ? a : b)))
  }

  for (const pk of ['k'.repeat(256), 'é'.repeat(256), '€'.repeat(256)]) {
    r = await send(K.PutRecordCommand, {StreamName: name, Data: bytes('long-key'), PartitionKey: pk})
    recordPut(r, pk, bytes('long-key'), 'B', shardFor(hashKey(pk)))
  }
  check(true, '256-character partition keys (ASCII, 2- and 3-byte UTF-8) are accepted')
  // (The JS SDK does no client-side validation: these reach the server as they are.)
  await expectError('ValidationException', 'PutRecord with an empty partition key',
    K.PutRecordCommand, {StreamName: name, Data: bytes('x'), PartitionKey: ''})
  await expectError('ValidationException', 'PutRecord with a 257-character partition key',
    K.PutRecordCommand, {StreamName: name, Data: bytes('x'), PartitionKey: 'k'.repeat(257)})
  await expectError('ValidationException', 'PutRecords with a 257-character partition key',
    K.PutRecordsCommand, {StreamName: name, Records: [{Data: bytes('ok'), PartitionKey: 'fine'},
      {Data: bytes('x'), PartitionKey: 'k'.repeat(257)}]})
  const bigPk = 'big'
  const bigData = crypto.randomBytes(ONE_MIB - bigPk.length)
  r = await send(K.PutRecordCommand, {StreamName: name, Data: bigData, PartitionKey: bigPk})
  recordPut(r, bigPk, bigData, 'B', shardFor(hashKey(bigPk)))
  check(true, 'a record of exactly 1 MiB (data + partition key) is accepted')
  await expectError('ValidationException', 'PutRecord with 1 MiB + 1 byte of data',
    K.PutRecordCommand, {StreamName: name, Data: new Uint8Array(ONE_MIB + 1), PartitionKey: 'k'})
  await expectError('ValidationException', 'PutRecords with one entry of 1 MiB + 1 byte',
    K.PutRecordsCommand, {StreamName: name, Records: [
      {Data: bytes('must-not-be-stored'), PartitionKey: 'fine'},
      {Data: new Uint8Array(ONE_MIB + 1), PartitionKey: 'k'}]})
  const tB1 = Date.now() / 1000

  // ---- 7. Read back with every iterator type.
  section('7. Read back with every iterator type')
  const readAll = async (it, what, limit, maxCalls = 200) => {
    const out = []
    const deadline = Date.now() + 60000
    for (let n = 0; n < maxCalls; n++) {
      const resp = await send(K.GetRecordsCommand, limit ? {ShardIterator: it, Limit: limit}
        : {ShardIterator: it})
      if (limit && resp.Records.length > limit) {
        throw new CheckFailed(`${what}: GetRecords returned ${resp.Records.length} records, Limit=${limit}`)
      }
      out.push(...resp.Records)
      it = resp.NextShardIterator
      if (!it) throw new CheckFailed(`${what}: an open shard returned no NextShardIterator`)
      if (resp.Records.length === 0 && resp.MillisBehindLatest === 0) return out
      if (Date.now() > deadline) break
    }
    throw new CheckFailed(`${what}: not caught up after ${maxCalls} GetRecords calls`)
  }
  const same = (records, expected, what, deviation) => {
    const got = records.map((x) => [x.SequenceNumber, x.PartitionKey, Buffer.from(x.Data).toString('hex')])
    const want = expected.map((x) => [x.seq, x.pk, x.data.toString('hex')])
    if (JSON.stringify(got) === JSON.stringify(want)) {
      return check(true, `${what}: ${want.length} records, data/keys/sequence numbers equal, in order`,
        deviation)
    }
    let detail = `got ${got.length} records, expected ${want.length}`
    for (let k = 0; k < Math.min(got.length, want.length); k++) {
      if (JSON.stringify(got[k]) !== JSON.stringify(want[k])) {
        detail += `; first difference at #${k}: got ${short(got[k], 120)}, expected ${short(want[k], 120)}`
        break
      }
    }
    return check(false, `${what}: ${detail}`, deviation)
  }
  const sorted = (sid) => [...put[sid]].sort(bySeq)

  for (const sid of shardIds) {
    const expected = sorted(sid)
    let recs = await readAll(await iterator(sid, 'TRIM_HORIZON'), `${sid} TRIM_HORIZON`, 4)
    same(recs, expected, `${sid} TRIM_HORIZON (Limit=4 pages)`)
    const seqs = recs.map((x) => big(x.SequenceNumber))
    check(seqs.every((v, i) => i === 0 || seqs[i - 1] < v), `${sid}: sequence numbers strictly increase`)
    check(recs.every((x) => x.ApproximateArrivalTimestamp instanceof Date &&
      x.ApproximateArrivalTimestamp.getTime() / 1000 >= tA0 - 5 &&
      x.ApproximateArrivalTimestamp.getTime() / 1000 <= tB1 + 5),
    `${sid}: ApproximateArrivalTimestamp within the put window (epoch seconds)`)
    const it0 = await iterator(sid, 'TRIM_HORIZON')
    const one = await send(K.GetRecordsCommand, {ShardIterator: it0, Limit: 1})
    eq(one.Records.length, 1, `${sid}: GetRecords Limit=1 returns one record`)
    const again = await send(K.GetRecordsCommand, {ShardIterator: it0, Limit: 1})
    eq(again.Records[0]?.SequenceNumber, one.Records[0].SequenceNumber,
      `${sid}: an iterator can be used twice`)

    recs = await readAll(latestIt[sid], `${sid} LATEST`)
    same(recs, expected.filter((x) => x.phase === 'B'),
      `${sid} LATEST taken before phase B sees exactly phase B`)

    const k = Math.floor(expected.length / 2)
    const kseq = expected[k].seq
    recs = await readAll(await iterator(sid, 'AT_SEQUENCE_NUMBER', {StartingSequenceNumber: kseq}),
      `${sid} AT_SEQUENCE_NUMBER`)
    same(recs, expected.slice(k), `${sid} AT_SEQUENCE_NUMBER #${k}`)
    recs = await readAll(await iterator(sid, 'AFTER_SEQUENCE_NUMBER', {StartingSequenceNumber: kseq}),
      `${sid} AFTER_SEQUENCE_NUMBER`)
    same(recs, expected.slice(k + 1), `${sid} AFTER_SEQUENCE_NUMBER #${k}`)
    recs = await readAll(await iterator(sid, 'AT_SEQUENCE_NUMBER',
      {StartingSequenceNumber: startSeq[sid]}), `${sid} AT_SEQUENCE_NUMBER shard start`)
    same(recs, expected, `${sid} AT_SEQUENCE_NUMBER of the shard's StartingSequenceNumber`)
    recs = await readAll(await iterator(sid, 'AT_TIMESTAMP',
      {Timestamp: new Date((tA0 - 3600) * 1000)}), `${sid} AT_TIMESTAMP before the stream`)
    same(recs, expected, `${sid} AT_TIMESTAMP an hour before the first record reads all`)
  }

  // AT_TIMESTAMP between the phases at millisecond precision: the JS SDK sends epoch seconds
  // with a millisecond fraction, so 1 ms after the last phase A arrival (server times) must
  // exclude that record and include all of phase B.
  const arr = new Map()
  for (const sid of shardIds) {
    for (const x of await readAll(await iterator(sid, 'TRIM_HORIZON'), `${sid} TRIM_HORIZON`)) {
      arr.set(x.SequenceNumber, x.ApproximateArrivalTimestamp.getTime())
    }
  }
  const all = shardIds.flatMap((sid) => put[sid])
  const maxA = Math.max(...all.filter((x) => x.phase === 'A').map((x) => arr.get(x.seq)))
  const minB = Math.min(...all.filter((x) => x.phase === 'B').map((x) => arr.get(x.seq)))
  check(minB - maxA >= 1000, `phase B arrived >= 1 s after phase A (${maxA / 1000}, ${minB / 1000})`)
  const tMid = new Date(maxA + 1)
  for (const sid of shardIds) {
    const recs = await readAll(await iterator(sid, 'AT_TIMESTAMP', {Timestamp: tMid}),
      `${sid} AT_TIMESTAMP`)
    same(recs, sorted(sid).filter((x) => x.phase === 'B'),
      `${sid} AT_TIMESTAMP 1 ms after the last phase A record (${tMid.getTime() / 1000}) reads exactly phase B`)
  }

  // ---- 8. Iterators at the tip: they see exactly what is put afterwards (phase C).
  section('8. Iterators at the tip')
  const tTip = new Date(Math.max(...arr.values()) + 1)
  await sleepUntil(tTip.getTime() / 1000 + 0.2) // not in the future (kinesalite rejects that)
  const tips = []
  for (const sid of shardIds) {
    const expected = sorted(sid)
    tips.push([sid, 'AFTER_SEQUENCE_NUMBER last', await iterator(sid, 'AFTER_SEQUENCE_NUMBER',
      {StartingSequenceNumber: expected[expected.length - 1].seq})])
    tips.push([sid, 'LATEST', await iterator(sid, 'LATEST')])
    try {
      const it = (await client.send(new K.GetShardIteratorCommand({StreamName: name, ShardId: sid,
        ShardIteratorType: 'AT_TIMESTAMP', Timestamp: tTip}), {abortSignal: AbortSignal.timeout(3000)}))
        .ShardIterator
      check(true, `${sid}: GetShardIterator AT_TIMESTAMP later than every record answers`,
        'kinesalite-at-timestamp-tip-hangs')
      tips.push([sid, 'AT_TIMESTAMP after the newest record', it])
    } catch (e) {
      if (e instanceof CheckFailed) throw e
      check(false, `${sid}: GetShardIterator AT_TIMESTAMP later than every record: ${e.name}: ${e.message}`,
        'kinesalite-at-timestamp-tip-hangs')
    }
  }
  for (const [sid, what, it] of tips) {
    const resp = await send(K.GetRecordsCommand, {ShardIterator: it})
    check(resp.Records.length === 0 && resp.MillisBehindLatest === 0, `${sid} ${what}: no records yet, caught up`)
  }
  for (let i = 0; i < 6; i++) {
    const pk = `late-${i}`
    r = await send(K.PutRecordCommand, {StreamName: name, Data: bytes(`C${i}`), PartitionKey: pk})
    recordPut(r, pk, bytes(`C${i}`), 'C', shardFor(hashKey(pk)))
  }
  for (const [sid, what, it] of tips) {
    same(await readAll(it, `${sid} ${what}`), put[sid].filter((x) => x.phase === 'C'),
      `${sid} ${what}: sees exactly phase C`)
  }
  for (const sid of shardIds) {
    same(await readAll(await iterator(sid, 'TRIM_HORIZON'), `${sid} TRIM_HORIZON final`), sorted(sid),
      `${sid} final TRIM_HORIZON: everything put, exactly once (nothing from failed calls)`)
  }

  // ---- 9. Iterator errors.
  section('9. Iterator errors')
  const goodIt = await iterator(shardIds[0], 'TRIM_HORIZON')
  await expectError('InvalidArgumentException', 'GetRecords with a malformed iterator',
    K.GetRecordsCommand, {ShardIterator: 'not-a-shard-iterator'})
  await expectError('InvalidArgumentException', 'GetRecords with a truncated iterator',
    K.GetRecordsCommand, {ShardIterator: goodIt.slice(0, Math.floor(goodIt.length / 2))})
  await expectError('InvalidArgumentException', 'GetShardIterator TRIM_HORIZON with a sequence number',
    K.GetShardIteratorCommand, {StreamName: name, ShardId: shardIds[0], ShardIteratorType: 'TRIM_HORIZON',
      StartingSequenceNumber: put[shardIds[0]][0].seq})
  await expectError('InvalidArgumentException', 'GetShardIterator AT_SEQUENCE_NUMBER without one',
    K.GetShardIteratorCommand, {StreamName: name, ShardId: shardIds[0],
      ShardIteratorType: 'AT_SEQUENCE_NUMBER'})
  await expectError('InvalidArgumentException', "GetShardIterator with another shard's sequence number",
    K.GetShardIteratorCommand, {StreamName: name, ShardId: shardIds[1],
      ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: put[shardIds[0]][0].seq})
  await expectError('ResourceNotFoundException', 'GetShardIterator on a shard that does not exist',
    K.GetShardIteratorCommand, {StreamName: name, ShardId: 'shardId-000000000007',
      ShardIteratorType: 'TRIM_HORIZON'})
  await expectError('ValidationException', 'GetShardIterator with an unknown iterator type',
    K.GetShardIteratorCommand, {StreamName: name, ShardId: shardIds[0], ShardIteratorType: 'SOMETIMES'})

  // ---- 10. Tags through the stream operations (AddTagsToStream, ListTagsForStream,
  // RemoveTagsFromStream), on a stream of their own.
  section('10. Tags')
  const tname = `${name}-tags`
  const listTags = async (input) => {
    const lt = await send(K.ListTagsForStreamCommand, input)
    return {tags: normTags(lt.Tags), more: lt.HasMoreTags}
  }
  const first = {team: 'data', env: 'test'}
  await send(K.CreateStreamCommand, {StreamName: tname, ShardCount: 1, Tags: first})
  await waitActive(tname)
  let lt = await listTags({StreamName: tname})
  if (!eq(lt, {tags: tagList(first), more: false},
    'CreateStream with Tags: ListTagsForStream lists them, sorted by key',
    'kinesalite-create-stream-tags-ignored')) {
    await send(K.AddTagsToStreamCommand, {StreamName: tname, Tags: first})
  }
  let tags = {...first}
  // New keys, an overwritten value, an empty value, letters beyond ASCII; "Zeta" sorts first
  // (bytewise: upper case before lower case).
  const more = {team: 'platform', 'cost-center': '42', empty: '', 'größe': 'groß',
    Zeta: 'upper case sorts first'}
  await send(K.AddTagsToStreamCommand, {StreamName: tname, Tags: more})
  tags = {...tags, ...more}
  eq(await listTags({StreamName: tname}), {tags: tagList(tags), more: false},
    'AddTagsToStream adds new keys and overwrites the value of a key it has (team)')
  const punct = {'a b_c.d/e=f+g-h@i': 'x y_z./=+-@ 1'}
  await send(K.AddTagsToStreamCommand, {StreamName: tname, Tags: punct})
  tags = {...tags, ...punct}
  eq((await listTags({StreamName: tname})).tags, tagList(tags),
    'tags with white space and _ . / = + - @ in key and value are accepted')
  const colon = {'owner:team': 'a:b'}
  if (await attempt("a tag with ':' in key and value is accepted", K.AddTagsToStreamCommand,
    {StreamName: tname, Tags: colon}, 'kinesalite-tag-colon')) {
    tags = {...tags, ...colon}
  }
  eq((await listTags({StreamName: tname})).tags, tagList(tags), 'ListTagsForStream after the additions')

  // Paging: Limit 2, continuing after the last key of each page.
  const pages = []
  let startKey
  for (let n = 0; n < 20; n++) {
    const page = await listTags({StreamName: tname, Limit: 2,
      ...(startKey ? {ExclusiveStartTagKey: startKey} : {})})
    pages.push(page)
    if (!page.more || !page.tags.length) break
    startKey = page.tags[page.tags.length - 1].Key
  }
  const want = tagList(tags)
  eq(pages.flatMap((p) => p.tags), want, 'ListTagsForStream Limit=2 pages with ExclusiveStartTagKey ' +
    `list every tag once, in order (${pages.length} pages)`)
  check(pages.slice(0, -1).every((p) => p.tags.length === 2 && p.more === true) &&
    pages[pages.length - 1].tags.length <= 2 && pages[pages.length - 1].more === false,
  'every page but the last is full with HasMoreTags true; the last has HasMoreTags false')
  // An ExclusiveStartTagKey that is no tag's key: the listing starts after where it would be.
  eq((await listTags({StreamName: tname, ExclusiveStartTagKey: 'f'})).tags,
    want.filter((t) => Buffer.compare(Buffer.from(t.Key), Buffer.from('f')) > 0),
    "ListTagsForStream ExclusiveStartTagKey 'f' (no such key) starts at the next key")

  await send(K.RemoveTagsFromStreamCommand, {StreamName: tname, TagKeys: ['empty', 'no-such-key']})
  delete tags.empty
  eq((await listTags({StreamName: tname})).tags, tagList(tags),
    'RemoveTagsFromStream removes a key, and a key the stream lacks is no error')

  // Errors (the JS SDK checks nothing itself); none of them changes the tags.
  await expectError('InvalidArgumentException', "AddTagsToStream with a key starting 'aws:'",
    K.AddTagsToStreamCommand, {StreamName: tname, Tags: {'aws:owner': 'x'}})
  await expectError('InvalidArgumentException', "AddTagsToStream with '!' in a key",
    K.AddTagsToStreamCommand, {StreamName: tname, Tags: {'bad!key': 'x'}})
  await expectError('InvalidArgumentException', "AddTagsToStream with '#' in a value",
    K.AddTagsToStreamCommand, {StreamName: tname, Tags: {fine: 'bad#value'}})
  await expectError('ValidationException', 'AddTagsToStream with a key of 129 characters',
    K.AddTagsToStreamCommand, {StreamName: tname, Tags: {['k'.repeat(129)]: 'x'}})
  await expectError('ValidationException', 'AddTagsToStream with a value of 257 characters',
    K.AddTagsToStreamCommand, {StreamName: tname, Tags: {fine: 'v'.repeat(257)}})
  await expectError('ValidationException', 'AddTagsToStream with no tags',
    K.AddTagsToStreamCommand, {StreamName: tname, Tags: {}})
  await expectError('ValidationException', 'RemoveTagsFromStream with no keys',
    K.RemoveTagsFromStreamCommand, {StreamName: tname, TagKeys: []})
  await expectError('ValidationException', 'ListTagsForStream with Limit 0',
    K.ListTagsForStreamCommand, {StreamName: tname, Limit: 0})
  await expectError('ValidationException', 'ListTagsForStream with Limit 51',
    K.ListTagsForStreamCommand, {StreamName: tname, Limit: 51})
  await expectError('ResourceNotFoundException', 'AddTagsToStream on a missing stream',
    K.AddTagsToStreamCommand, {StreamName: missing, Tags: {a: 'b'}})
  await expectError('ResourceNotFoundException', 'ListTagsForStream of a missing stream',
    K.ListTagsForStreamCommand, {StreamName: missing})
  await expectError('ResourceNotFoundException', 'RemoveTagsFromStream on a missing stream',
    K.RemoveTagsFromStreamCommand, {StreamName: missing, TagKeys: ['a']})
  eq((await listTags({StreamName: tname})).tags, tagList(tags), 'the refused calls changed no tag')

  // At most 50 tags per stream (added 10 per call: kinesalite takes no more in one call).
  const filler = Object.fromEntries(Array.from({length: 50 - Object.keys(tags).length},
    (_, i) => [`k${String(i).padStart(2, '0')}`, String(i)]))
  const fillerKeys = Object.keys(filler).sort()
  for (let i = 0; i < fillerKeys.length; i += 10) {
    await send(K.AddTagsToStreamCommand, {StreamName: tname,
      Tags: Object.fromEntries(fillerKeys.slice(i, i + 10).map((k) => [k, filler[k]]))})
  }
  tags = {...tags, ...filler}
  eq(await listTags({StreamName: tname}), {tags: tagList(tags), more: false},
    '50 tags: ListTagsForStream without Limit lists all 50 (the default Limit is 50)')
  let got
  try {
    const l50 = await listTags({StreamName: tname, Limit: 50})
    got = [l50.tags.length, l50.more]
  } catch (e) {
    got = e.name
  }
  eq(got, [50, false], 'ListTagsForStream Limit=50 lists all 50', 'kinesalite-tags-limit-10')
  eq(await listTags({StreamName: tname, Limit: 10}), {tags: tagList(tags).slice(0, 10), more: true},
    'ListTagsForStream Limit=10 of 50: the first 10, HasMoreTags true')
  await send(K.AddTagsToStreamCommand, {StreamName: tname, Tags: {team: 'at-the-limit'}})
  tags.team = 'at-the-limit'
  check(true, 'at 50 tags, overwriting the value of a key the stream has is accepted')
  await expectError('InvalidArgumentException', 'AddTagsToStream of a 51st tag',
    K.AddTagsToStreamCommand, {StreamName: tname, Tags: {'one-too-many': 'x'}})
  await expectError('InvalidArgumentException', 'AddTagsToStream of an overwrite and a 51st tag',
    K.AddTagsToStreamCommand, {StreamName: tname, Tags: {team: 'not-stored', 'one-too-many': 'x'}})
  eq((await listTags({StreamName: tname})).tags, tagList(tags),
    'the 51st tag was not added, nor anything else of the refused calls')
  const allKeys = Object.keys(tags).sort()
  for (let i = 0; i < allKeys.length; i += 10) {
    await send(K.RemoveTagsFromStreamCommand, {StreamName: tname, TagKeys: allKeys.slice(i, i + 10)})
  }
  eq(await listTags({StreamName: tname}), {tags: [], more: false},
    'after removing every key: no tags, HasMoreTags false')
  tags = {}

  // ---- 11. Streams named by StreamARN, and the *Resource tag operations.
  section('11. Streams named by StreamARN; TagResource, UntagResource, ListTagsForResource')
  const tarn = (await send(K.DescribeStreamSummaryCommand, {StreamName: tname}))
    .StreamDescriptionSummary.StreamARN
  const [, , , region, account] = tarn.split(':')
  const arnOf = (stream, reg = region, acct = account) => `arn:aws:kinesis:${reg}:${acct}:stream/${stream}`
  const byArn = await attempt('PutRecord by StreamARN alone', K.PutRecordCommand,
    {StreamARN: tarn, Data: bytes('by-arn'), PartitionKey: 'k'}, 'kinesalite-no-stream-arn')
  if (byArn) {
    eq(byArn.ShardId, 'shardId-000000000000', "PutRecord by StreamARN: the stream's shard")
    const it = (await send(K.GetShardIteratorCommand, {StreamARN: tarn, ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON'})).ShardIterator
    const recs = (await send(K.GetRecordsCommand, {ShardIterator: it})).Records
    eq(recs.map((x) => [x.SequenceNumber, Buffer.from(x.Data).toString()]),
      [[byArn.SequenceNumber, 'by-arn']],
      'GetShardIterator by StreamARN reads back the record put by StreamARN')
    const sum = await send(K.DescribeStreamSummaryCommand, {StreamARN: tarn, StreamName: tname})
    eq(sum.StreamDescriptionSummary.StreamName, tname,
      'DescribeStreamSummary with StreamARN and StreamName that agree')
    await send(K.AddTagsToStreamCommand, {StreamARN: tarn, Tags: {by: 'arn'}})
    eq((await listTags({StreamARN: tarn})).tags, [{Key: 'by', Value: 'arn'}],
      'AddTagsToStream and ListTagsForStream by StreamARN')
    await send(K.RemoveTagsFromStreamCommand, {StreamARN: tarn, TagKeys: ['by']})
    eq((await listTags({StreamName: tname})).tags, [], 'RemoveTagsFromStream by StreamARN')
    await expectError('InvalidArgumentException', 'PutRecord with StreamARN and StreamName of different ' +
      'streams', K.PutRecordCommand, {StreamARN: tarn, StreamName: name, Data: bytes('x'), PartitionKey: 'k'})
    await expectError('ResourceNotFoundException', 'DescribeStreamSummary by the ARN of another region',
      K.DescribeStreamSummaryCommand, {StreamARN: arnOf(tname, 'eu-west-1')})
    await expectError('ResourceNotFoundException', 'DescribeStreamSummary by the ARN of another account',
      K.DescribeStreamSummaryCommand, {StreamARN: arnOf(tname, region, '123456789012')})
    await expectError('ResourceNotFoundException', 'DescribeStreamSummary by the ARN of a missing stream',
      K.DescribeStreamSummaryCommand, {StreamARN: arnOf(missing)})
    await expectError('ValidationException', 'DescribeStreamSummary by a malformed StreamARN',
      K.DescribeStreamSummaryCommand, {StreamARN: 'not-an-arn'})
  }
  if (await attempt("TagResource by the stream's ARN", K.TagResourceCommand,
    {ResourceARN: tarn, Tags: {via: 'tag-resource', env: 'test'}}, 'kinesalite-no-newer-operations')) {
    tags = {via: 'tag-resource', env: 'test'}
    eq((await listTags({StreamName: tname})).tags, tagList(tags),
      'ListTagsForStream sees the tags TagResource added')
    const lr = await send(K.ListTagsForResourceCommand, {ResourceARN: tarn})
    eq(normTags(lr.Tags), tagList(tags), "ListTagsForResource by the stream's ARN")
    check(lr.HasMoreTags === undefined, 'ListTagsForResource has no HasMoreTags')
    await send(K.UntagResourceCommand, {ResourceARN: tarn, TagKeys: ['via', 'no-such-key']})
    delete tags.via
    eq(normTags((await send(K.ListTagsForResourceCommand, {ResourceARN: tarn})).Tags), tagList(tags),
      'UntagResource removes a key; a key the stream lacks is no error')
    await expectError('InvalidArgumentException', "TagResource with a key starting 'aws:'",
      K.TagResourceCommand, {ResourceARN: tarn, Tags: {'aws:x': 'y'}})
    await expectError('ResourceNotFoundException', "ListTagsForResource of a consumer's ARN",
      K.ListTagsForResourceCommand, {ResourceARN: `${tarn}/consumer/c1:1700000000`})
    await expectError('ResourceNotFoundException', 'TagResource by the ARN of another region',
      K.TagResourceCommand, {ResourceARN: arnOf(tname, 'eu-west-1'), Tags: {a: 'b'}})
    await expectError('ResourceNotFoundException', 'UntagResource by the ARN of another account',
      K.UntagResourceCommand, {ResourceARN: arnOf(tname, region, '123456789012'), TagKeys: ['env']})
    await expectError('ResourceNotFoundException', 'ListTagsForResource of a missing stream',
      K.ListTagsForResourceCommand, {ResourceARN: arnOf(missing)})
    await expectError('ValidationException', 'ListTagsForResource of a malformed ARN',
      K.ListTagsForResourceCommand, {ResourceARN: 'not-an-arn'})
  }

  // ---- 12. What sluice answers without acting on it: resource policies, account settings,
  // record size, warm throughput (an ON_DEMAND stream).
  section('12. Resource policies, account settings, record size, warm throughput')
  const odname = `${name}-od`
  let madeOd = false
  const acct = await attempt('DescribeAccountSettings answers', K.DescribeAccountSettingsCommand, {},
    'kinesalite-no-newer-operations')
  if (acct) {
    eq(acct.MinimumThroughputBillingCommitment?.Status, 'DISABLED',
      'DescribeAccountSettings: MinimumThroughputBillingCommitment DISABLED')
    const u = await send(K.UpdateAccountSettingsCommand,
      {MinimumThroughputBillingCommitment: {Status: 'DISABLED'}})
    eq(u.MinimumThroughputBillingCommitment?.Status, 'DISABLED',
      'UpdateAccountSettings DISABLED answers DISABLED')
    await expectError('InvalidArgumentException', 'UpdateAccountSettings ENABLED',
      K.UpdateAccountSettingsCommand, {MinimumThroughputBillingCommitment: {Status: 'ENABLED'}})

    eq((await send(K.GetResourcePolicyCommand, {ResourceARN: tarn})).Policy, '{}',
      'GetResourcePolicy: the empty policy')
    const policy = JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow',
      Principal: {AWS: 'arn:aws:iam::123456789012:root'}, Action: 'kinesis:GetRecords', Resource: tarn}]})
    await expectError('InvalidArgumentException', 'PutResourcePolicy (sluice enforces none)',
      K.PutResourcePolicyCommand, {ResourceARN: tarn, Policy: policy})
    eq((await send(K.GetResourcePolicyCommand, {ResourceARN: tarn})).Policy, '{}',
      'GetResourcePolicy after the refused put: still the empty policy')
    await send(K.DeleteResourcePolicyCommand, {ResourceARN: tarn})
    check(true, 'DeleteResourcePolicy succeeds')
    await expectError('ResourceNotFoundException', 'GetResourcePolicy of a missing stream',
      K.GetResourcePolicyCommand, {ResourceARN: arnOf(missing)})

    await send(K.UpdateMaxRecordSizeCommand, {StreamARN: tarn, MaxRecordSizeInKiB: 1024})
    check(true, 'UpdateMaxRecordSize 1024 succeeds')
    for (const [kib, code] of [[1025, 'InvalidArgumentException'], [10240, 'InvalidArgumentException'],
      [10241, 'ValidationException'], [1023, 'ValidationException']]) {
      await expectError(code, `UpdateMaxRecordSize ${kib}`, K.UpdateMaxRecordSizeCommand,
        {StreamARN: tarn, MaxRecordSizeInKiB: kib})
    }
    await expectError('ResourceNotFoundException', 'UpdateMaxRecordSize of a missing stream',
      K.UpdateMaxRecordSizeCommand, {StreamARN: arnOf(missing), MaxRecordSizeInKiB: 1024})
    await expectError('InvalidArgumentException', 'CreateStream with MaxRecordSizeInKiB 2048',
      K.CreateStreamCommand, {StreamName: odname, ShardCount: 1, MaxRecordSizeInKiB: 2048})
    await expectError('ValidationException', 'CreateStream with MaxRecordSizeInKiB 10241',
      K.CreateStreamCommand, {StreamName: odname, ShardCount: 1, MaxRecordSizeInKiB: 10241})

    let sum = (await send(K.DescribeStreamSummaryCommand, {StreamName: tname})).StreamDescriptionSummary
    eq(sum.MaxRecordSizeInKiB, 1024, 'summary MaxRecordSizeInKiB 1024')
    check(sum.WarmThroughput === undefined, "a PROVISIONED stream's summary has no WarmThroughput")
    await expectError('InvalidArgumentException', 'UpdateStreamWarmThroughput of a PROVISIONED stream',
      K.UpdateStreamWarmThroughputCommand, {StreamName: tname, WarmThroughputMiBps: 10})

    await send(K.CreateStreamCommand, {StreamName: odname, StreamModeDetails: {StreamMode: 'ON_DEMAND'},
      MaxRecordSizeInKiB: 1024, Tags: {mode: 'on-demand'}})
    madeOd = true
    await waitActive(odname)
    sum = (await send(K.DescribeStreamSummaryCommand, {StreamName: odname})).StreamDescriptionSummary
    eq([sum.StreamModeDetails, sum.MaxRecordSizeInKiB], [{StreamMode: 'ON_DEMAND'}, 1024],
      'CreateStream ON_DEMAND with MaxRecordSizeInKiB 1024: summary mode and record size')
    eq((await listTags({StreamName: odname})).tags, [{Key: 'mode', Value: 'on-demand'}],
      'the ON_DEMAND stream has its CreateStream Tags')
    const openShards = sum.OpenShardCount
    check(Number.isInteger(openShards) && openShards >= 1,
      `the ON_DEMAND stream has open shards (${openShards})`)
    eq(sum.WarmThroughput?.CurrentMiBps, openShards,
      "an ON_DEMAND stream's summary has WarmThroughput, CurrentMiBps = its open shards")
    const w = await send(K.UpdateStreamWarmThroughputCommand, {StreamName: odname, WarmThroughputMiBps: 10})
    eq([w.StreamName, w.StreamARN, w.WarmThroughput?.TargetMiBps, w.WarmThroughput?.CurrentMiBps],
      [odname, arnOf(odname), 10, openShards],
      'UpdateStreamWarmThroughput 10: name, ARN, target 10, current = open shards')
    sum = (await send(K.DescribeStreamSummaryCommand, {StreamARN: arnOf(odname)})).StreamDescriptionSummary
    eq([sum.WarmThroughput?.TargetMiBps, sum.WarmThroughput?.CurrentMiBps], [10, openShards],
      'the summary (by StreamARN) shows the new warm throughput target')
    await expectError('ResourceNotFoundException', 'UpdateStreamWarmThroughput of a missing stream',
      K.UpdateStreamWarmThroughputCommand, {StreamName: missing, WarmThroughputMiBps: 10})
    await send(K.DeleteStreamCommand, {StreamName: odname})
  }

  // ---- 13. Delete and wait with the StreamNotExists waiter.
  section('13. Delete and wait with the StreamNotExists waiter')
  await send(K.DeleteStreamCommand, {StreamName: name})
  if (byArn) {
    await send(K.DeleteStreamCommand, {StreamARN: tarn})
    check(true, 'DeleteStream by StreamARN')
  } else {
    await send(K.DeleteStreamCommand, {StreamName: tname})
  }
  for (const stream of [name, tname, ...(madeOd ? [odname] : [])]) {
    const wd = await K.waitUntilStreamNotExists({client, maxWaitTime: 60, minDelay: 1, maxDelay: 2},
      {StreamName: stream})
    eq(wd.state, 'SUCCESS', `waitUntilStreamNotExists saw ${stream} gone`)
  }
  await expectError('ResourceNotFoundException', 'DescribeStreamSummary after DeleteStream',
    K.DescribeStreamSummaryCommand, {StreamName: name})
  await expectError('ResourceNotFoundException', 'ListTagsForStream after DeleteStream',
    K.ListTagsForStreamCommand, {StreamName: tname})
}

function protocolSummary() {
  const parts = []
  if (wire.h2Streams || wire.h2Sessions) {
    parts.push(`HTTP/2 (h2c, prior knowledge): ${wire.h2Streams} requests on ${wire.h2Sessions} session(s)`)
  }
  if (wire.h1Requests) {
    parts.push(`HTTP/${[...wire.h1Versions].join(',') || '1.1'}: ${wire.h1Requests} requests`)
  }
  return parts.join('; ') || 'no requests seen'
}

log(`endpoint ${endpoint}; @aws-sdk/client-kinesis ${sdkVersion}, node ${process.version}, ` +
  `request handler ${http1 ? 'NodeHttpHandler (HTTP/1.1, set explicitly)' : 'SDK default'}`)
const name = `tour-${TOUR}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`
let code = 0
try {
  await tour(name)
  log(`protocol used: ${protocolSummary()}`)
  if (http1) {
    check(wire.h1Requests > 0 && wire.h2Streams === 0 && [...wire.h1Versions].every((v) => v === '1.1'),
      'every call went over HTTP/1.1')
  } else {
    check(wire.h2Streams > 0 && wire.h1Requests === 0, 'every call went over HTTP/2 (the default handler)')
  }
  const dev = deviationsSeen.size ? ` (${deviationsSeen.size} known deviations: ${[...deviationsSeen].sort().join(', ')})` : ''
  log(`PASSED${dev}`)
} catch (e) {
  log(`protocol used: ${protocolSummary()}`)
  if (e instanceof CheckFailed) {
    log(`FAILED (in ${current}): ${e.message}`)
  } else {
    if (e?.stack) console.log(e.stack)
    log(`FAILED (in ${current}): unexpected ${e?.name}: ${e?.message}` +
      (e?.$metadata ? ` (HTTP ${e.$metadata.httpStatusCode})` : ''))
  }
  code = 1
} finally {
  for (const stream of [name, `${name}-tags`, `${name}-od`]) {
    try {
      await client.send(new K.DeleteStreamCommand({StreamName: stream}),
        {abortSignal: AbortSignal.timeout(5000)})
    } catch {
      // normally already deleted
    }
  }
  client.destroy()
}
process.exit(code)
