#!/usr/bin/env bash
# Runs the Kinesis client tours against an endpoint, one after the other.
#
#   run_tours.sh ENDPOINT [TOUR...]
#
# TOURs: boto3 awscli js-default js-http1 lab (default: all). Installs the pinned npm packages
# into node_modules first if they are missing or stale (npm ci). Clients: $PYTHON (default
# /usr/bin/python3, Debian's python3-boto3, when it has boto3; else python3), $AWS (default
# /usr/bin/aws, Debian's awscli, when present; else aws), $NODE (default node).
# Prints each tour's output, then one line per tour and "N passed, N failed"; exits 0 only if
# every tour passed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -lt 1 || -z $1 ]]; then
    echo "usage: run_tours.sh ENDPOINT [boto3|awscli|js-default|js-http1|lab]..." >&2
    exit 2
fi
EP=$1
shift
tours=("$@")
((${#tours[@]})) || tours=(boto3 awscli js-default js-http1 lab)

if [[ -z ${PYTHON:-} ]]; then
    if /usr/bin/python3 -c 'import boto3' 2>/dev/null; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
if [[ -z ${AWS:-} ]]; then
    if [[ -x /usr/bin/aws ]]; then AWS=/usr/bin/aws; else AWS=aws; fi
fi
NODE=${NODE:-node}
export PYTHON AWS NODE

# npm ci when node_modules does not match package-lock.json (a copy of the lock file marks the
# install that finished).
ensure_node_modules() {
    if ! cmp -s "$here/package-lock.json" "$here/node_modules/.sluice-installed-lock" 2>/dev/null; then
        echo "== npm ci (tests/integration/kinesis/node_modules)"
        (cd "$here" && timeout 600 npm ci --no-audit --no-fund --ignore-scripts) || {
            echo "npm ci failed" >&2
            return 1
        }
        cp "$here/package-lock.json" "$here/node_modules/.sluice-installed-lock"
    fi
}
for t in "${tours[@]}"; do
    if [[ $t == js-* ]]; then
        ensure_node_modules || exit 1
        break
    fi
done

echo "== Kinesis client tours against $EP"
echo "   python: $PYTHON ($("$PYTHON" -c 'import boto3, botocore; print("boto3", boto3.__version__, "botocore", botocore.__version__)' 2>&1))"
echo "   aws: $AWS ($("$AWS" --version 2>&1 | head -1))"
echo "   node: $NODE ($("$NODE" --version 2>&1))"
[[ -n ${KINESIS_KNOWN_DEVIATIONS:-} ]] && echo "   known deviations tolerated: $KINESIS_KNOWN_DEVIATIONS"

passed=0
failed=0
summary=()
t_all=$SECONDS
for t in "${tours[@]}"; do
    case $t in
        boto3) cmd=("$PYTHON" "$here/boto3_tour.py" "$EP") limit=240 ;;
        awscli) cmd=("$here/awscli_tour.sh" "$EP") limit=400 ;;
        js-default) cmd=("$NODE" "$here/js_tour.mjs" "$EP") limit=240 ;;
        js-http1) cmd=("$NODE" "$here/js_tour.mjs" --http1 "$EP") limit=240 ;;
        lab) cmd=("$here/lab_pipeline.sh" "$EP") limit=400 ;;
        *)
            echo "unknown tour $t" >&2
            exit 2
            ;;
    esac
    echo "== tour $t"
    t0=$SECONDS
    timeout --kill-after=10 "$limit" "${cmd[@]}"
    rc=$?
    dt=$((SECONDS - t0))
    if [[ $rc == 0 ]]; then
        passed=$((passed + 1))
        summary+=("PASS  $t (${dt} s)")
    else
        failed=$((failed + 1))
        [[ $rc == 124 ]] && echo "tour $t: timed out after $limit s"
        summary+=("FAIL  $t (exit $rc, ${dt} s)")
    fi
done

echo "== summary ($((SECONDS - t_all)) s)"
printf '   %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
