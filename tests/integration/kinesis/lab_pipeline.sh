#!/usr/bin/env bash
# The lab pipeline against a running Kinesis endpoint: lab_producer.py puts JSON order events,
# lab_consumer.py reads them back, lab_router.py transforms and routes them into two streams,
# lab_consumer.py reads those; lab_check.py checks that everything came back exactly once,
# unchanged (or transformed as it should be), in order.
#
#   lab_pipeline.sh [ENDPOINT]        (default: $KINESIS_ENDPOINT)
#
# Creates three streams with unique names and deletes them at the end, whatever happens.
# Exits 0 on success, 1 at the first failed step or check, 2 on bad usage.
set -uo pipefail

EP=${1:-${KINESIS_ENDPOINT:-}}
if [[ -z $EP ]]; then
    echo "usage: lab_pipeline.sh ENDPOINT  (or set KINESIS_ENDPOINT)" >&2
    exit 2
fi
PY=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)

export KINESIS_ENDPOINT=$EP
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-AKIDSLUICELAB}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-sluice-lab-dummy-secret}
unset AWS_PROFILE AWS_DEFAULT_PROFILE
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

id="$$-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
orders="lab-orders-$id"
express="lab-express-$id"
standard="lab-standard-$id"
work=$(mktemp -d /tmp/sluice-lab.XXXXXX)

log() { echo "[lab] $*"; }
fail() {
    log "FAILED: $*"
    exit 1
}

# streams create|delete NAME:SHARDS...: the setup a lab does by hand (create and wait, or
# delete and wait until gone), bounded by the waiters' limits.
streams() {
    "$PY" - "$EP" "$@" <<'PYEOF'
import sys, boto3
from botocore.exceptions import ClientError
ep, action, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
k = boto3.client("kinesis", endpoint_url=ep, region_name="us-east-1")
for spec in specs:
    name, shards = spec.split(":")
    if action == "create":
        k.create_stream(StreamName=name, ShardCount=int(shards))
    else:
        try:
            k.delete_stream(StreamName=name)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
for spec in specs:
    name = spec.split(":")[0]
    waiter = "stream_exists" if action == "create" else "stream_not_exists"
    k.get_waiter(waiter).wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
PYEOF
}
cleanup() {
    streams delete "$orders:0" "$express:0" "$standard:0" >/dev/null 2>&1 ||
        log "warning: could not delete the lab streams"
    rm -rf "$work"
}
trap cleanup EXIT

# step WHAT CMD...: runs one step with a time limit; fails the pipeline if it fails.
step() {
    local what=$1
    shift
    timeout 180 "$@" || fail "$what failed (exit $?)"
}

log "endpoint $EP; streams $orders, $express, $standard"
streams create "$orders:2" "$express:1" "$standard:2" || fail "creating the streams failed"
step "lab_producer.py" "$PY" "$here/lab_producer.py" --stream "$orders" --manifest "$work/manifest.jsonl" \
    --orders 200 --sessions 12
step "lab_consumer.py on $orders" "$PY" "$here/lab_consumer.py" --stream "$orders" --out "$work/orders.jsonl"
step "checking the orders read back" "$PY" "$here/lab_check.py" consumed "$work/manifest.jsonl" "$work/orders.jsonl"
step "lab_router.py" "$PY" "$here/lab_router.py" --source "$orders" --express "$express" --standard "$standard"
step "lab_consumer.py on $express" "$PY" "$here/lab_consumer.py" --stream "$express" --out "$work/express.jsonl"
step "lab_consumer.py on $standard" "$PY" "$here/lab_consumer.py" --stream "$standard" --out "$work/standard.jsonl"
step "checking the routed orders" "$PY" "$here/lab_check.py" routed "$work/orders.jsonl" "$work/express.jsonl" \
    "$work/standard.jsonl"
log "PASSED"
