#!/usr/bin/env bash
# Runs the Kinesis client tours against a real sluiced: starts one (127.0.0.1, free ports, a
# temporary data directory), runs run_tours.sh against its HTTP API, then restarts it with
# authentication on (--credentials-file) and runs auth_tour.py; stops it by its PID whatever
# happens. The test command (tests/run, via ctest) runs this.
#
#   run_against_sluiced.sh SLUICED [TOUR...]   (run_tours.sh's tours, and auth; default: all)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
sluiced=${1:?usage: run_against_sluiced.sh SLUICED [TOUR...]}
shift
work=$(mktemp -d /tmp/sluice-tours.XXXXXX)
pid=

stop() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 100); do # up to 10 s for a clean stop
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null
    fi
    [[ -n $pid ]] && wait "$pid" 2>/dev/null
    pid=
}
cleanup() {
    stop
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start [FLAG...]: a fresh node; sets $endpoint.
start() {
    local nng http
    nng=$(free_port)
    http=$(free_port)
    rm -rf "$work/data"
    "$sluiced" --id 1 --data-dir "$work/data" --listen "tcp://127.0.0.1:$nng" \
        --http-listen "127.0.0.1:$http" "$@" >>"$work/sluiced.log" 2>&1 &
    pid=$!
    endpoint="http://127.0.0.1:$http"
    for _ in $(seq 200); do # up to 20 s
        if curl -s -o /dev/null --max-time 1 -H 'Content-Type: application/x-amz-json-1.1' \
            -H 'X-Amz-Target: Kinesis_20131202.DescribeLimits' -d '{}' "$endpoint/"; then
            echo "== sluiced (pid $pid) on $endpoint $*"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "sluiced did not start:" >&2
    cat "$work/sluiced.log" >&2
    return 1
}

# "auth" is this script's own tour; the rest are run_tours.sh's.
tours=()
auth=$(( $# == 0 ))
for t in "$@"; do
    if [[ $t == auth ]]; then auth=1; else tours+=("$t"); fi
done

rc=0
if [[ $# == 0 || ${#tours[@]} -gt 0 ]]; then
    start || exit 1
    "$here/run_tours.sh" "$endpoint" "${tours[@]}"
    rc=$?
    stop
fi

if [[ $auth == 1 ]]; then
    printf '[tours]\naws_access_key_id = AKIDSLUICETOURS\naws_secret_access_key = tours/Secret+key\n' \
        >"$work/credentials"
    start --credentials-file "$work/credentials" || exit 1
    timeout 300 python3 "$here/auth_tour.py" "$endpoint" AKIDSLUICETOURS 'tours/Secret+key' || rc=1
    # The SDKs sign differently (the JavaScript one signs HTTP/2's :authority by that name):
    # their tours again, with the node's key.
    AWS_ACCESS_KEY_ID=AKIDSLUICETOURS AWS_SECRET_ACCESS_KEY='tours/Secret+key' \
        "$here/run_tours.sh" "$endpoint" boto3 js-default js-http1 || rc=1
    stop
fi
if [[ $rc != 0 ]]; then
    echo "== sluiced's log" >&2
    tail -20 "$work/sluiced.log" >&2
fi
exit $rc
