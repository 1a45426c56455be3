#!/usr/bin/env python3
"""Lab producer: sends JSON order events to a Kinesis stream, keyed by session id.

Written the way course labs write producers with boto3: a plain client, put_record in a loop
for the first half of the orders, then put_records in batches with a resend of the entries a
batch reports as failed. Each record put is appended to a manifest (JSON lines: order id,
session, the exact data sent, and the shard and sequence number Kinesis answered), which
lab_check.py compares with what the consumer reads back.

    lab_producer.py --stream NAME --manifest FILE [--endpoint URL] [--orders N] [--sessions N]
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timezone

os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDSLUICELAB")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "sluice-lab-dummy-secret")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402

ITEMS = ["espresso", "latte", "cold brew", "croissant", "bagel", "muffin", "tea", "smoothie"]
CHANNELS = ["web", "mobile", "kiosk"]


def make_order(rng, run, i, sessions):
    qty = rng.randint(1, 5)
    price = rng.choice([250, 325, 450, 199, 575])  # cents
    return {
        "order_id": f"{run}-{i:05d}",
        "session_id": f"session-{rng.randrange(sessions):03d}",
        "event_time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "item": rng.choice(ITEMS),
        "quantity": qty,
        "unit_price_cents": price,
        "channel": rng.choice(CHANNELS),
        "express": rng.random() < 0.35,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default=os.environ.get("KINESIS_ENDPOINT"))
    ap.add_argument("--stream", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--orders", type=int, default=200)
    ap.add_argument("--sessions", type=int, default=12)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    if not args.endpoint:
        ap.error("no endpoint: give --endpoint or set KINESIS_ENDPOINT")

    kinesis = boto3.client("kinesis", endpoint_url=args.endpoint, region_name="us-east-1")
    rng = random.Random(args.seed)
    run = f"{rng.randrange(16**6):06x}"
    orders = [make_order(rng, run, i, args.sessions) for i in range(args.orders)]

    with open(args.manifest, "w") as manifest:
        def note(order, data, resp, how):
            manifest.write(json.dumps({
                "order_id": order["order_id"], "session_id": order["session_id"],
                "data": data, "shard": resp["ShardId"], "seq": resp["SequenceNumber"],
                "how": how}) + "\n")

        # Part 1: one put_record per order.
        half = len(orders) // 2
        for order in orders[:half]:
            data = json.dumps(order)
            resp = kinesis.put_record(StreamName=args.stream, Data=data.encode("utf-8"),
                                      PartitionKey=order["session_id"])
            note(order, data, resp, "put_record")

        # Part 2: put_records batches; entries that fail are sent again (bounded).
        rest = orders[half:]
        for start in range(0, len(rest), args.batch):
            pending = [(o, json.dumps(o)) for o in rest[start:start + args.batch]]
            for attempt in range(5):
                resp = kinesis.put_records(StreamName=args.stream, Records=[
                    {"Data": d.encode("utf-8"), "PartitionKey": o["session_id"]} for o, d in pending])
                failed = []
                for (o, d), r in zip(pending, resp["Records"]):
                    if "ErrorCode" in r:
                        failed.append((o, d))
                    else:
                        note(o, d, r, "put_records")
                if not failed:
                    break
                print(f"producer: {len(failed)} entries failed ({resp['FailedRecordCount']}), "
                      f"retrying", file=sys.stderr)
                pending = failed
                time.sleep(0.2 * (attempt + 1))
            else:
                print(f"producer: {len(pending)} entries still failing after 5 attempts",
                      file=sys.stderr)
                return 1

    print(f"producer: put {len(orders)} orders ({half} with put_record, {len(orders) - half} "
          f"with put_records) for {args.sessions} sessions to {args.stream}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
