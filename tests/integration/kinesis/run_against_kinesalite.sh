#!/usr/bin/env bash
# Runs the Kinesis client tours against kinesalite: starts it (kinesalite_server.cjs: in
# memory, 127.0.0.1 only, a free port, HTTP/1.1 and h2c, CREATING/DELETING/UPDATING held for
# 10 ms), runs run_tours.sh against it with kinesalite's known deviations from AWS tolerated
# (kinesalite_deviations.txt), and stops it by its PID whatever happens.
#
#   run_against_kinesalite.sh [TOUR...]
#
# $KINESALITE_HEADER_LOG=FILE makes kinesalite_server.cjs log every request's headers there.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
NODE=${NODE:-node}
work=$(mktemp -d /tmp/sluice-kinesalite.XXXXXX)
pid=

stop() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

# The npm packages (kinesalite itself among them), as run_tours.sh would install them.
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.sluice-installed-lock" 2>/dev/null; then
    echo "== npm ci (tests/integration/kinesis/node_modules)"
    (cd "$here" && timeout 600 npm ci --no-audit --no-fund --ignore-scripts) || exit 1
    cp "$here/package-lock.json" "$here/node_modules/.sluice-installed-lock"
fi

"$NODE" "$here/kinesalite_server.cjs" --port 0 --port-file "$work/port" \
    --createStreamMs 10 --deleteStreamMs 10 --updateStreamMs 10 --shardLimit 1000 \
    ${KINESALITE_HEADER_LOG:+--header-log "$KINESALITE_HEADER_LOG"} >"$work/kinesalite.log" 2>&1 &
pid=$!
for _ in $(seq 200); do # up to 20 s
    [[ -s $work/port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [[ ! -s $work/port ]]; then
    echo "kinesalite did not start:" >&2
    cat "$work/kinesalite.log" >&2
    exit 1
fi
port=$(cat "$work/port")
echo "== kinesalite (pid $pid) on http://127.0.0.1:$port"

KINESIS_KNOWN_DEVIATIONS=$(grep -v '^#' "$here/kinesalite_deviations.txt" | awk 'NF {print $1}' | paste -sd, -)
export KINESIS_KNOWN_DEVIATIONS
"$here/run_tours.sh" "http://127.0.0.1:$port" "$@"
rc=$?
if [[ $rc != 0 && -s $work/kinesalite.log ]]; then
    echo "== kinesalite log"
    tail -n 50 "$work/kinesalite.log"
fi
exit $rc
