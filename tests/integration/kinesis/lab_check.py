#!/usr/bin/env python3
"""Checks for lab_pipeline.sh: what the lab consumer and router read back is exactly what was
put, each record exactly once, in order.

    lab_check.py consumed MANIFEST ORDERS.jsonl
    lab_check.py routed ORDERS.jsonl EXPRESS.jsonl STANDARD.jsonl

MANIFEST is lab_producer.py's record of what it put (with the shard and sequence number each
put returned); the .jsonl files are lab_consumer.py's reads of a stream. Exits 0 when every
check holds, 1 at the first that does not.
"""

import json
import sys
from collections import Counter, defaultdict


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)
    print(f"[lab] ok: {what}")


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def parse(r, what):
    try:
        return json.loads(r["data"])
    except ValueError as e:
        raise CheckFailed(f"{what}: record {r['shard']} {r['seq']} is not the JSON put "
                          f"({e}): {r['data'][:120]!r}")


def ordered_per_shard(reads, what):
    last = {}
    for r in reads:
        seq = int(r["seq"])
        if r["shard"] in last and seq <= last[r["shard"]]:
            raise CheckFailed(f"{what}: {r['shard']} gave {r['seq']} after a greater or equal "
                              f"sequence number")
        last[r["shard"]] = seq
    check(True, f"{what}: sequence numbers strictly increase in read order on every shard")


def no_duplicates(keys, what, verb="read"):
    dup = [k for k, n in Counter(keys).items() if n > 1]
    check(not dup, f"{what}: nothing {verb} twice" + (f" ({verb} twice: {dup[:5]})" if dup else ""))


def consumed(manifest_path, reads_path):
    put = load(manifest_path)
    reads = load(reads_path)
    no_duplicates([p["order_id"] for p in put], "producer manifest", "put")
    no_duplicates([(r["shard"], r["seq"]) for r in reads], "orders stream")
    ordered_per_shard(reads, "orders stream")
    by_id = {}
    for r in reads:
        oid = parse(r, "orders stream")["order_id"]
        if oid in by_id:
            raise CheckFailed(f"orders stream: order {oid} read twice (as {by_id[oid]['seq']} "
                              f"and {r['seq']})")
        by_id[oid] = r
    missing = [p["order_id"] for p in put if p["order_id"] not in by_id]
    extra = sorted(set(by_id) - {p["order_id"] for p in put})
    check(not missing and not extra, f"orders stream: the {len(put)} orders put are the "
          f"{len(reads)} read" + (f" (missing {missing[:5]}, extra {extra[:5]})"
                                  if missing or extra else ""))
    for p in put:
        r = by_id[p["order_id"]]
        if (r["data"], r["pk"], r["shard"], r["seq"]) != (p["data"], p["session_id"], p["shard"],
                                                          p["seq"]):
            raise CheckFailed(f"order {p['order_id']}: read {r}, put {p}")
    check(True, "orders stream: every record's data, partition key, shard and sequence number "
          "are the ones put")
    # Records put one by one with put_record keep their order per session (same key, same
    # shard). (put_records does not promise order inside one call, so only part 1 counts.)
    pos = {(r["shard"], r["seq"]): i for i, r in enumerate(reads)}
    sessions = defaultdict(list)
    for p in put:
        if p["how"] == "put_record":
            sessions[p["session_id"]].append(pos[(p["shard"], p["seq"])])
    check(all(v == sorted(v) for v in sessions.values()),
          f"orders stream: put_record order kept within each of {len(sessions)} sessions")


def expected_event(order, shard, seq):
    """The router's transformation, written out independently of lab_router.py."""
    event = dict(order)
    event["total_cents"] = order["quantity"] * order["unit_price_cents"]
    event["route"] = "express" if order["express"] else "standard"
    event["source"] = {"shard": shard, "seq": seq}
    return event


def routed(orders_path, express_path, standard_path):
    orders = load(orders_path)
    outs = {"express": load(express_path), "standard": load(standard_path)}
    source = {(r["shard"], r["seq"]): r for r in orders}
    seen = Counter()
    for route, reads in outs.items():
        no_duplicates([(r["shard"], r["seq"]) for r in reads], f"{route} stream")
        ordered_per_shard(reads, f"{route} stream")
        for r in reads:
            event = parse(r, f"{route} stream")
            key = (event["source"]["shard"], event["source"]["seq"])
            if key not in source:
                raise CheckFailed(f"{route} stream: event from unknown source record {key}")
            seen[key] += 1
            order = parse(source[key], "orders stream")
            if event != expected_event(order, *key):
                raise CheckFailed(f"{route} stream: event {event} is not the transformation of "
                                  f"{order}")
            if event["route"] != route:
                raise CheckFailed(f"order {order['order_id']} (express={order['express']}) was "
                                  f"routed to the {route} stream")
            if r["pk"] != order["session_id"]:
                raise CheckFailed(f"{route} stream: partition key {r['pk']!r} for session "
                                  f"{order['session_id']!r}")
    twice = [k for k, n in seen.items() if n > 1]
    never = [k for k in source if k not in seen]
    check(not twice and not never, f"router: each of the {len(orders)} orders routed exactly once "
          f"({len(outs['express'])} express, {len(outs['standard'])} standard)"
          + (f" (twice: {twice[:3]}, never: {never[:3]})" if twice or never else ""))
    check(True, "router: every event is the expected transformation, in the stream its "
          "'express' field selects, keyed by its session")
    # Per session, each output stream keeps the source order.
    for route, reads in outs.items():
        want, got = defaultdict(list), defaultdict(list)
        for r in orders:
            o = json.loads(r["data"])
            if (o["express"] and route == "express") or (not o["express"] and route == "standard"):
                want[o["session_id"]].append(o["order_id"])
        for r in reads:
            o = json.loads(r["data"])
            got[o["session_id"]].append(o["order_id"])
        bad = [s for s in want if want[s] != got.get(s)]
        check(not bad, f"{route} stream: each session's orders in source order"
              + (f" (not for {bad[:3]})" if bad else ""))


def main():
    try:
        if len(sys.argv) == 4 and sys.argv[1] == "consumed":
            consumed(sys.argv[2], sys.argv[3])
        elif len(sys.argv) == 5 and sys.argv[1] == "routed":
            routed(sys.argv[2], sys.argv[3], sys.argv[4])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except CheckFailed as e:
        print(f"[lab] FAILED: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
