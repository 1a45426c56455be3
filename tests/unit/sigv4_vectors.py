# Signs Kinesis-style requests with botocore and prints them as C data for tests/unit/test_sigv4.c.
import datetime, hashlib, json, sys
from unittest import mock
import botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AKID, SECRET = "AKIASLUICETEST000001", "sLuIcE/Test+Secret/0123456789abcdefghijK"
CREDS = Credentials(AKID, SECRET)
WHEN = datetime.datetime(2024, 3, 15, 12, 34, 56)
URL = "http://127.0.0.1:4567/"
JSON = "application/x-amz-json-1.1"

def target(op): return "Kinesis_20131202." + op

class KeepBodyQueryAuth(auth.SigV4QueryAuth):
    # SigV4QueryAuth moves a JSON body into the query; keep it as the body instead.
    def _modify_request_before_signing(self, request):
        data = request.data
        request.data = b""
        super()._modify_request_before_signing(request)
        request.data = data

class GmtDateAuth(auth.SigV4Auth):
    # botocore writes Date as "..., -0000"; this one writes RFC 7231's "GMT".
    def _set_necessary_date_headers(self, request):
        super()._set_necessary_date_headers(request)
        if "Date" in request.headers:
            v = request.headers["Date"].replace("-0000", "GMT")
            del request.headers["Date"]
            request.headers["Date"] = v

class NoHostAuth(auth.SigV4Auth):
    def headers_to_sign(self, request):
        h = super().headers_to_sign(request)
        del h["host"]
        return h

class OtherScopeDateAuth(auth.SigV4Auth):
    # Signs correctly for the scope date 20240314 while X-Amz-Date says 20240315.
    D = "20240314"
    def credential_scope(self, request):
        return "/".join([self.D, self._region_name, self._service_name, "aws4_request"])
    def scope(self, request):
        return self.credentials.access_key + "/" + self.credential_scope(request)
    def signature(self, string_to_sign, request):
        k = self._sign(("AWS4" + self.credentials.secret_key).encode(), self.D)
        for part in (self._region_name, self._service_name, "aws4_request"):
            k = self._sign(k, part)
        return self._sign(k, string_to_sign, hex=True)

def sign(signer, headers, body, params=None, drop=()):
    req = AWSRequest(method="POST", url=URL, data=body.encode(), params=params or {})
    for k, v in headers:
        req.headers[k] = v  # HTTPHeaders appends: repeats stay repeats
    with mock.patch.object(auth, "get_current_datetime", return_value=WHEN):
        signer.add_auth(req)
    p = req.prepare()
    path, _, query = p.url[len("http://127.0.0.1:4567"):].partition("?")
    out = [("Host", "127.0.0.1:4567")]
    out += [(k, v) for k, v in req.headers.items() if k not in drop]
    return path, query, out, body

def c_str(s):
    r = '"'
    for ch in s:
        if ch in '"\\': r += "\\" + ch
        elif 32 <= ord(ch) < 127: r += ch
        else:
            for b in ch.encode(): r += '\\%03o' % b
    return r + '"'

V = []
def vec(name, comment, signed, extra=()):
    path, query, headers, body = signed
    headers = headers + list(extra)
    V.append((name, comment, path, query, headers, body))

put = json.dumps({"StreamName": "orders", "Data": "aGVsbG8gc2x1aWNl", "PartitionKey": "k1"})
base = [("Content-Type", JSON), ("X-Amz-Target", target("PutRecord"))]
# What a real client adds that botocore does not sign (or that the HTTP layer adds later).
unsigned = [("User-Agent", "Boto3/1.34.0 md/Botocore#1.43.11"), ("Content-Length", str(len(put))),
            ("Accept-Encoding", "identity")]
kin = lambda: auth.SigV4Auth(CREDS, "kinesis", "us-east-1")
vec("put_record", "PutRecord as boto3 sends it", sign(kin(), base, put), unsigned)
vec("mixed_case", "header names in odd case, values with extra and inner whitespace, a repeated header",
    sign(kin(), [("CONTENT-TYPE", "  " + JSON), ("x-AMZ-target", "  " + target("ListStreams") + "  "),
                 ("X-Sluice-Note", "a   b \t c"), ("x-sluice-note", "  d  ")], '{"Limit": 10}'))
vec("query_params", "header auth over a request with query parameters (repeats, unsorted, to encode)",
    sign(kin(), base, put, params=[("b", "2"), ("a", "z"), ("a", "1"), ("c", "x y/\u00fc+*~")]))
vec("content_sha256", "X-Amz-Content-Sha256 signed, equal to the body's hash",
    sign(kin(), base + [("X-Amz-Content-Sha256", hashlib.sha256(put.encode()).hexdigest())], put))
vec("unsigned_payload", "X-Amz-Content-Sha256: UNSIGNED-PAYLOAD, signed as such",
    sign(kin(), base + [("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")], put))
vec("date_gmt", "Date header (RFC 7231, GMT) instead of X-Amz-Date",
    sign(GmtDateAuth(CREDS, "kinesis", "us-east-1"), base + [("Date", "x")], put))
vec("date_botocore", "Date header as botocore writes it (-0000)",
    sign(kin(), base + [("Date", "x")], put))
vec("presigned", "SigV4QueryAuth (X-Amz-Expires=3600), body kept",
    sign(KeepBodyQueryAuth(CREDS, "kinesis", "us-east-1"), base, put))
vec("host_unsigned", "signed correctly but without host in SignedHeaders",
    sign(NoHostAuth(CREDS, "kinesis", "us-east-1"), base, put))
vec("absent_header", "signed over X-Sluice-Absent with an empty value; the request then lacks it",
    sign(kin(), base + [("X-Sluice-Absent", "")], put, drop=("X-Sluice-Absent",)))
vec("scope_date", "signed correctly for scope date 20240314 with X-Amz-Date 20240315T123456Z",
    sign(OtherScopeDateAuth(CREDS, "kinesis", "us-east-1"), base, put))
vec("other_service", "signed correctly for the service dynamodb",
    sign(auth.SigV4Auth(CREDS, "dynamodb", "us-east-1"), base, put))
vec("other_region", "signed for eu-west-1 (any region is accepted)",
    sign(auth.SigV4Auth(CREDS, "kinesis", "eu-west-1"), base, put))

for name, comment, path, query, headers, body in V:
    print("/* %s */" % comment)
    print("static const struct vector v_%s = {" % name)
    print("    .path = %s," % c_str(path))
    print("    .query = %s," % c_str(query))
    print("    .headers = {")
    for k, v in headers:
        print("        {%s, %s}," % (c_str(k), c_str(v)))
    print("    },")
    print("    .n_headers = %d," % len(headers))
    print("    .body = %s," % c_str(body))
    print("};")
    print()
