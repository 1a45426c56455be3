#!/usr/bin/env python3
"""Lab consumer: reads every record of a Kinesis stream from the beginning.

Written the way course labs write polling consumers with boto3: list the shards, take a
TRIM_HORIZON iterator for each, then poll every shard in turn with get_records, sleeping
between rounds. A lab consumer would poll forever; this one stops once a few rounds in a row
found every shard caught up (no records, MillisBehindLatest 0), or fails after --max-seconds.
Each record read is written to --out as a JSON line (shard, sequence number, partition key,
data as text, arrival time).

    lab_consumer.py --stream NAME --out FILE [--endpoint URL]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDSLUICELAB")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "sluice-lab-dummy-secret")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402


def list_shard_ids(kinesis, stream):
    shard_ids, kwargs = [], {"StreamName": stream}
    while True:
        resp = kinesis.list_shards(**kwargs)
        shard_ids += [s["ShardId"] for s in resp["Shards"]]
        if not resp.get("NextToken"):
            return shard_ids
        kwargs = {"NextToken": resp["NextToken"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default=os.environ.get("KINESIS_ENDPOINT"))
    ap.add_argument("--stream", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--poll-interval", type=float, default=0.2)
    ap.add_argument("--idle-rounds", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()
    if not args.endpoint:
        ap.error("no endpoint: give --endpoint or set KINESIS_ENDPOINT")

    kinesis = boto3.client("kinesis", endpoint_url=args.endpoint, region_name="us-east-1")
    shard_ids = list_shard_ids(kinesis, args.stream)
    iterators = {}
    for shard_id in shard_ids:
        resp = kinesis.get_shard_iterator(StreamName=args.stream, ShardId=shard_id,
                                          ShardIteratorType="TRIM_HORIZON")
        iterators[shard_id] = resp["ShardIterator"]

    counts = {shard_id: 0 for shard_id in shard_ids}
    deadline = time.time() + args.max_seconds
    idle = 0
    with open(args.out, "w") as out:
        while idle < args.idle_rounds:
            if time.time() > deadline:
                print(f"consumer: still not caught up after {args.max_seconds} s", file=sys.stderr)
                return 1
            busy = False
            for shard_id, it in iterators.items():
                if it is None:  # a closed shard read to its end
                    continue
                resp = kinesis.get_records(ShardIterator=it, Limit=100)
                for rec in resp["Records"]:
                    out.write(json.dumps({
                        "shard": shard_id,
                        "seq": rec["SequenceNumber"],
                        "pk": rec["PartitionKey"],
                        "data": rec["Data"].decode("utf-8"),
                        "arrival": rec["ApproximateArrivalTimestamp"].timestamp(),
                    }) + "\n")
                counts[shard_id] += len(resp["Records"])
                iterators[shard_id] = resp.get("NextShardIterator")
                if resp["Records"] or resp.get("MillisBehindLatest", 0) > 0:
                    busy = True
            idle = 0 if busy else idle + 1
            time.sleep(args.poll_interval)

    per_shard = ", ".join(f"{s}: {n}" for s, n in counts.items())
    print(f"consumer: read {sum(counts.values())} records from {args.stream} ({per_shard})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
