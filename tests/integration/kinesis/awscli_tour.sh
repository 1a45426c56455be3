#!/usr/bin/env bash
# A tour of the Kinesis Data Streams API through the AWS CLI (`aws --endpoint-url ... kinesis
# ...`), checking behaviour precisely: the boto3 tour's checks, with fewer records because
# every call is a new CLI process.
#
#   awscli_tour.sh [ENDPOINT]        (default: $KINESIS_ENDPOINT)
#
# $AWS picks the CLI (default: aws on PATH); v1 and v2 both work. $PYTHON (default python3)
# only parses the CLI's JSON output. Exits 0 when every check holds, 1 at the first failed
# check, 2 on bad usage. For $KINESIS_KNOWN_DEVIATIONS see boto3_tour.py and
# kinesalite_deviations.txt.
set -uo pipefail

EP=${1:-${KINESIS_ENDPOINT:-}}
if [[ -z $EP ]]; then
    echo "usage: awscli_tour.sh ENDPOINT  (or set KINESIS_ENDPOINT)" >&2
    exit 2
fi
AWS=${AWS:-aws}
PY=${PYTHON:-python3}
TOUR=awscli

# Hermetic: dummy credentials unless given, no profile or shared config, no retries, no pager.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-AKIDSLUICETOUR}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-sluice-tour-dummy-secret}
unset AWS_PROFILE AWS_DEFAULT_PROFILE
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1
export AWS_EC2_METADATA_DISABLED=true

work=$(mktemp -d /tmp/sluice-awscli-tour.XXXXXX)
name="tour-awscli-$$-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
deleted=0
cleanup() {
    if [[ $deleted == 0 ]]; then
        k delete-stream --stream-name "$name" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

log() { echo "[$TOUR] $*"; }
fail() {
    log "FAILED: $*"
    exit 1
}
known() { [[ ",${KINESIS_KNOWN_DEVIATIONS:-}," == *",$1,"* ]]; }
deviations=()

# outcome WHAT DEVIATION RC DETAIL: one check's result (RC 0 = held). With DEVIATION ("-" for
# none) listed in $KINESIS_KNOWN_DEVIATIONS a failure is tolerated, and a pass is an error.
# Returns 0 when the check held.
outcome() {
    local what=$1 dev=$2 rc=$3 detail=$4
    if [[ $dev != - ]] && known "$dev"; then
        if [[ $rc == 0 ]]; then
            fail "$what: holds, but known deviation '$dev' says it should not on this server;" \
                 "update kinesalite_deviations.txt"
        fi
        deviations+=("$dev")
        log "KNOWN DEVIATION [$dev]: $what${detail:+: $detail}"
        return 1
    fi
    [[ $rc == 0 ]] || fail "$what${detail:+: $detail}"
    log "ok: $what"
}

# The CLI with the endpoint, JSON output and timeouts.
k() {
    "$AWS" --endpoint-url "$EP" --region us-east-1 --output json \
        --cli-connect-timeout 5 --cli-read-timeout "${READ_TIMEOUT:-20}" kinesis "$@"
}
# kj OUT ARGS...: a call that must succeed; its JSON output goes to OUT.
kj() {
    local out=$1
    shift
    k "$@" >"$out" 2>"$work/stderr" || fail "aws kinesis $1 failed: $(tail -c 600 "$work/stderr")"
}
# expect_error CODE WHAT ARGS...: the call fails with service error CODE. (The CLI prints
# "An error occurred (CODE) when calling ..." and exits non-zero; it does not show the status.)
expect_error() {
    local code=$1 what=$2 rc
    shift 2
    k "$@" >"$work/out" 2>"$work/stderr"
    rc=$?
    if [[ $rc == 0 ]]; then
        fail "$what: expected $code, but the call succeeded"
    fi
    grep -q "An error occurred ($code)" "$work/stderr" ||
        fail "$what: expected $code, got: $(tr '\n' ' ' <"$work/stderr" | cut -c1-300)"
    log "ok: $what -> $code"
}

# CLI v2 reads blob arguments given inline (and inside JSON) as base64 unless told otherwise;
# v1 takes them as raw text. fileb:// is raw bytes for both.
if "$AWS" --version 2>&1 | grep -q '^aws-cli/1\.'; then
    binfmt=()
else
    binfmt=(--cli-binary-format raw-in-base64-out)
fi
# A config file that turns off the CLI's own parameter checks (an empty partition key would
# otherwise never reach the server).
printf '[default]\nparameter_validation = false\n' >"$work/noval.cfg"

# The JSON side: bookkeeping of what was put, and comparisons. Records are kept in
# $work/put.jsonl as {"shard","seq","pk","data" (base64),"phase"}.
cat >"$work/h.py" <<'PYEOF'
import base64, datetime, hashlib, json, os, re, sys
work = os.environ["TOUR_WORK"]
PUT = os.path.join(work, "put.jsonl")

def load(p):
    with open(p) as f:
        return json.load(f)

def puts():
    if not os.path.exists(PUT):
        return []
    with open(PUT) as f:
        return [json.loads(l) for l in f if l.strip()]

def ranges():
    return [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]),
             s["ShardId"]) for s in load(os.path.join(work, "shards.json"))["Shards"]]

def shard_for(hk):
    return next(sid for lo, hi, sid in ranges() if lo <= hk <= hi)

def hk_of(pk, ehk=None):
    return int(ehk) if ehk else int.from_bytes(hashlib.md5(pk.encode()).digest(), "big")

def by_shard(sid):
    return sorted((p for p in puts() if p["shard"] == sid), key=lambda p: int(p["seq"]))

def ts(v):
    # The CLI v1 prints timestamps as sent (epoch seconds); v2 prints ISO 8601 by default.
    if isinstance(v, (int, float)):
        return float(v)
    return datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()

def die(msg):
    print(msg)
    sys.exit(1)

def add(sid, seq, pk, data_b64, phase, want, ordered=True):
    if sid != want:
        die(f"put pk={pk[:20]!r} went to {sid}, its hash key selects {want}")
    if not re.fullmatch(r"0|[1-9]\d{0,128}", seq):
        die(f"sequence number {seq!r} is not decimal")
    prev = by_shard(sid)
    if prev and int(seq) <= int(prev[-1]["seq"]):
        die(f"{sid}: sequence number {seq} is not greater than the previous {prev[-1]['seq']}")
    with open(PUT, "a") as f:
        f.write(json.dumps({"shard": sid, "seq": seq, "pk": pk, "data": data_b64,
                            "phase": phase}) + "\n")

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "get":  # get FILE EXPR: prints a value from a JSON file (d)
    d = load(args[0])
    v = eval("(" + args[1] + ")")
    print(json.dumps(v) if isinstance(v, (dict, list)) else v)
elif cmd == "true":  # true FILE EXPR: exit 0 iff EXPR holds (prints the value otherwise)
    d = load(args[0])
    v = eval("(" + args[1] + ")")
    if not v:
        die(f"{args[1]} is false for {json.dumps(d)[:300]}")
elif cmd == "expr":  # expr EXPR: exit 0 iff EXPR holds
    if not eval("(" + args[0] + ")"):
        die(f"{args[0]} is false")
elif cmd == "window":  # window READ.jsonl LO HI: every ApproximateArrivalTimestamp in [LO, HI]
    with open(args[0]) as f:
        bad = [x["ApproximateArrivalTimestamp"] for x in map(json.loads, f)
               if not float(args[1]) <= ts(x["ApproximateArrivalTimestamp"]) <= float(args[2])]
    if bad:
        die(f"outside [{args[1]}, {args[2]}]: {bad[:3]}")
elif cmd == "shard-for":  # shard-for PK [EHK]
    print(shard_for(hk_of(args[0], args[1] if len(args) > 1 else None)))
elif cmd == "put-record":  # put-record RESP PK DATAFILE PHASE [EHK]
    r = load(args[0])
    with open(args[2], "rb") as f:
        data = base64.b64encode(f.read()).decode()
    add(r["ShardId"], r["SequenceNumber"], args[1], data, args[3],
        shard_for(hk_of(args[1], args[4] if len(args) > 4 else None)))
    print(f"put pk={args[1][:20]!r} -> {r['ShardId']} {r['SequenceNumber']}")
elif cmd == "put-records":  # put-records RESP REQUEST PHASE
    r, req = load(args[0]), load(args[1])
    if r.get("FailedRecordCount") != 0 or len(r["Records"]) != len(req):
        die(f"PutRecords: FailedRecordCount {r.get('FailedRecordCount')}, "
            f"{len(r['Records'])} results for {len(req)} entries")
    last = {sid: (int(by_shard(sid)[-1]["seq"]) if by_shard(sid) else 0) for _, _, sid in ranges()}
    for ent, res in zip(req, r["Records"]):
        want = shard_for(hk_of(ent["PartitionKey"], ent.get("ExplicitHashKey")))
        if res.get("ShardId") != want or "ErrorCode" in res:
            die(f"PutRecords result for {ent['PartitionKey']!r} is {res}, expected shard {want}")
        if int(res["SequenceNumber"]) <= last[want]:
            die(f"PutRecords entry {res['SequenceNumber']} is not after earlier puts on {want}")
        with open(PUT, "a") as f:  # (order inside one PutRecords call is not promised)
            f.write(json.dumps({"shard": want, "seq": res["SequenceNumber"],
                                "pk": ent["PartitionKey"],
                                "data": base64.b64encode(ent["Data"].encode()).decode(),
                                "phase": args[2]}) + "\n")
    print(f"{len(req)} entries, in request order, on the shards their keys select")
elif cmd == "page":  # page RESP OUT.jsonl [LIMIT]: append records, print "count millis next"
    r = load(args[0])
    recs = r.get("Records", [])
    if len(args) > 2 and len(recs) > int(args[2]):
        die(f"GetRecords returned {len(recs)} records, Limit={args[2]}")
    with open(args[1], "a") as f:
        for x in recs:
            f.write(json.dumps(x) + "\n")
    print(len(recs), r.get("MillisBehindLatest"), r.get("NextShardIterator") or "-")
elif cmd == "same":  # same READ.jsonl SID SELECTOR: read records == expected ones, in order
    with open(args[0]) as f:
        got = [json.loads(l) for l in f if l.strip()]
    exp = by_shard(args[1])
    sel = args[2]
    if sel.startswith("phase:"):
        exp = [p for p in exp if p["phase"] == sel[6:]]
    elif sel.startswith("from:"):
        exp = exp[int(sel[5:]):]
    elif sel.startswith("after:"):
        exp = exp[int(sel[6:]) + 1:]
    g = [(x["SequenceNumber"], x["PartitionKey"], x["Data"]) for x in got]
    w = [(p["seq"], p["pk"], p["data"]) for p in exp]
    if g != w:
        detail = f"got {len(g)} records, expected {len(w)}"
        for i, (a, b) in enumerate(zip(g, w)):
            if a != b:
                detail += f"; first difference at #{i}: got {str(a)[:150]}, expected {str(b)[:150]}"
                break
        die(detail)
    seqs = [int(s) for s, _, _ in g]
    if any(a >= b for a, b in zip(seqs, seqs[1:])):
        die("sequence numbers do not strictly increase")
    print(f"{len(w)} records, data/keys/sequence numbers equal, in order")
elif cmd == "seq":  # seq SID INDEX (negative from the end)
    print(by_shard(args[0])[int(args[1])]["seq"])
elif cmd == "count":  # count SID
    print(len(by_shard(args[0])))
elif cmd == "arrivals":  # arrivals READ.jsonl... : prints "max_A min_B max_all" (epoch seconds)
    arr = {}
    for p in args:
        with open(p) as f:
            for l in f:
                if l.strip():
                    x = json.loads(l)
                    arr[x["SequenceNumber"]] = ts(x["ApproximateArrivalTimestamp"])
    ph = {p["seq"]: p["phase"] for p in puts()}
    print(max(arr[s] for s in arr if ph[s] == "A"), min(arr[s] for s in arr if ph[s] == "B"),
          max(arr.values()))
else:
    die("unknown helper command " + cmd)
PYEOF
export TOUR_WORK=$work
h() { "$PY" "$work/h.py" "$@"; }
# hcheck WHAT [DEVIATION] -- HELPER ARGS...: a check done by the helper.
hcheck() {
    local what=$1 dev=- out rc
    shift
    if [[ $1 != -- ]]; then dev=$1; shift; fi
    shift
    out=$(h "$@" 2>&1)
    rc=$?
    outcome "$what${out:+ ($out)}" "$dev" "$rc" ""
}
# The value of EXPR (over d, the JSON in FILE).
jget() { h get "$@"; }

# read_all ITERATOR OUT.jsonl WHAT [LIMIT]: GetRecords until caught up (an empty answer with
# MillisBehindLatest 0), every page appended to OUT.jsonl. Bounded: 60 calls.
read_all() {
    local it=$1 out=$2 what=$3 limit=${4:-} n cnt mbl next
    : >"$out"
    for ((n = 0; n < 60; n++)); do
        kj "$work/gr.json" get-records --shard-iterator "$it" ${limit:+--limit "$limit"}
        read -r cnt mbl next < <(h page "$work/gr.json" "$out" ${limit:+"$limit"}) ||
            fail "$what: bad GetRecords page: $(h page "$work/gr.json" /dev/null ${limit:+"$limit"})"
        [[ $next != - ]] || fail "$what: an open shard returned no NextShardIterator"
        if [[ $cnt == 0 && $mbl == 0 ]]; then
            return 0
        fi
        it=$next
    done
    fail "$what: not caught up after 60 GetRecords calls"
}
iterator() { # iterator SID TYPE [extra args]: prints a shard iterator
    local sid=$1 type=$2
    shift 2
    kj "$work/it.json" get-shard-iterator --stream-name "$name" --shard-id "$sid" \
        --shard-iterator-type "$type" "$@"
    jget "$work/it.json" 'd["ShardIterator"]'
}
sleep_until() { # sleep_until EPOCH_SECONDS (at most 2 s)
    local d
    d=$("$PY" -c 'import sys,time; print(max(0.0, min(2.0, float(sys.argv[1]) - time.time())))' "$1")
    sleep "$d"
}

log "endpoint $EP; $("$AWS" --version 2>&1 | head -1)"
missing="$name-missing"
echo x >"$work/x.bin"

# ---- 1. Errors on a stream that does not exist.
expect_error ResourceNotFoundException "DescribeStreamSummary of a missing stream" \
    describe-stream-summary --stream-name "$missing"
expect_error ResourceNotFoundException "PutRecord to a missing stream" \
    put-record --stream-name "$missing" --partition-key k --data "fileb://$work/x.bin"
expect_error ResourceNotFoundException "GetShardIterator on a missing stream" \
    get-shard-iterator --stream-name "$missing" --shard-id shardId-000000000000 \
    --shard-iterator-type TRIM_HORIZON
expect_error ResourceNotFoundException "DeleteStream of a missing stream" \
    delete-stream --stream-name "$missing"

# ---- 2. Create, wait (the CLI's stream-exists waiter polls every 10 s, at most 18 times).
t_create=$(date +%s)
kj "$work/out" create-stream --stream-name "$name" --shard-count 2
timeout 200 "$AWS" --endpoint-url "$EP" --region us-east-1 kinesis wait stream-exists \
    --stream-name "$name" 2>"$work/stderr" || fail "wait stream-exists: $(cat "$work/stderr")"
log "ok: aws kinesis wait stream-exists returned"
expect_error ResourceInUseException "CreateStream with a name in use" \
    create-stream --stream-name "$name" --shard-count 1
kj "$work/sum.json" describe-stream-summary --stream-name "$name"
s='d["StreamDescriptionSummary"]'
hcheck "summary StreamName, ACTIVE, 2 open shards, 24 h, no encryption, no consumers" -- true "$work/sum.json" \
    "${s}['StreamName'] == '$name' and ${s}['StreamStatus'] == 'ACTIVE' and ${s}['OpenShardCount'] == 2
     and ${s}['RetentionPeriodHours'] == 24 and ${s}['EncryptionType'] == 'NONE'
     and ${s}['EnhancedMonitoring'] == [{'ShardLevelMetrics': []}] and ${s}['ConsumerCount'] == 0"
hcheck "summary StreamARN has the AWS form" -- true "$work/sum.json" \
    "re.fullmatch(r'arn:aws:kinesis:us-east-1:\d{12}:stream/' + re.escape('$name'), ${s}['StreamARN'])"
hcheck "summary StreamCreationTimestamp is about now" -- true "$work/sum.json" \
    "$t_create - 30 <= ts(${s}['StreamCreationTimestamp']) <= $t_create + 60"
hcheck "summary StreamModeDetails is PROVISIONED" kinesalite-no-stream-mode -- true "$work/sum.json" \
    "$s.get('StreamModeDetails') == {'StreamMode': 'PROVISIONED'}"

# ---- 3. ListShards.
kj "$work/shards.json" list-shards --stream-name "$name"
half=170141183460469231731687303715884105728
max=340282366920938463463374607431768211455
hcheck "ListShards: shardId-000000000000 and -01 tiling the hash key space, open" -- true "$work/shards.json" \
    "[(x['ShardId'], x['HashKeyRange']['StartingHashKey'], x['HashKeyRange']['EndingHashKey'],
       'EndingSequenceNumber' in x['SequenceNumberRange']) for x in d['Shards']]
     == [('shardId-000000000000', '0', str($half - 1), False),
         ('shardId-000000000001', '$half', '$max', False)] and 'NextToken' not in d"
s0=shardId-000000000000
s1=shardId-000000000001
kj "$work/p1.json" list-shards --stream-name "$name" --max-results 1 --no-paginate
if hcheck "ListShards --max-results 1 returns one shard and a NextToken" kinesalite-listshards-no-paging -- \
    true "$work/p1.json" "[x['ShardId'] for x in d['Shards']] == ['$s0'] and d.get('NextToken')"; then
    kj "$work/p2.json" list-shards --next-token "$(jget "$work/p1.json" 'd["NextToken"]')" --no-paginate
    hcheck "ListShards --next-token gives the second shard, last page" -- true "$work/p2.json" \
        "[x['ShardId'] for x in d['Shards']] == ['$s1'] and 'NextToken' not in d"
fi

# ---- 4. Phase A: put-record with binary data, explicit hash keys, SequenceNumberForOrdering.
t_a0=$(date +%s)
for i in 0 1 2 3; do
    pk="session-$((i % 3))"
    { printf 'A%d:' "$i"; "$PY" -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))'; \
      head -c "$i" /dev/urandom; } >"$work/a$i.bin"
    kj "$work/r.json" put-record --stream-name "$name" --partition-key "$pk" --data "fileb://$work/a$i.bin"
    hcheck "put-record" -- put-record "$work/r.json" "$pk" "$work/a$i.bin" A
done
printf 'ehk-zero' >"$work/e0.bin"
kj "$work/r.json" put-record --stream-name "$name" --partition-key ehk --explicit-hash-key 0 \
    --data "fileb://$work/e0.bin"
hcheck "put-record --explicit-hash-key 0" -- put-record "$work/r.json" ehk "$work/e0.bin" A 0
printf 'ehk-max' >"$work/e1.bin"
kj "$work/r.json" put-record --stream-name "$name" --partition-key ehk --explicit-hash-key "$max" \
    --data "fileb://$work/e1.bin"
hcheck "put-record --explicit-hash-key 2^128-1" -- put-record "$work/r.json" ehk "$work/e1.bin" A "$max"
s_pk0=$(h shard-for session-0)
prev=$(h seq "$s_pk0" -1)
printf 'ordered' >"$work/o.bin"
kj "$work/r.json" put-record --stream-name "$name" --partition-key session-0 \
    --sequence-number-for-ordering "$prev" --data "fileb://$work/o.bin"
hcheck "put-record --sequence-number-for-ordering gets a greater number" -- \
    put-record "$work/r.json" session-0 "$work/o.bin" A

declare -A latest
for sid in $s0 $s1; do latest[$sid]=$(iterator "$sid" LATEST); done
# The CLI (botocore) sends timestamps as whole epoch seconds, so the AT_TIMESTAMP boundary
# between phases A and B is a whole second.
t_mid=$(($(date +%s) + 1))
sleep_until "$t_mid.25"

# ---- 5. Phase B: put-records, key and size limits.
"$PY" - "$work/batch.json" "$half" <<'PYEOF'
import json, sys
recs = [{"Data": '{"order":%d,"v":"%s"}' % (i, "x" * i), "PartitionKey": "order-%d-é" % i}
        for i in range(10)]
recs.append({"Data": "batch-ehk", "PartitionKey": "p", "ExplicitHashKey": sys.argv[2]})
json.dump(recs, open(sys.argv[1], "w"))
PYEOF
kj "$work/rr.json" put-records --stream-name "$name" --records "file://$work/batch.json" "${binfmt[@]}"
hcheck "put-records" -- put-records "$work/rr.json" "$work/batch.json" B
pk256=$("$PY" -c 'print("é" * 256)')
printf 'long-key' >"$work/lk.bin"
kj "$work/r.json" put-record --stream-name "$name" --partition-key "$pk256" --data "fileb://$work/lk.bin"
hcheck "256-character (512-byte) partition key accepted" -- put-record "$work/r.json" "$pk256" "$work/lk.bin" B
head -c $((1048576 - 3)) /dev/urandom >"$work/big.bin"
kj "$work/r.json" put-record --stream-name "$name" --partition-key big --data "fileb://$work/big.bin"
hcheck "a record of exactly 1 MiB (data + partition key) is accepted" -- \
    put-record "$work/r.json" big "$work/big.bin" B
head -c $((1048576 + 1)) /dev/zero >"$work/toobig.bin"
expect_error ValidationException "PutRecord with 1 MiB + 1 byte of data" \
    put-record --stream-name "$name" --partition-key k --data "fileb://$work/toobig.bin"
AWS_CONFIG_FILE=$work/noval.cfg expect_error ValidationException \
    "PutRecord with an empty partition key" \
    put-record --stream-name "$name" --partition-key "" --data "fileb://$work/x.bin"
AWS_CONFIG_FILE=$work/noval.cfg expect_error ValidationException \
    "PutRecord with a 257-character partition key" \
    put-record --stream-name "$name" --partition-key "$(printf 'k%.0s' {1..257})" --data "fileb://$work/x.bin"

# ---- 6. Read back with every iterator type (each type once, on alternating shards: every
# CLI call is a new process of about a second).
read_all "$(iterator $s0 TRIM_HORIZON)" "$work/th-$s0.jsonl" "$s0 TRIM_HORIZON" 5
hcheck "$s0 TRIM_HORIZON (--limit 5 pages)" -- same "$work/th-$s0.jsonl" $s0 all
read_all "$(iterator $s1 TRIM_HORIZON)" "$work/th-$s1.jsonl" "$s1 TRIM_HORIZON"
hcheck "$s1 TRIM_HORIZON" -- same "$work/th-$s1.jsonl" $s1 all
for sid in $s0 $s1; do
    hcheck "$sid ApproximateArrivalTimestamp within the put window" -- \
        window "$work/th-$sid.jsonl" "$((t_a0 - 5))" "$(($(date +%s) + 5))"
done
read_all "${latest[$s0]}" "$work/r.jsonl" "$s0 LATEST"
hcheck "$s0 LATEST taken before phase B sees exactly phase B" -- same "$work/r.jsonl" $s0 phase:B
kidx=$(($(h count $s0) / 2))
read_all "$(iterator $s0 AT_SEQUENCE_NUMBER --starting-sequence-number "$(h seq $s0 "$kidx")")" \
    "$work/r.jsonl" "$s0 AT_SEQUENCE_NUMBER"
hcheck "$s0 AT_SEQUENCE_NUMBER #$kidx" -- same "$work/r.jsonl" $s0 "from:$kidx"
kidx=$(($(h count $s1) / 2))
read_all "$(iterator $s1 AFTER_SEQUENCE_NUMBER --starting-sequence-number "$(h seq $s1 "$kidx")")" \
    "$work/r.jsonl" "$s1 AFTER_SEQUENCE_NUMBER"
hcheck "$s1 AFTER_SEQUENCE_NUMBER #$kidx" -- same "$work/r.jsonl" $s1 "after:$kidx"
read_all "$(iterator $s1 AT_TIMESTAMP --timestamp $((t_a0 - 3600)))" "$work/r.jsonl" "$s1 AT_TIMESTAMP early"
hcheck "$s1 AT_TIMESTAMP an hour before the first record reads all" -- same "$work/r.jsonl" $s1 all
read -r max_a min_b max_all < <(h arrivals "$work/th-$s0.jsonl" "$work/th-$s1.jsonl")
hcheck "arrival times: phase A before $t_mid, phase B at or after it (last A $max_a, first B $min_b)" -- \
    expr "$max_a < $t_mid <= $min_b"
read_all "$(iterator $s0 AT_TIMESTAMP --timestamp "$t_mid")" "$work/r.jsonl" "$s0 AT_TIMESTAMP"
hcheck "$s0 AT_TIMESTAMP between phases ($t_mid) reads exactly phase B" -- same "$work/r.jsonl" $s0 phase:B

# ---- 7. Iterators at the tip see exactly what is put afterwards (phase C).
t_tip=$("$PY" -c "import math; print(math.floor($max_all) + 1)")
sleep_until "$t_tip.25"
declare -A tips
tips[$s0/AFTER_SEQUENCE_NUMBER-last]=$(iterator $s0 AFTER_SEQUENCE_NUMBER \
    --starting-sequence-number "$(h seq $s0 -1)")
tips[$s1/LATEST]=$(iterator $s1 LATEST)
what="$s1: GetShardIterator AT_TIMESTAMP later than every record answers"
if READ_TIMEOUT=3 k get-shard-iterator --stream-name "$name" --shard-id $s1 \
    --shard-iterator-type AT_TIMESTAMP --timestamp "$t_tip" >"$work/it.json" 2>"$work/stderr"; then
    outcome "$what" kinesalite-at-timestamp-tip-hangs 0 "" &&
        tips[$s1/AT_TIMESTAMP-tip]=$(jget "$work/it.json" 'd["ShardIterator"]')
else
    outcome "$what" kinesalite-at-timestamp-tip-hangs 1 "$(tr '\n' ' ' <"$work/stderr" | cut -c1-200)" || true
fi
for pk in late-0 late-1; do # (late-0 hashes to shard 0, late-1 to shard 1)
    printf '%s' "C-$pk" >"$work/c.bin"
    kj "$work/r.json" put-record --stream-name "$name" --partition-key "$pk" --data "fileb://$work/c.bin"
    hcheck "put-record (phase C)" -- put-record "$work/r.json" "$pk" "$work/c.bin" C
done
for key in "${!tips[@]}"; do
    sid=${key%%/*}
    read_all "${tips[$key]}" "$work/r.jsonl" "$key"
    hcheck "${key/\// } sees exactly phase C" -- same "$work/r.jsonl" "$sid" phase:C
done
for sid in $s0 $s1; do
    read_all "$(iterator "$sid" TRIM_HORIZON)" "$work/r.jsonl" "$sid TRIM_HORIZON final"
    hcheck "$sid final TRIM_HORIZON: everything put, exactly once" -- same "$work/r.jsonl" "$sid" all
done

# ---- 8. Iterator errors.
it=$(iterator $s0 TRIM_HORIZON)
expect_error InvalidArgumentException "GetRecords with a malformed iterator" \
    get-records --shard-iterator not-a-shard-iterator
expect_error InvalidArgumentException "GetRecords with a truncated iterator" \
    get-records --shard-iterator "${it:0:$((${#it} / 2))}"
expect_error InvalidArgumentException "GetShardIterator TRIM_HORIZON with a sequence number" \
    get-shard-iterator --stream-name "$name" --shard-id $s0 --shard-iterator-type TRIM_HORIZON \
    --starting-sequence-number "$(h seq $s0 0)"
expect_error InvalidArgumentException "GetShardIterator with another shard's sequence number" \
    get-shard-iterator --stream-name "$name" --shard-id $s1 --shard-iterator-type AT_SEQUENCE_NUMBER \
    --starting-sequence-number "$(h seq $s0 0)"
expect_error ResourceNotFoundException "GetShardIterator on a shard that does not exist" \
    get-shard-iterator --stream-name "$name" --shard-id shardId-000000000007 \
    --shard-iterator-type TRIM_HORIZON

# ---- 9. Tags: add (a value overwritten, an empty value), list (sorted by key, paged with
# --limit and --exclusive-start-tag-key), remove (a key the stream lacks is no error).
kj "$work/out" add-tags-to-stream --stream-name "$name" \
    --tags '{"team": "data", "env": "test", "empty": "", "cost-center": "42"}'
kj "$work/out" add-tags-to-stream --stream-name "$name" --tags '{"team": "platform"}'
kj "$work/tags.json" list-tags-for-stream --stream-name "$name"
hcheck "list-tags-for-stream: the tags, sorted by key, team's value overwritten" -- true "$work/tags.json" \
    "d == {'Tags': [{'Key': 'cost-center', 'Value': '42'}, {'Key': 'empty', 'Value': ''},
                    {'Key': 'env', 'Value': 'test'}, {'Key': 'team', 'Value': 'platform'}],
           'HasMoreTags': False}"
kj "$work/tags.json" list-tags-for-stream --stream-name "$name" --limit 1 --exclusive-start-tag-key empty
hcheck "list-tags-for-stream --limit 1 --exclusive-start-tag-key empty: env, more to come" -- \
    true "$work/tags.json" "d == {'Tags': [{'Key': 'env', 'Value': 'test'}], 'HasMoreTags': True}"
kj "$work/out" remove-tags-from-stream --stream-name "$name" --tag-keys empty no-such-key
kj "$work/tags.json" list-tags-for-stream --stream-name "$name"
hcheck "remove-tags-from-stream removed 'empty' (and 'no-such-key' was no error)" -- true "$work/tags.json" \
    "[t['Key'] for t in d['Tags']] == ['cost-center', 'env', 'team'] and d['HasMoreTags'] is False"
expect_error InvalidArgumentException "add-tags-to-stream with a key starting 'aws:'" \
    add-tags-to-stream --stream-name "$name" --tags '{"aws:owner": "x"}'

# ---- 10. Delete and wait.
kj "$work/out" delete-stream --stream-name "$name"
timeout 200 "$AWS" --endpoint-url "$EP" --region us-east-1 kinesis wait stream-not-exists \
    --stream-name "$name" 2>"$work/stderr" || fail "wait stream-not-exists: $(cat "$work/stderr")"
deleted=1
log "ok: aws kinesis wait stream-not-exists returned"
expect_error ResourceNotFoundException "DescribeStreamSummary after DeleteStream" \
    describe-stream-summary --stream-name "$name"

if ((${#deviations[@]})); then
    uniq=$(printf '%s\n' "${deviations[@]}" | sort -u | paste -sd, -)
    log "PASSED ($(printf '%s\n' "${deviations[@]}" | sort -u | wc -l) known deviations: ${uniq//,/, })"
else
    log "PASSED"
fi
