#!/usr/bin/env bash
# Kinesis HTTP API figures for docs/benchmarks.md: the same sluice-bench --kinesis load against
# sluiced's HTTP API and against kinesalite (the npm Kinesis emulator, in memory, from
# tests/integration/kinesis), side by side in one run, with the ratio of each figure.
#
#   client/bench/kinesis-compare.sh [DURATION_S]
#
# Runs, for each server in turn (each freshly started on 127.0.0.1, stopped by PID after):
#   PutRecords of 500 x 1 KiB records from 4 threads        (throughput, MB/s)
#   PutRecord of 100 B from 16 threads, no rate cap         (records/s and latency)
# sluiced acknowledges after fsync; kinesalite keeps records in memory and syncs nothing.
# Prints one line per run, then the ratios.
set -uo pipefail
cd "$(dirname "$0")/../.."
dur=${1:-10}
bench=build/client/sluice-bench
kin=tests/integration/kinesis
work=$(mktemp -d /tmp/sluice-compare.XXXXXX)
pid=

stop() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    pid=
}
trap 'stop; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # up to 20 s
    for _ in $(seq 200); do
        curl -s -o /dev/null --max-time 1 -H 'Content-Type: application/x-amz-json-1.1' \
            -H 'X-Amz-Target: Kinesis_20131202.ListStreams' \
            -H 'Authorization: AWS4-HMAC-SHA256 Credential=A/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00' \
            -H 'X-Amz-Date: 20260101T000000Z' -d '{}' "$1/" && return 0
        sleep 0.1
    done
    return 1
}

start_sluiced() {
    local http
    http=$(free_port)
    rm -rf "$work/data"
    build/node/server/sluiced --id 1 --data-dir "$work/data" --listen "tcp://127.0.0.1:$(free_port)" \
        --http-listen "127.0.0.1:$http" >"$work/sluiced.log" 2>&1 &
    pid=$!
    endpoint="http://127.0.0.1:$http"
    wait_http "$endpoint"
}

start_kinesalite() {
    if [[ ! -d $kin/node_modules/kinesalite ]]; then
        (cd "$kin" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null) || return 1
    fi
    node "$kin/kinesalite_server.cjs" --port 0 --port-file "$work/port" --createStreamMs 10 \
        --deleteStreamMs 10 >"$work/kinesalite.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do [[ -s $work/port ]] && break; sleep 0.1; done
    endpoint="http://127.0.0.1:$(cat "$work/port")"
    wait_http "$endpoint"
}

declare -A fig
run() { # run SERVER NAME ARGS...: one sluice-bench line, figures kept
    local server=$1 name=$2
    shift 2
    local out
    out=$("$bench" put --kinesis "$endpoint" --create --shards 4 --duration-s "$dur" "$@" 2>/dev/null)
    echo "$server $name $out"
    fig[$server.$name.rps]=$(sed -n 's/.*"records_per_s":\([0-9.]*\).*/\1/p' <<<"$out")
    fig[$server.$name.mbps]=$(sed -n 's/.*"mb_per_s":\([0-9.]*\).*/\1/p' <<<"$out")
    fig[$server.$name.p50]=$(sed -n 's/.*"p50":\([0-9.]*\).*/\1/p' <<<"$out")
    fig[$server.$name.p99]=$(sed -n 's/.*"p99":\([0-9.]*\).*/\1/p' <<<"$out")
}

for server in sluiced kinesalite; do
    "start_$server" || { echo "$server did not start" >&2; exit 1; }
    run "$server" putrecords --concurrency 4 --record-bytes 1024 --batch 500
    run "$server" putrecord --concurrency 16 --record-bytes 100 --batch 1
    stop
done

ratio() { python3 -c "print(f'{$1 / $2:.1f}' if $2 else 'inf')"; }
echo "ratios (sluiced / kinesalite; latency: kinesalite / sluiced, higher is better for sluiced):"
echo "  PutRecords 500 x 1 KiB MB/s   $(ratio "${fig[sluiced.putrecords.mbps]}" "${fig[kinesalite.putrecords.mbps]}")"
echo "  PutRecord records/s           $(ratio "${fig[sluiced.putrecord.rps]}" "${fig[kinesalite.putrecord.rps]}")"
echo "  PutRecord p50                 $(ratio "${fig[kinesalite.putrecord.p50]}" "${fig[sluiced.putrecord.p50]}")"
echo "  PutRecord p99                 $(ratio "${fig[kinesalite.putrecord.p99]}" "${fig[sluiced.putrecord.p99]}")"
