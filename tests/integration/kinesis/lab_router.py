#!/usr/bin/env python3
"""Lab router: reads order events from one stream, transforms each and routes it to one of
two other streams by a field.

Written the way course labs write a stream-processing step with boto3: poll every shard of
the source stream from TRIM_HORIZON; for each order compute the total, tag the route and
where it came from; put it with put_record, keyed by the same session id, into the
--express stream when the order's "express" field is true, else into the --standard stream.
Stops once a few polling rounds in a row found the source caught up (fails after
--max-seconds).

    lab_router.py --source NAME --express NAME --standard NAME [--endpoint URL]
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


def transform(order, shard_id, seq):
    """The enriched event (lab_check.py computes the same thing to check the router)."""
    out = dict(order)
    out["total_cents"] = order["quantity"] * order["unit_price_cents"]
    out["route"] = "express" if order["express"] else "standard"
    out["source"] = {"shard": shard_id, "seq": seq}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default=os.environ.get("KINESIS_ENDPOINT"))
    ap.add_argument("--source", required=True)
    ap.add_argument("--express", required=True)
    ap.add_argument("--standard", required=True)
    ap.add_argument("--poll-interval", type=float, default=0.2)
    ap.add_argument("--idle-rounds", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()
    if not args.endpoint:
        ap.error("no endpoint: give --endpoint or set KINESIS_ENDPOINT")

    kinesis = boto3.client("kinesis", endpoint_url=args.endpoint, region_name="us-east-1")
    shards = kinesis.list_shards(StreamName=args.source)["Shards"]
    iterators = {
        s["ShardId"]: kinesis.get_shard_iterator(StreamName=args.source, ShardId=s["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for s in shards
    }

    routed = {args.express: 0, args.standard: 0}
    deadline = time.time() + args.max_seconds
    idle = 0
    while idle < args.idle_rounds:
        if time.time() > deadline:
            print(f"router: source still not caught up after {args.max_seconds} s", file=sys.stderr)
            return 1
        busy = False
        for shard_id, it in iterators.items():
            if it is None:
                continue
            resp = kinesis.get_records(ShardIterator=it, Limit=100)
            for rec in resp["Records"]:
                order = json.loads(rec["Data"])
                event = transform(order, shard_id, rec["SequenceNumber"])
                target = args.express if order["express"] else args.standard
                kinesis.put_record(StreamName=target, Data=json.dumps(event).encode("utf-8"),
                                   PartitionKey=order["session_id"])
                routed[target] += 1
            iterators[shard_id] = resp.get("NextShardIterator")
            if resp["Records"] or resp.get("MillisBehindLatest", 0) > 0:
                busy = True
        idle = 0 if busy else idle + 1
        time.sleep(args.poll_interval)

    print(f"router: routed {routed[args.express]} orders to {args.express}, "
          f"{routed[args.standard]} to {args.standard}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
