#!/usr/bin/env python3
"""With authentication on (sluiced --credentials-file), boto3 and hand-signed requests:
correctly signed requests pass; a wrong secret, an unknown key, a stale date, a date from the
future, a tampered body and an unsigned request are refused with Kinesis' error names.

usage: auth_tour.py ENDPOINT ACCESS_KEY_ID SECRET
"""
import datetime
import json
import sys
import urllib.error
import urllib.request
from unittest import mock

import boto3
import botocore
import botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, akid, secret = sys.argv[1], sys.argv[2], sys.argv[3]
REGION = "us-east-1"
failures = 0


def check(ok, what):
    global failures
    print(("[auth] ok: " if ok else "[auth] FAILED: ") + what, flush=True)
    if not ok:
        failures += 1


def client(ak, sk):
    return boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=ak, aws_secret_access_key=sk,
                        config=botocore.config.Config(retries={"max_attempts": 1}))


def error_code(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return None


class TargetUnsignedAuth(auth.SigV4Auth):
    """Signs only host and x-amz-date: a replayed request could then name another operation."""

    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        for name in list(headers.keys()):
            if name.lower() not in ("host", "x-amz-date"):
                del headers[name]
        return headers


def raw(op, body, sign_with=None, when=None, tamper=False, signer_class=auth.SigV4Auth):
    """Sends one request signed (or not) by botocore at `when`; returns (status, __type)."""
    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url=endpoint + "/", data=data, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "Kinesis_20131202." + op,
    })
    if sign_with:
        signer = signer_class(Credentials(*sign_with), "kinesis", REGION)
        with mock.patch.object(auth, "get_current_datetime",
                               return_value=when or datetime.datetime.utcnow()):
            signer.add_auth(req)
    if tamper:
        data = data.replace(b"{}", b'{"Limit": 1}')
    headers = {k: v for k, v in req.headers.items()}
    r = urllib.request.Request(endpoint + "/", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}").get("__type")


good = client(akid, secret)
name = "auth-tour"
good.create_stream(StreamName=name, ShardCount=1)
good.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
put = good.put_record(StreamName=name, Data=b"signed", PartitionKey="k")
check("SequenceNumber" in put, "boto3 with the right key: CreateStream, the waiter and PutRecord pass")

check(error_code(lambda: client(akid, secret + "x").list_streams()) == "InvalidSignatureException",
      "a wrong secret -> InvalidSignatureException")
check(error_code(lambda: client("AKIDNOBODY", secret).list_streams()) == "UnrecognizedClientException",
      "an unknown access key -> UnrecognizedClientException")
unsigned = boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION,
                        config=botocore.config.Config(signature_version=botocore.UNSIGNED,
                                                      retries={"max_attempts": 1}))
check(error_code(lambda: unsigned.list_streams()) == "MissingAuthenticationTokenException",
      "an unsigned request -> MissingAuthenticationTokenException")

now = datetime.datetime.utcnow()
check(raw("ListStreams", {}, (akid, secret), now) == (200, None),
      "a request signed by hand just now passes")
check(raw("ListStreams", {}, (akid, secret), now - datetime.timedelta(minutes=4)) == (200, None),
      "signed 4 minutes ago: within the 5-minute skew, passes")
check(raw("ListStreams", {}, (akid, secret), now - datetime.timedelta(minutes=10))
      == (400, "InvalidSignatureException"), "signed 10 minutes ago -> InvalidSignatureException")
check(raw("ListStreams", {}, (akid, secret), now + datetime.timedelta(minutes=10))
      == (400, "InvalidSignatureException"), "signed 10 minutes ahead -> InvalidSignatureException")
check(raw("ListStreams", {}, (akid, secret), now, tamper=True) == (400, "InvalidSignatureException"),
      "a body changed after signing -> InvalidSignatureException")
check(raw("ListStreams", {}, (akid, secret), now, signer_class=TargetUnsignedAuth)
      == (400, "InvalidSignatureException"),
      "X-Amz-Target and Content-Type left out of SignedHeaders -> InvalidSignatureException")
check(raw("ListStreams", {}) == (400, "MissingAuthenticationTokenException"),
      "no Authorization at all -> MissingAuthenticationTokenException")

records = good.get_records(ShardIterator=good.get_shard_iterator(
    StreamName=name, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
check([r["Data"] for r in records["Records"]] == [b"signed"],
      "only the signed PutRecord was stored")
good.delete_stream(StreamName=name)
print("[auth] PASSED" if failures == 0 else f"[auth] {failures} check(s) FAILED", flush=True)
sys.exit(1 if failures else 0)
