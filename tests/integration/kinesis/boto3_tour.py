#!/usr/bin/env python3
"""A tour of the Kinesis Data Streams API through boto3, checking behaviour precisely.

    python3 boto3_tour.py [ENDPOINT]        (default: $KINESIS_ENDPOINT)

Creates one 2-shard stream with a unique name, drives it through every data-plane call the
issue names, and checks what comes back against what was put. Then it tags a 1-shard stream of
its own, names it by StreamARN, and calls the operations sluice answers without acting on them
(with an ON_DEMAND stream); what the client's botocore model lacks is skipped with a note. It
deletes its streams at the end. Exits 0 when every check holds, 1 at the first failed check
(with a message saying which), 2 on bad usage.

$KINESIS_KNOWN_DEVIATIONS (comma-separated ids, see kinesalite_deviations.txt) names checks
the server under test is known to get wrong: such a check is reported as a known deviation
instead of failing, and must then really fail (a listed deviation that passes is an error,
so the list stays true). Against sluiced the variable is unset and every check is strict.
"""

import hashlib
import os
import re
import secrets
import sys
import time
import traceback

# Hermetic: dummy credentials unless given, no profile or shared config from the machine.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDSLUICETOUR")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "sluice-tour-dummy-secret")
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(_var, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

TOUR = "boto3"
MAX_HASH = 2**128 - 1
ONE_MIB = 1024 * 1024
KNOWN = {d for d in os.environ.get("KINESIS_KNOWN_DEVIATIONS", "").split(",") if d}
deviations_seen = []
current = ["setup"]  # the tour section running, for failure messages


def section(title):
    current[0] = title
    log(f"-- {title}")


class CheckFailed(Exception):
    pass


def log(msg):
    print(f"[{TOUR}] {msg}", flush=True)


def check(cond, what, deviation=None):
    """One assertion. With `deviation` (an id from kinesalite_deviations.txt) listed in
    $KINESIS_KNOWN_DEVIATIONS a failure is reported and tolerated; returns whether it held."""
    if deviation is not None and deviation in KNOWN:
        if cond:
            raise CheckFailed(f"{what}: holds, but known deviation '{deviation}' says it should "
                              f"not on this server; update kinesalite_deviations.txt")
        deviations_seen.append(deviation)
        log(f"KNOWN DEVIATION [{deviation}]: {what}")
        return False
    if not cond:
        raise CheckFailed(what)
    log(f"ok: {what}")
    return True


def eq(actual, expected, what, deviation=None):
    if actual != expected:
        return check(False, f"{what}: expected {short(expected)}, got {short(actual)}", deviation)
    return check(True, what, deviation)


def short(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + f"...({len(s)} chars)"


def expect_error(code, what, fn, deviation=None, **kwargs):
    """Calls fn(**kwargs) and checks it fails with the service error `code` (HTTP 400)."""
    try:
        fn(**kwargs)
    except ClientError as e:
        got = e.response.get("Error", {}).get("Code")
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        msg = e.response.get("Error", {}).get("Message") or ""
        if got != code or status != 400:
            return check(False, f"{what}: expected {code} (HTTP 400), got {got} (HTTP {status}): "
                         f"{msg[:200]}", deviation)
        return check(True, f"{what} -> {code}", deviation)
    except botocore.exceptions.BotoCoreError as e:
        return check(False, f"{what}: expected {code}, got client-side {type(e).__name__}: {e}",
                     deviation)
    return check(False, f"{what}: expected {code}, but the call succeeded", deviation)


def sleep_until(t):
    time.sleep(max(0.0, min(2.0, t - time.time())))


def hash_key(pk):
    return int.from_bytes(hashlib.md5(pk.encode("utf-8")).digest(), "big")


def has_op(kin, op, member=None):
    """Whether this botocore's Kinesis model has operation `op` (and input member `member`):
    Debian's python3-boto3 (botocore 1.29) predates StreamARN, TagResource and the rest."""
    model = kin.meta.service_model
    if op not in model.operation_names:
        return False
    return member is None or member in model.operation_model(op).input_shape.members


def skip(what, why):
    log(f"skipped: {what} ({why}; botocore {botocore.__version__})")


def attempt(what, fn, deviation=None, **kwargs):
    """A call that should succeed, as a check (with `deviation` it may be a known failure):
    returns the response, or None when it failed as a known deviation."""
    try:
        resp = fn(**kwargs)
    except ClientError as e:
        err = e.response.get("Error", {})
        check(False, f"{what}: {err.get('Code')}: {(err.get('Message') or '')[:200]}", deviation)
        return None
    check(True, what, deviation)
    return resp


def tag_list(tags):
    """A {key: value} dict as ListTagsForStream lists it: sorted by key, bytewise (UTF-8)."""
    return [{"Key": k, "Value": tags[k]} for k in sorted(tags, key=lambda k: k.encode())]


def wait_active(kin, stream):
    kin.get_waiter("stream_exists").wait(StreamName=stream,
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def main():
    endpoint = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KINESIS_ENDPOINT")
    if not endpoint:
        print("usage: boto3_tour.py ENDPOINT  (or set KINESIS_ENDPOINT)", file=sys.stderr)
        return 2
    log(f"endpoint {endpoint}; boto3 {boto3.__version__}, botocore {botocore.__version__}")

    # No retries anywhere: every server error must surface, not be papered over.
    base = dict(connect_timeout=5, read_timeout=20, retries={"total_max_attempts": 1})
    kin = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                       config=Config(**base))
    # botocore checks minimum lengths itself (an empty PartitionKey never reaches the server);
    # this client skips that so the server's own validation is what gets tested.
    raw = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                       config=Config(parameter_validation=False, **base))
    # For a call a faulty server may never answer (kinesalite, see deviations).
    quick = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                         config=Config(connect_timeout=5, read_timeout=3,
                                       retries={"total_max_attempts": 1}))

    name = f"tour-{TOUR}-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        tour(kin, raw, quick, name)
    except CheckFailed as e:
        log(f"FAILED (in {current[0]}): {e}")
        return 1
    except Exception as e:  # a call that should have worked did not, or a client-side error
        traceback.print_exc(file=sys.stdout)
        log(f"FAILED (in {current[0]}): unexpected {type(e).__name__}: {e}")
        return 1
    finally:
        # Clean up even after a failure (the normal path already deleted it).
        for stream in (name, name + "-tags", name + "-od"):
            try:
                kin.delete_stream(StreamName=stream)
            except Exception:
                pass
    dev = f" ({len(set(deviations_seen))} known deviations: {', '.join(sorted(set(deviations_seen)))})" \
        if deviations_seen else ""
    log(f"PASSED{dev}")
    return 0


def tour(kin, raw, quick, name):
    missing = name + "-missing"

    # ---- 1. Errors on a stream that does not exist.
    section("1. Errors on a stream that does not exist")
    expect_error("ResourceNotFoundException", "DescribeStreamSummary of a missing stream",
                 kin.describe_stream_summary, StreamName=missing)
    expect_error("ResourceNotFoundException", "PutRecord to a missing stream",
                 kin.put_record, StreamName=missing, Data=b"x", PartitionKey="k")
    expect_error("ResourceNotFoundException", "PutRecords to a missing stream",
                 kin.put_records, StreamName=missing,
                 Records=[{"Data": b"x", "PartitionKey": "k"}])
    expect_error("ResourceNotFoundException", "ListShards of a missing stream",
                 kin.list_shards, StreamName=missing)
    expect_error("ResourceNotFoundException", "GetShardIterator on a missing stream",
                 kin.get_shard_iterator, StreamName=missing, ShardId="shardId-000000000000",
                 ShardIteratorType="TRIM_HORIZON")
    expect_error("ResourceNotFoundException", "DeleteStream of a missing stream",
                 kin.delete_stream, StreamName=missing)

    # ---- 2. Create, wait with the stream_exists waiter, describe.
    section("2. Create, wait with the stream_exists waiter, describe")
    t_create = time.time()
    kin.create_stream(StreamName=name, ShardCount=2)
    kin.get_waiter("stream_exists").wait(StreamName=name,
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    check(True, "stream_exists waiter saw the stream ACTIVE")
    expect_error("ResourceInUseException", "CreateStream with a name in use",
                 kin.create_stream, StreamName=name, ShardCount=1)

    s = kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    eq(s.get("StreamName"), name, "summary StreamName")
    check(re.fullmatch(r"arn:aws:kinesis:us-east-1:\d{12}:stream/" + re.escape(name),
                       s.get("StreamARN", "")) is not None,
          f"summary StreamARN has the AWS form ({s.get('StreamARN')})")
    eq(s.get("StreamStatus"), "ACTIVE", "summary StreamStatus")
    eq(s.get("RetentionPeriodHours"), 24, "summary RetentionPeriodHours (default 24)")
    eq(s.get("OpenShardCount"), 2, "summary OpenShardCount")
    eq(s.get("EncryptionType"), "NONE", "summary EncryptionType")
    eq(s.get("EnhancedMonitoring"), [{"ShardLevelMetrics": []}], "summary EnhancedMonitoring")
    eq(s.get("ConsumerCount"), 0, "summary ConsumerCount")
    ct = s.get("StreamCreationTimestamp")
    check(ct is not None and t_create - 30 <= ct.timestamp() <= time.time() + 5,
          f"summary StreamCreationTimestamp is about now ({ct})")
    eq(s.get("StreamModeDetails"), {"StreamMode": "PROVISIONED"},
       "summary StreamModeDetails (PROVISIONED when created with ShardCount)",
       deviation="kinesalite-no-stream-mode")
    names, page = [], {"Limit": 100}
    for _ in range(50):  # pages of 100 (a shared server may hold other streams)
        ls = kin.list_streams(**page)
        names += ls.get("StreamNames", [])
        if not ls.get("HasMoreStreams") or not ls.get("StreamNames"):
            break
        page = {"Limit": 100, "ExclusiveStartStreamName": ls["StreamNames"][-1]}
    check(name in names, "ListStreams lists the stream")

    # ---- 3. ListShards: two open shards tiling the hash key space, paging with MaxResults.
    section("3. ListShards")
    ls = kin.list_shards(StreamName=name)
    shards = ls["Shards"]
    eq([sh["ShardId"] for sh in shards], ["shardId-000000000000", "shardId-000000000001"],
       "ListShards shard ids")
    check("NextToken" not in ls, "ListShards has no NextToken when every shard fits")
    half = 2**128 // 2
    eq([(sh["HashKeyRange"]["StartingHashKey"], sh["HashKeyRange"]["EndingHashKey"])
        for sh in shards],
       [("0", str(half - 1)), (str(half), str(MAX_HASH))], "ListShards hash key ranges")
    for sh in shards:
        rng = sh["SequenceNumberRange"]
        check(re.fullmatch(r"0|[1-9]\d{0,128}", rng.get("StartingSequenceNumber", "")) is not None
              and "EndingSequenceNumber" not in rng and "ParentShardId" not in sh,
              f"{sh['ShardId']} is open with a decimal StartingSequenceNumber")
    ranges = [(int(sh["HashKeyRange"]["StartingHashKey"]), int(sh["HashKeyRange"]["EndingHashKey"]),
               sh["ShardId"]) for sh in shards]
    shard_ids = [sh["ShardId"] for sh in shards]
    start_seq = {sh["ShardId"]: sh["SequenceNumberRange"]["StartingSequenceNumber"] for sh in shards}

    def shard_for(hk):
        return next(sid for lo, hi, sid in ranges if lo <= hk <= hi)

    after0 = kin.list_shards(StreamName=name, ExclusiveStartShardId="shardId-000000000000")
    eq([sh["ShardId"] for sh in after0["Shards"]], ["shardId-000000000001"],
       "ListShards ExclusiveStartShardId")
    p1 = kin.list_shards(StreamName=name, MaxResults=1)
    token = p1.get("NextToken")
    if check([sh["ShardId"] for sh in p1["Shards"]] == ["shardId-000000000000"] and token,
             "ListShards MaxResults=1 returns one shard and a NextToken",
             deviation="kinesalite-listshards-no-paging"):
        p2 = kin.list_shards(NextToken=token)
        eq([sh["ShardId"] for sh in p2["Shards"]], ["shardId-000000000001"],
           "ListShards NextToken page 2")
        check("NextToken" not in p2, "ListShards last page has no NextToken")
    expect_error("InvalidArgumentException", "ListShards with both StreamName and NextToken",
                 kin.list_shards, StreamName=name, NextToken=token or "AAAAAAAAAAE=")

    # ---- 4. An empty stream reads empty and caught up.
    section("4. An empty stream reads empty and caught up")
    for sid in shard_ids:
        it = kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        r = kin.get_records(ShardIterator=it)
        check(r["Records"] == [] and r.get("MillisBehindLatest") == 0 and r.get("NextShardIterator"),
              f"{sid}: empty shard reads no records, MillisBehindLatest 0, a next iterator")

    # ---- 5. Phase A: sequential PutRecord calls.
    section("5. Phase A")
    put = {sid: [] for sid in shard_ids}  # per shard: (seq, pk, data, phase) in put order
    last_seq = {}

    def record_put(resp, pk, data, phase, expect_shard):
        sid, seq = resp["ShardId"], resp["SequenceNumber"]
        eq(sid, expect_shard, f"put pk={pk[:20]!r} went to the shard its hash key selects")
        check(re.fullmatch(r"0|[1-9]\d{0,128}", seq) is not None, f"sequence number {seq} is decimal")
        check(int(seq) >= int(start_seq[sid]), f"{seq} >= the shard's StartingSequenceNumber")
        if sid in last_seq:
            check(int(seq) > int(last_seq[sid]),
                  f"{sid}: sequence number {seq} > previous {last_seq[sid]}")
        last_seq[sid] = seq
        put[sid].append((seq, pk, data, phase))

    t_a0 = time.time()
    for i in range(12):
        pk = f"session-{i % 5}"
        data = f"A{i}:".encode() + bytes(range(256)) + secrets.token_bytes(i)
        r = kin.put_record(StreamName=name, Data=data, PartitionKey=pk)
        record_put(r, pk, data, "A", shard_for(hash_key(pk)))
    r = kin.put_record(StreamName=name, Data=b"ehk-zero", PartitionKey="ehk", ExplicitHashKey="0")
    record_put(r, "ehk", b"ehk-zero", "A", "shardId-000000000000")
    r = kin.put_record(StreamName=name, Data=b"ehk-max", PartitionKey="ehk",
                       ExplicitHashKey=str(MAX_HASH))
    record_put(r, "ehk", b"ehk-max", "A", "shardId-000000000001")
    expect_error("InvalidArgumentException", "PutRecord with ExplicitHashKey 2^128",
                 kin.put_record, StreamName=name, Data=b"x", PartitionKey="k",
                 ExplicitHashKey=str(2**128))
    # SequenceNumberForOrdering: the new number must exceed the one given.
    prev = last_seq[shard_for(hash_key("session-0"))]
    r = kin.put_record(StreamName=name, Data=b"ordered", PartitionKey="session-0",
                       SequenceNumberForOrdering=prev)
    check(int(r["SequenceNumber"]) > int(prev), "PutRecord with SequenceNumberForOrdering "
          "gets a greater sequence number")
    record_put(r, "session-0", b"ordered", "A", shard_for(hash_key("session-0")))

    # LATEST iterators now: they must see exactly what is put from here on.
    latest_it = {sid: kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                             ShardIteratorType="LATEST")["ShardIterator"]
                 for sid in shard_ids}
    # A whole second between phases A and B for AT_TIMESTAMP. botocore serialises Kinesis
    # timestamps as whole epoch seconds (it truncates the fraction), so the boundary is an
    # integer second: every phase A record arrives before it, every phase B record after.
    t_mid = int(time.time()) + 1
    sleep_until(t_mid + 0.25)

    # ---- 6. Phase B: PutRecords, size and partition-key limits, and their errors.
    section("6. Phase B")
    batch = []
    for i in range(20):
        pk = f"order-{i}-é"
        batch.append({"Data": f'{{"order":{i},"v":"{"x" * i}"}}'.encode(), "PartitionKey": pk})
    batch.append({"Data": b"batch-ehk", "PartitionKey": "p", "ExplicitHashKey": str(half)})
    rr = kin.put_records(StreamName=name, Records=batch)
    eq(rr.get("FailedRecordCount"), 0, "PutRecords FailedRecordCount")
    eq(len(rr["Records"]), len(batch), "PutRecords returns one result per entry")
    batch_seqs = {}
    for ent, res in zip(batch, rr["Records"]):
        want = shard_for(int(ent["ExplicitHashKey"]) if "ExplicitHashKey" in ent
                         else hash_key(ent["PartitionKey"]))
        check(res.get("ShardId") == want and "ErrorCode" not in res,
              f"PutRecords result for {ent['PartitionKey']!r} is in request order, on {want}")
        seq = res["SequenceNumber"]
        # PutRecords does not promise order inside one call, only after earlier calls.
        check(int(seq) > int(last_seq[want]), f"PutRecords entry {seq} > earlier puts on {want}")
        batch_seqs.setdefault(want, []).append(int(seq))
        put[want].append((seq, ent["PartitionKey"], ent["Data"], "B"))
    for sid, seqs in batch_seqs.items():
        eq(len(set(seqs)), len(seqs), f"PutRecords sequence numbers on {sid} are distinct")
        last_seq[sid] = str(max(seqs))

    # Partition keys: 1-256 Unicode characters, hashed as UTF-8.
    for pk in ["k" * 256, "é" * 256, "€" * 256]:
        r = kin.put_record(StreamName=name, Data=b"long-key", PartitionKey=pk)
        record_put(r, pk, b"long-key", "B", shard_for(hash_key(pk)))
    check(True, "256-character partition keys (ASCII, 2- and 3-byte UTF-8) are accepted")
    expect_error("ValidationException", "PutRecord with an empty partition key",
                 raw.put_record, StreamName=name, Data=b"x", PartitionKey="")
    expect_error("ValidationException", "PutRecord with a 257-character partition key",
                 raw.put_record, StreamName=name, Data=b"x", PartitionKey="k" * 257)
    expect_error("ValidationException", "PutRecords with a 257-character partition key",
                 raw.put_records, StreamName=name,
                 Records=[{"Data": b"ok", "PartitionKey": "fine"},
                          {"Data": b"x", "PartitionKey": "k" * 257}])
    # Size: data plus partition key up to 1 MiB; more than 1 MiB of data is a ValidationException.
    big_pk = "big"
    big = secrets.token_bytes(ONE_MIB - len(big_pk))
    r = kin.put_record(StreamName=name, Data=big, PartitionKey=big_pk)
    record_put(r, big_pk, big, "B", shard_for(hash_key(big_pk)))
    check(True, "a record of exactly 1 MiB (data + partition key) is accepted")
    expect_error("ValidationException", "PutRecord with 1 MiB + 1 byte of data",
                 kin.put_record, StreamName=name, Data=b"\0" * (ONE_MIB + 1), PartitionKey="k")
    expect_error("ValidationException", "PutRecords with one entry of 1 MiB + 1 byte",
                 kin.put_records, StreamName=name,
                 Records=[{"Data": b"must-not-be-stored", "PartitionKey": "fine"},
                          {"Data": b"\0" * (ONE_MIB + 1), "PartitionKey": "k"}])
    t_b1 = time.time()

    # ---- 7. Read back with every iterator type.
    section("7. Read back with every iterator type")
    def read_all(it, what, limit=None, max_calls=200):
        """GetRecords from `it` until caught up (an empty answer with MillisBehindLatest 0)."""
        out = []
        deadline = time.time() + 60
        for _ in range(max_calls):
            args = {"ShardIterator": it}
            if limit:
                args["Limit"] = limit
            r = kin.get_records(**args)
            recs = r["Records"]
            if limit and len(recs) > limit:
                raise CheckFailed(f"{what}: GetRecords returned {len(recs)} records, Limit={limit}")
            out.extend(recs)
            it = r.get("NextShardIterator")
            if not it:
                raise CheckFailed(f"{what}: an open shard returned no NextShardIterator")
            if not recs and r.get("MillisBehindLatest") == 0:
                return out, it
            if time.time() > deadline:
                break
        raise CheckFailed(f"{what}: not caught up after {max_calls} GetRecords calls")

    def same(records, expected, what, deviation=None):
        got = [(r["SequenceNumber"], r["PartitionKey"], bytes(r["Data"])) for r in records]
        want = [(seq, pk, data) for seq, pk, data, _ in expected]
        if got == want:
            return check(True, f"{what}: {len(want)} records, data/keys/sequence numbers equal, "
                         "in order", deviation)
        detail = f"got {len(got)} records, expected {len(want)}"
        for k, (g, w) in enumerate(zip(got, want)):
            if g != w:
                detail += f"; first difference at #{k}: got {short(g, 120)}, expected {short(w, 120)}"
                break
        return check(False, f"{what}: {detail}", deviation)

    for sid in shard_ids:
        expected = sorted(put[sid], key=lambda t: int(t[0]))
        # (sorted by sequence number: PutRecords need not keep request order within one call)
        recs, _ = read_all(kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"],
                           f"{sid} TRIM_HORIZON", limit=4)
        same(recs, expected, f"{sid} TRIM_HORIZON (Limit=4 pages)")
        seqs = [int(r["SequenceNumber"]) for r in recs]
        check(all(a < b for a, b in zip(seqs, seqs[1:])), f"{sid}: sequence numbers strictly increase")
        arrivals = [r["ApproximateArrivalTimestamp"].timestamp() for r in recs]
        check(all(t_a0 - 5 <= t <= t_b1 + 5 for t in arrivals),
              f"{sid}: ApproximateArrivalTimestamp within the put window (epoch seconds)")
        # Iterators are positions: the same one read twice gives the same records.
        it0 = kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                     ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        one = kin.get_records(ShardIterator=it0, Limit=1)
        eq(len(one["Records"]), 1, f"{sid}: GetRecords Limit=1 returns one record")
        again = kin.get_records(ShardIterator=it0, Limit=1)
        eq(again["Records"][0]["SequenceNumber"], one["Records"][0]["SequenceNumber"],
           f"{sid}: an iterator can be used twice")

        recs, _ = read_all(latest_it[sid], f"{sid} LATEST")
        same(recs, [t for t in expected if t[3] == "B"],
             f"{sid} LATEST taken before phase B sees exactly phase B")

        k = len(expected) // 2
        kseq = expected[k][0]
        recs, _ = read_all(kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                                  ShardIteratorType="AT_SEQUENCE_NUMBER",
                                                  StartingSequenceNumber=kseq)["ShardIterator"],
                           f"{sid} AT_SEQUENCE_NUMBER")
        same(recs, expected[k:], f"{sid} AT_SEQUENCE_NUMBER #{k}")
        recs, _ = read_all(kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                                  ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                                  StartingSequenceNumber=kseq)["ShardIterator"],
                           f"{sid} AFTER_SEQUENCE_NUMBER")
        same(recs, expected[k + 1:], f"{sid} AFTER_SEQUENCE_NUMBER #{k}")
        recs, _ = read_all(kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                                  ShardIteratorType="AT_SEQUENCE_NUMBER",
                                                  StartingSequenceNumber=start_seq[sid])
                           ["ShardIterator"], f"{sid} AT_SEQUENCE_NUMBER shard start")
        same(recs, expected, f"{sid} AT_SEQUENCE_NUMBER of the shard's StartingSequenceNumber")

        recs, _ = read_all(kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                                  ShardIteratorType="AT_TIMESTAMP",
                                                  Timestamp=t_a0 - 3600)["ShardIterator"],
                           f"{sid} AT_TIMESTAMP before the stream")
        same(recs, expected, f"{sid} AT_TIMESTAMP an hour before the first record reads all")

    # AT_TIMESTAMP between the phases, at millisecond precision, from the server's own times.
    all_recs = {}
    for sid in shard_ids:
        all_recs[sid], _ = read_all(kin.get_shard_iterator(
            StreamName=name, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"],
            f"{sid} TRIM_HORIZON")
    arr = {r["SequenceNumber"]: r["ApproximateArrivalTimestamp"].timestamp()
           for sid in shard_ids for r in all_recs[sid]}
    phase_of = {t[0]: t[3] for sid in shard_ids for t in put[sid]}
    max_a = max(arr[s] for s, ph in phase_of.items() if ph == "A")
    min_b = min(arr[s] for s, ph in phase_of.items() if ph == "B")
    check(max_a < t_mid <= min_b, f"arrival times: phase A before {t_mid}, phase B at or after it "
          f"(last A {max_a:.3f}, first B {min_b:.3f}; the server's clock is the client's)")
    for sid in shard_ids:
        expected = sorted(put[sid], key=lambda t: int(t[0]))
        recs, _ = read_all(kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                                  ShardIteratorType="AT_TIMESTAMP",
                                                  Timestamp=t_mid)["ShardIterator"],
                           f"{sid} AT_TIMESTAMP")
        same(recs, [t for t in expected if t[3] == "B"],
             f"{sid} AT_TIMESTAMP between phases ({t_mid}) reads exactly phase B")

    # ---- 8. Iterators at the tip: they see exactly what is put afterwards (phase C).
    section("8. Iterators at the tip")
    t_tip = int(max(arr.values())) + 1  # after every record, and not in the future:
    sleep_until(t_tip + 0.25)           # (kinesalite rejects future timestamps)
    tips = {}
    for sid in shard_ids:
        expected = sorted(put[sid], key=lambda t: int(t[0]))
        tips[(sid, "AFTER_SEQUENCE_NUMBER last")] = kin.get_shard_iterator(
            StreamName=name, ShardId=sid, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            StartingSequenceNumber=expected[-1][0])["ShardIterator"]
        tips[(sid, "LATEST")] = kin.get_shard_iterator(
            StreamName=name, ShardId=sid, ShardIteratorType="LATEST")["ShardIterator"]
        try:
            tips[(sid, "AT_TIMESTAMP after the newest record")] = quick.get_shard_iterator(
                StreamName=name, ShardId=sid, ShardIteratorType="AT_TIMESTAMP",
                Timestamp=t_tip)["ShardIterator"]
            check(True, f"{sid}: GetShardIterator AT_TIMESTAMP later than every record answers",
                  deviation="kinesalite-at-timestamp-tip-hangs")
        except (ClientError, botocore.exceptions.BotoCoreError) as e:
            check(False, f"{sid}: GetShardIterator AT_TIMESTAMP later than every record: {e}",
                  deviation="kinesalite-at-timestamp-tip-hangs")
    for (sid, what), it in tips.items():
        r = kin.get_records(ShardIterator=it)
        check(r["Records"] == [] and r.get("MillisBehindLatest") == 0,
              f"{sid} {what}: no records yet, caught up")
    for i in range(6):
        pk = f"late-{i}"
        data = f"C{i}".encode()
        r = kin.put_record(StreamName=name, Data=data, PartitionKey=pk)
        record_put(r, pk, data, "C", shard_for(hash_key(pk)))
    for (sid, what), it in tips.items():
        recs, _ = read_all(it, f"{sid} {what}")
        same(recs, [t for t in put[sid] if t[3] == "C"], f"{sid} {what}: sees exactly phase C")
    for sid in shard_ids:
        recs, _ = read_all(kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"],
                           f"{sid} TRIM_HORIZON final")
        same(recs, sorted(put[sid], key=lambda t: int(t[0])),
             f"{sid} final TRIM_HORIZON: everything put, exactly once (nothing from failed calls)")

    # ---- 9. Iterator errors.
    section("9. Iterator errors")
    good_it = kin.get_shard_iterator(StreamName=name, ShardId=shard_ids[0],
                                     ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    expect_error("InvalidArgumentException", "GetRecords with a malformed iterator",
                 kin.get_records, ShardIterator="not-a-shard-iterator")
    expect_error("InvalidArgumentException", "GetRecords with a truncated iterator",
                 kin.get_records, ShardIterator=good_it[: len(good_it) // 2])
    expect_error("InvalidArgumentException", "GetShardIterator TRIM_HORIZON with a sequence number",
                 kin.get_shard_iterator, StreamName=name, ShardId=shard_ids[0],
                 ShardIteratorType="TRIM_HORIZON", StartingSequenceNumber=put[shard_ids[0]][0][0])
    expect_error("InvalidArgumentException", "GetShardIterator AT_SEQUENCE_NUMBER without one",
                 kin.get_shard_iterator, StreamName=name, ShardId=shard_ids[0],
                 ShardIteratorType="AT_SEQUENCE_NUMBER")
    expect_error("InvalidArgumentException", "GetShardIterator with another shard's sequence number",
                 kin.get_shard_iterator, StreamName=name, ShardId=shard_ids[1],
                 ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=put[shard_ids[0]][0][0])
    expect_error("ResourceNotFoundException", "GetShardIterator on a shard that does not exist",
                 kin.get_shard_iterator, StreamName=name, ShardId="shardId-000000000007",
                 ShardIteratorType="TRIM_HORIZON")
    expect_error("ValidationException", "GetShardIterator with an unknown iterator type",
                 kin.get_shard_iterator, StreamName=name, ShardId=shard_ids[0],
                 ShardIteratorType="SOMETIMES")

    # ---- 10. Tags through the stream operations (AddTagsToStream, ListTagsForStream,
    # RemoveTagsFromStream), on a stream of their own.
    section("10. Tags")
    tname = name + "-tags"
    first = {"team": "data", "env": "test"}
    if has_op(kin, "CreateStream", "Tags"):
        kin.create_stream(StreamName=tname, ShardCount=1, Tags=first)
        wait_active(kin, tname)
        lt = kin.list_tags_for_stream(StreamName=tname)
        if not eq((lt.get("Tags"), lt.get("HasMoreTags")), (tag_list(first), False),
                  "CreateStream with Tags: ListTagsForStream lists them, sorted by key",
                  deviation="kinesalite-create-stream-tags-ignored"):
            kin.add_tags_to_stream(StreamName=tname, Tags=first)
    else:
        skip("CreateStream with Tags", "the model has no CreateStream Tags; AddTagsToStream instead")
        kin.create_stream(StreamName=tname, ShardCount=1)
        wait_active(kin, tname)
        kin.add_tags_to_stream(StreamName=tname, Tags=first)
    tags = dict(first)
    lt = kin.list_tags_for_stream(StreamName=tname)
    eq((lt.get("Tags"), lt.get("HasMoreTags")), (tag_list(tags), False),
       "ListTagsForStream: the first tags, sorted by key, HasMoreTags false")

    # New keys, an overwritten value, an empty value, letters beyond ASCII; "Zeta" sorts first
    # (bytewise: upper case before lower case).
    more = {"team": "platform", "cost-center": "42", "empty": "", "größe": "groß",
            "Zeta": "upper case sorts first"}
    kin.add_tags_to_stream(StreamName=tname, Tags=more)
    tags.update(more)
    lt = kin.list_tags_for_stream(StreamName=tname)
    eq(lt.get("Tags"), tag_list(tags),
       "AddTagsToStream adds new keys and overwrites the value of a key it has (team)")
    punct = {"a b_c.d/e=f+g-h@i": "x y_z./=+-@ 1"}
    kin.add_tags_to_stream(StreamName=tname, Tags=punct)
    tags.update(punct)
    eq(kin.list_tags_for_stream(StreamName=tname).get("Tags"), tag_list(tags),
       "tags with white space and _ . / = + - @ in key and value are accepted")
    colon = {"owner:team": "a:b"}
    if attempt("a tag with ':' in key and value is accepted", kin.add_tags_to_stream,
               deviation="kinesalite-tag-colon", StreamName=tname, Tags=colon) is not None:
        tags.update(colon)
    eq(kin.list_tags_for_stream(StreamName=tname).get("Tags"), tag_list(tags),
       "ListTagsForStream after the additions")

    # Paging: Limit 2, continuing after the last key of each page.
    pages, start = [], None
    for _ in range(20):
        args = {"StreamName": tname, "Limit": 2}
        if start:
            args["ExclusiveStartTagKey"] = start
        lt = kin.list_tags_for_stream(**args)
        pages.append((lt["Tags"], lt["HasMoreTags"]))
        if not lt["HasMoreTags"] or not lt["Tags"]:
            break
        start = lt["Tags"][-1]["Key"]
    want = tag_list(tags)
    eq([t for page, _ in pages for t in page], want,
       f"ListTagsForStream Limit=2 pages with ExclusiveStartTagKey list every tag once, in order "
       f"({len(pages)} pages)")
    check(all(len(page) == 2 and more for page, more in pages[:-1]) and len(pages[-1][0]) <= 2
          and pages[-1][1] is False,
          "every page but the last is full with HasMoreTags true; the last has HasMoreTags false")
    # An ExclusiveStartTagKey that is no tag's key: the listing starts after where it would be.
    lt = kin.list_tags_for_stream(StreamName=tname, ExclusiveStartTagKey="f")
    eq(lt.get("Tags"), [t for t in want if t["Key"].encode() > b"f"],
       "ListTagsForStream ExclusiveStartTagKey 'f' (no such key) starts at the next key")

    kin.remove_tags_from_stream(StreamName=tname, TagKeys=["empty", "no-such-key"])
    del tags["empty"]
    eq(kin.list_tags_for_stream(StreamName=tname).get("Tags"), tag_list(tags),
       "RemoveTagsFromStream removes a key, and a key the stream lacks is no error")

    # Errors; none of them changes the tags.
    expect_error("InvalidArgumentException", "AddTagsToStream with a key starting 'aws:'",
                 kin.add_tags_to_stream, StreamName=tname, Tags={"aws:owner": "x"})
    expect_error("InvalidArgumentException", "AddTagsToStream with '!' in a key",
                 kin.add_tags_to_stream, StreamName=tname, Tags={"bad!key": "x"})
    expect_error("InvalidArgumentException", "AddTagsToStream with '#' in a value",
                 kin.add_tags_to_stream, StreamName=tname, Tags={"fine": "bad#value"})
    expect_error("ValidationException", "AddTagsToStream with a key of 129 characters",
                 kin.add_tags_to_stream, StreamName=tname, Tags={"k" * 129: "x"})
    expect_error("ValidationException", "AddTagsToStream with a value of 257 characters",
                 kin.add_tags_to_stream, StreamName=tname, Tags={"fine": "v" * 257})
    expect_error("ValidationException", "AddTagsToStream with no tags",
                 raw.add_tags_to_stream, StreamName=tname, Tags={})
    expect_error("ValidationException", "RemoveTagsFromStream with no keys",
                 raw.remove_tags_from_stream, StreamName=tname, TagKeys=[])
    expect_error("ValidationException", "ListTagsForStream with Limit 0",
                 raw.list_tags_for_stream, StreamName=tname, Limit=0)
    expect_error("ValidationException", "ListTagsForStream with Limit 51",
                 kin.list_tags_for_stream, StreamName=tname, Limit=51)
    expect_error("ResourceNotFoundException", "AddTagsToStream on a missing stream",
                 kin.add_tags_to_stream, StreamName=missing, Tags={"a": "b"})
    expect_error("ResourceNotFoundException", "ListTagsForStream of a missing stream",
                 kin.list_tags_for_stream, StreamName=missing)
    expect_error("ResourceNotFoundException", "RemoveTagsFromStream on a missing stream",
                 kin.remove_tags_from_stream, StreamName=missing, TagKeys=["a"])
    eq(kin.list_tags_for_stream(StreamName=tname).get("Tags"), tag_list(tags),
       "the refused calls changed no tag")

    # At most 50 tags per stream (added 10 per call: kinesalite takes no more in one call).
    filler = {f"k{i:02d}": str(i) for i in range(50 - len(tags))}
    items = sorted(filler.items())
    for i in range(0, len(items), 10):
        kin.add_tags_to_stream(StreamName=tname, Tags=dict(items[i:i + 10]))
    tags.update(filler)
    lt = kin.list_tags_for_stream(StreamName=tname)
    eq((lt.get("Tags"), lt.get("HasMoreTags")), (tag_list(tags), False),
       "50 tags: ListTagsForStream without Limit lists all 50 (the default Limit is 50)")
    try:
        lt = kin.list_tags_for_stream(StreamName=tname, Limit=50)
        got = (len(lt.get("Tags", [])), lt.get("HasMoreTags"))
    except ClientError as e:
        got = e.response.get("Error", {}).get("Code")
    eq(got, (50, False), "ListTagsForStream Limit=50 lists all 50",
       deviation="kinesalite-tags-limit-10")
    lt = kin.list_tags_for_stream(StreamName=tname, Limit=10)
    eq((lt["Tags"], lt["HasMoreTags"]), (tag_list(tags)[:10], True),
       "ListTagsForStream Limit=10 of 50: the first 10, HasMoreTags true")
    kin.add_tags_to_stream(StreamName=tname, Tags={"team": "at-the-limit"})
    tags["team"] = "at-the-limit"
    check(True, "at 50 tags, overwriting the value of a key the stream has is accepted")
    expect_error("InvalidArgumentException", "AddTagsToStream of a 51st tag",
                 kin.add_tags_to_stream, StreamName=tname, Tags={"one-too-many": "x"})
    expect_error("InvalidArgumentException", "AddTagsToStream of an overwrite and a 51st tag",
                 kin.add_tags_to_stream, StreamName=tname,
                 Tags={"team": "not-stored", "one-too-many": "x"})
    eq(kin.list_tags_for_stream(StreamName=tname).get("Tags"), tag_list(tags),
       "the 51st tag was not added, nor anything else of the refused calls")
    keys = sorted(tags)
    for i in range(0, len(keys), 10):
        kin.remove_tags_from_stream(StreamName=tname, TagKeys=keys[i:i + 10])
    lt = kin.list_tags_for_stream(StreamName=tname)
    eq((lt.get("Tags"), lt.get("HasMoreTags")), ([], False),
       "after removing every key: no tags, HasMoreTags false")
    tags = {}

    # ---- 11. Streams named by StreamARN, and the *Resource tag operations.
    section("11. Streams named by StreamARN; TagResource, UntagResource, ListTagsForResource")
    tarn = kin.describe_stream_summary(StreamName=tname)["StreamDescriptionSummary"]["StreamARN"]
    region, account = tarn.split(":")[3], tarn.split(":")[4]
    arn_of = (lambda stream, region=region, account=account:
              f"arn:aws:kinesis:{region}:{account}:stream/{stream}")
    arn_ok = False
    if not has_op(kin, "PutRecord", "StreamARN"):
        skip("StreamARN addressing", "the model has no StreamARN members")
    else:
        r = attempt("PutRecord by StreamARN alone", kin.put_record,
                    deviation="kinesalite-no-stream-arn", StreamARN=tarn, Data=b"by-arn",
                    PartitionKey="k")
        if r is not None:
            arn_ok = True
            eq(r.get("ShardId"), "shardId-000000000000", "PutRecord by StreamARN: the stream's shard")
            it = kin.get_shard_iterator(StreamARN=tarn, ShardId="shardId-000000000000",
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            recs = kin.get_records(ShardIterator=it)["Records"]
            eq([(x["SequenceNumber"], bytes(x["Data"])) for x in recs],
               [(r["SequenceNumber"], b"by-arn")],
               "GetShardIterator by StreamARN reads back the record put by StreamARN")
            s = kin.describe_stream_summary(StreamARN=tarn, StreamName=tname)
            eq(s["StreamDescriptionSummary"]["StreamName"], tname,
               "DescribeStreamSummary with StreamARN and StreamName that agree")
            kin.add_tags_to_stream(StreamARN=tarn, Tags={"by": "arn"})
            lt = kin.list_tags_for_stream(StreamARN=tarn)
            eq(lt.get("Tags"), [{"Key": "by", "Value": "arn"}],
               "AddTagsToStream and ListTagsForStream by StreamARN")
            kin.remove_tags_from_stream(StreamARN=tarn, TagKeys=["by"])
            eq(kin.list_tags_for_stream(StreamName=tname).get("Tags"), [],
               "RemoveTagsFromStream by StreamARN")
            expect_error("InvalidArgumentException", "PutRecord with StreamARN and StreamName of "
                         "different streams", kin.put_record, StreamARN=tarn, StreamName=name,
                         Data=b"x", PartitionKey="k")
            expect_error("ResourceNotFoundException", "DescribeStreamSummary by the ARN of another "
                         "region", kin.describe_stream_summary,
                         StreamARN=arn_of(tname, region="eu-west-1"))
            expect_error("ResourceNotFoundException", "DescribeStreamSummary by the ARN of another "
                         "account", kin.describe_stream_summary,
                         StreamARN=arn_of(tname, account="123456789012"))
            expect_error("ResourceNotFoundException", "DescribeStreamSummary by the ARN of a "
                         "missing stream", kin.describe_stream_summary, StreamARN=arn_of(missing))
            expect_error("ValidationException", "DescribeStreamSummary by a malformed StreamARN",
                         kin.describe_stream_summary, StreamARN="not-an-arn")
    if not has_op(kin, "TagResource"):
        skip("TagResource, UntagResource, ListTagsForResource", "the model lacks them")
    elif attempt("TagResource by the stream's ARN", kin.tag_resource,
                 deviation="kinesalite-no-newer-operations", ResourceARN=tarn,
                 Tags={"via": "tag-resource", "env": "test"}) is not None:
        tags = {"via": "tag-resource", "env": "test"}
        eq(kin.list_tags_for_stream(StreamName=tname).get("Tags"), tag_list(tags),
           "ListTagsForStream sees the tags TagResource added")
        lr = kin.list_tags_for_resource(ResourceARN=tarn)
        eq(lr.get("Tags"), tag_list(tags), "ListTagsForResource by the stream's ARN")
        check("HasMoreTags" not in lr, "ListTagsForResource has no HasMoreTags")
        kin.untag_resource(ResourceARN=tarn, TagKeys=["via", "no-such-key"])
        del tags["via"]
        eq(kin.list_tags_for_resource(ResourceARN=tarn).get("Tags"), tag_list(tags),
           "UntagResource removes a key; a key the stream lacks is no error")
        expect_error("InvalidArgumentException", "TagResource with a key starting 'aws:'",
                     kin.tag_resource, ResourceARN=tarn, Tags={"aws:x": "y"})
        consumer = f"{tarn}/consumer/c1:1700000000"
        expect_error("ResourceNotFoundException", "ListTagsForResource of a consumer's ARN",
                     kin.list_tags_for_resource, ResourceARN=consumer)
        expect_error("ResourceNotFoundException", "TagResource by the ARN of another region",
                     kin.tag_resource, ResourceARN=arn_of(tname, region="eu-west-1"),
                     Tags={"a": "b"})
        expect_error("ResourceNotFoundException", "UntagResource by the ARN of another account",
                     kin.untag_resource, ResourceARN=arn_of(tname, account="123456789012"),
                     TagKeys=["env"])
        expect_error("ResourceNotFoundException", "ListTagsForResource of a missing stream",
                     kin.list_tags_for_resource, ResourceARN=arn_of(missing))
        expect_error("ValidationException", "ListTagsForResource of a malformed ARN",
                     kin.list_tags_for_resource, ResourceARN="not-an-arn")

    # ---- 12. What sluice answers without acting on it: resource policies, account settings,
    # record size, warm throughput (an ON_DEMAND stream).
    section("12. Resource policies, account settings, record size, warm throughput")
    odname = name + "-od"
    stubs = ["GetResourcePolicy", "PutResourcePolicy", "DeleteResourcePolicy",
             "DescribeAccountSettings", "UpdateAccountSettings", "UpdateMaxRecordSize",
             "UpdateStreamWarmThroughput"]
    lacking = [op for op in stubs if not has_op(kin, op)] + \
        [f"CreateStream {m}" for m in ("Tags", "MaxRecordSizeInKiB")
         if not has_op(kin, "CreateStream", m)]
    made_od = False
    if lacking:
        skip("section 12", f"the model lacks {', '.join(lacking)}")
    elif (a := attempt("DescribeAccountSettings answers", kin.describe_account_settings,
                       deviation="kinesalite-no-newer-operations")) is not None:
        eq(a.get("MinimumThroughputBillingCommitment", {}).get("Status"), "DISABLED",
           "DescribeAccountSettings: MinimumThroughputBillingCommitment DISABLED")
        u = kin.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
        eq(u.get("MinimumThroughputBillingCommitment", {}).get("Status"), "DISABLED",
           "UpdateAccountSettings DISABLED answers DISABLED")
        expect_error("InvalidArgumentException", "UpdateAccountSettings ENABLED",
                     kin.update_account_settings,
                     MinimumThroughputBillingCommitment={"Status": "ENABLED"})

        eq(kin.get_resource_policy(ResourceARN=tarn).get("Policy"), "{}",
           "GetResourcePolicy: the empty policy")
        policy = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
                  '{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kinesis:GetRecords",'
                  f'"Resource":"{tarn}"}}]}}')
        expect_error("InvalidArgumentException", "PutResourcePolicy (sluice enforces none)",
                     kin.put_resource_policy, ResourceARN=tarn, Policy=policy)
        eq(kin.get_resource_policy(ResourceARN=tarn).get("Policy"), "{}",
           "GetResourcePolicy after the refused put: still the empty policy")
        kin.delete_resource_policy(ResourceARN=tarn)
        check(True, "DeleteResourcePolicy succeeds")
        expect_error("ResourceNotFoundException", "GetResourcePolicy of a missing stream",
                     kin.get_resource_policy, ResourceARN=arn_of(missing))

        kin.update_max_record_size(StreamARN=tarn, MaxRecordSizeInKiB=1024)
        check(True, "UpdateMaxRecordSize 1024 succeeds")
        expect_error("InvalidArgumentException", "UpdateMaxRecordSize 1025 (sluice takes 1 MiB)",
                     kin.update_max_record_size, StreamARN=tarn, MaxRecordSizeInKiB=1025)
        expect_error("InvalidArgumentException", "UpdateMaxRecordSize 10240",
                     kin.update_max_record_size, StreamARN=tarn, MaxRecordSizeInKiB=10240)
        expect_error("ValidationException", "UpdateMaxRecordSize 10241",
                     kin.update_max_record_size, StreamARN=tarn, MaxRecordSizeInKiB=10241)
        expect_error("ValidationException", "UpdateMaxRecordSize 1023",
                     raw.update_max_record_size, StreamARN=tarn, MaxRecordSizeInKiB=1023)
        expect_error("ResourceNotFoundException", "UpdateMaxRecordSize of a missing stream",
                     kin.update_max_record_size, StreamARN=arn_of(missing),
                     MaxRecordSizeInKiB=1024)
        expect_error("InvalidArgumentException", "CreateStream with MaxRecordSizeInKiB 2048",
                     kin.create_stream, StreamName=odname, ShardCount=1, MaxRecordSizeInKiB=2048)
        expect_error("ValidationException", "CreateStream with MaxRecordSizeInKiB 10241",
                     kin.create_stream, StreamName=odname, ShardCount=1, MaxRecordSizeInKiB=10241)

        s = kin.describe_stream_summary(StreamName=tname)["StreamDescriptionSummary"]
        eq(s.get("MaxRecordSizeInKiB"), 1024, "summary MaxRecordSizeInKiB 1024")
        check("WarmThroughput" not in s, "a PROVISIONED stream's summary has no WarmThroughput")
        expect_error("InvalidArgumentException", "UpdateStreamWarmThroughput of a PROVISIONED stream",
                     kin.update_stream_warm_throughput, StreamName=tname, WarmThroughputMiBps=10)

        kin.create_stream(StreamName=odname, StreamModeDetails={"StreamMode": "ON_DEMAND"},
                          MaxRecordSizeInKiB=1024, Tags={"mode": "on-demand"})
        made_od = True
        wait_active(kin, odname)
        s = kin.describe_stream_summary(StreamName=odname)["StreamDescriptionSummary"]
        eq((s.get("StreamModeDetails"), s.get("MaxRecordSizeInKiB")),
           ({"StreamMode": "ON_DEMAND"}, 1024),
           "CreateStream ON_DEMAND with MaxRecordSizeInKiB 1024: summary mode and record size")
        eq(kin.list_tags_for_stream(StreamName=odname).get("Tags"),
           [{"Key": "mode", "Value": "on-demand"}], "the ON_DEMAND stream has its CreateStream Tags")
        open_shards = s.get("OpenShardCount")
        check(isinstance(open_shards, int) and open_shards >= 1,
              f"the ON_DEMAND stream has open shards ({open_shards})")
        eq((s.get("WarmThroughput") or {}).get("CurrentMiBps"), open_shards,
           "an ON_DEMAND stream's summary has WarmThroughput, CurrentMiBps = its open shards")
        check("TargetMiBps" not in (s.get("WarmThroughput") or {}),
              "no TargetMiBps in the summary before a target is set")
        w = kin.update_stream_warm_throughput(StreamName=odname, WarmThroughputMiBps=10)
        eq((w.get("StreamName"), w.get("StreamARN"), w.get("WarmThroughput")),
           (odname, arn_of(odname), {"TargetMiBps": 10, "CurrentMiBps": open_shards}),
           "UpdateStreamWarmThroughput 10: name, ARN, target 10, current = open shards")
        s = kin.describe_stream_summary(StreamName=odname)["StreamDescriptionSummary"]
        eq(s.get("WarmThroughput"), {"TargetMiBps": 10, "CurrentMiBps": open_shards},
           "the summary shows the new warm throughput target")
        expect_error("ResourceNotFoundException", "UpdateStreamWarmThroughput of a missing stream",
                     kin.update_stream_warm_throughput, StreamName=missing, WarmThroughputMiBps=10)
        kin.delete_stream(StreamName=odname)

    # ---- 13. Delete and wait with the stream_not_exists waiter.
    section("13. Delete and wait with the stream_not_exists waiter")
    kin.delete_stream(StreamName=name)
    if arn_ok:
        kin.delete_stream(StreamARN=tarn)
        check(True, "DeleteStream by StreamARN")
    else:
        kin.delete_stream(StreamName=tname)
    for stream in (name, tname) + ((odname,) if made_od else ()):
        kin.get_waiter("stream_not_exists").wait(StreamName=stream,
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        check(True, f"stream_not_exists waiter saw {stream} gone")
    expect_error("ResourceNotFoundException", "DescribeStreamSummary after DeleteStream",
                 kin.describe_stream_summary, StreamName=name)
    expect_error("ResourceNotFoundException", "ListTagsForStream after DeleteStream",
                 kin.list_tags_for_stream, StreamName=tname)


if __name__ == "__main__":
    sys.exit(main())
