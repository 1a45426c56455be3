/* sigv4.h — verifies AWS Signature Version 4 on Kinesis HTTP requests; loads the keys it checks.
 *
 * The HTTP front end calls sl_sigv4_verify once per request, after it has read the whole body
 * and before it decodes it, and answers any result but SL_SIGV4_OK with the error
 * sl_sigv4_error_type() names and the message written to `msg`. Nothing here knows an HTTP
 * library: the caller hands over the method, path, raw query string, headers and body as
 * received (pointer and length each, not NUL-terminated; header names in any case, repeats
 * allowed; Host or HTTP/2's :authority either among the headers as "host" or in `host`). Every
 * input is treated as hostile: every read stays within the lengths given, nothing is allocated
 * per request but one OpenSSL digest context, and every list is bounded by the limits below.
 *
 * Two forms are accepted (SigV4 as the AWS SDKs send it, signing name "kinesis", any region):
 *   header:     Authorization: AWS4-HMAC-SHA256 Credential=<akid>/<yyyymmdd>/<region>/kinesis/
 *               aws4_request, SignedHeaders=<a;b;c>, Signature=<64 lower-case hex>
 *               (parts separated by commas and/or whitespace, in any order; unknown keys are
 *               ignored), with the time in X-Amz-Date (yyyymmddThhmmssZ) or, without it, in Date
 *               (RFC 7231 IMF-fixdate; "UTC", "+0000" and "-0000" are accepted in place of "GMT"
 *               because botocore writes "-0000").
 *   presigned:  query parameters X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 *               X-Amz-SignedHeaders, X-Amz-Signature and optionally X-Amz-Expires, values
 *               percent-decoded; the time comes from X-Amz-Date only.
 *
 * Results, the Kinesis `__type` in brackets. Checked in this order: which form; each part's
 * syntax and the rules it alone decides; the rules on the request as a whole; the key; the
 * signature.
 *   SL_SIGV4_INVALID     both forms in one request: an Authorization header and any of
 *                        X-Amz-Algorithm, X-Amz-Credential or X-Amz-Signature in the query.
 *   SL_SIGV4_MISSING     neither form [MissingAuthenticationTokenException]. An empty
 *                        Authorization header counts as none.
 *   SL_SIGV4_INCOMPLETE  the signature's parts cannot all be read [IncompleteSignatureException]:
 *                        Credential, SignedHeaders, Signature or the date is absent or empty (the
 *                        message names every missing one); a part does not parse (Credential not
 *                        five non-empty '/'-separated parts, a date not in its format,
 *                        X-Amz-Expires not 1..604800 seconds, a component not key=value); the
 *                        algorithm is not AWS4-HMAC-SHA256 (AWS's IncompleteSignature means "does
 *                        not conform to AWS standards", which fits an unknown algorithm better
 *                        than "the signature is wrong"); or it is ambiguous: a repeated
 *                        Authorization header, key in it, auth query parameter, X-Amz-Date or
 *                        (without X-Amz-Date) Date header.
 *   SL_SIGV4_INVALID     it parses but breaks a rule [InvalidSignatureException]: the scope's
 *                        service is not "kinesis" or its terminator not "aws4_request"; the
 *                        scope's date is not the request's day; the time is more than 300 s
 *                        before or after `now_ms`, in whole seconds (the signed time has no finer
 *                        resolution; presigned with X-Amz-Expires: from 300 s before its time to
 *                        X-Amz-Expires seconds after it); SignedHeaders is not distinct lower-case
 *                        names in ascending order (the only form SigV4 signers produce, so
 *                        nothing legitimate is refused and no reordering is guessed at), lacks
 *                        "host", or names a header the request does not carry; a limit below is
 *                        exceeded; X-Amz-Content-Sha256 is signed but is not the body's hash
 *                        (UNSIGNED-PAYLOAD and the STREAMING-* forms included: Kinesis bodies are
 *                        small JSON or CBOR documents, and an unsigned body would let anyone who
 *                        sees one request replay its headers with other records within the 5
 *                        minutes); the signature does not match.
 *   SL_SIGV4_UNRECOGNIZED `lookup` does not know the access key id [UnrecognizedClientException].
 *                        Asked only once every rule that needs no secret has passed, so unknown
 *                        and known keys get the same answers to malformed requests.
 *   SL_SIGV4_INTERNAL    OpenSSL could not allocate or run a digest [InternalFailure, HTTP 500].
 * KINESIS.md §2 (after kinesalite) answers all but INTERNAL with HTTP 400.
 *
 * The canonical request is SigV4's: the method as given; the path as received, every byte but
 * unreserved characters and '/' percent-encoded once more (no dot-segment removal: Kinesis is
 * always POST /; an empty path is "/"); the query parameters percent-decoded, re-encoded and
 * sorted by name then value, X-Amz-Signature left out when presigned ('+' decodes to a space,
 * as in form encoding, because botocore sends a space as '+' but signs it as "%20"; a '%' not
 * followed by two hex digits stands for itself); for each SignedHeaders name "name:value\n",
 * the values of all headers of that name (any case) in the order received, each trimmed and
 * with runs of whitespace made one space, joined with ','; the SignedHeaders string; the hex
 * SHA-256 of the body. The date header need not be signed: the time is in the string to sign
 * anyway. X-Amz-Security-Token is not checked (there are no session credentials here); when
 * signed it is hashed like any other header.
 *
 * Threading: sl_sigv4_verify and sl_sigv4_creds_lookup may run on any number of threads at
 * once (a loaded credential set is never modified); `lookup` must allow that too.
 */
#ifndef SL_IO_SIGV4_H
#define SL_IO_SIGV4_H

#include "io/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_SIGV4_AKID_BYTES_MAX           128 /* access key id, as AWS allows */
#define SL_SIGV4_SECRET_BYTES_MAX         128 /* secret access key (AWS's are 40) */
#define SL_SIGV4_REGION_BYTES_MAX         64
#define SL_SIGV4_CREDENTIAL_BYTES_MAX     256 /* the whole Credential value */
#define SL_SIGV4_SIGNED_HEADERS_MAX       64  /* names in SignedHeaders */
#define SL_SIGV4_SIGNED_HEADERS_BYTES_MAX 2048
#define SL_SIGV4_QUERY_PARAMS_MAX         64 /* Kinesis requests have none but presigned ones */
#define SL_SIGV4_SKEW_MS                  300000
#define SL_SIGV4_EXPIRES_S_MAX            604800 /* 7 days, AWS's limit for presigned requests */
#define SL_SIGV4_MSG_BYTES                512    /* a `msg` this large never truncates a message */
#define SL_SIGV4_CREDS_MAX                65536  /* key pairs in one credentials file */
#define SL_SIGV4_CREDS_LINE_BYTES_MAX     4096

/* One HTTP request as received. Pointers may be NULL when their length is 0. */
struct sl_sigv4_request {
    const char *method; /* "POST" */
    size_t method_len;
    const char *path; /* as received, e.g. "/" */
    size_t path_len;
    const char *query; /* raw query string without '?', may be empty */
    size_t query_len;
    const struct sl_http_header *headers; /* the HTTP server's view of them */
    size_t n_headers;
    /* Host (HTTP/1.1) or :authority (HTTP/2) when the HTTP library keeps it apart from the
     * headers, as h2o does: it is then the one "host" value and "host" entries in `headers`
     * are ignored. NULL: "host" is looked for in `headers`. */
    const char *host;
    size_t host_len;
    const void *body;
    size_t body_len;
    /* Lower-case names of headers that, when the request carries them, must be among the
     * SignedHeaders (else SL_SIGV4_INVALID): the Kinesis front end names x-amz-target and
     * content-type. May be empty. */
    const char *const *must_sign;
    size_t n_must_sign;
};

/* Writes the NUL-terminated secret for `access_key_id` (NUL-terminated, at most
 * SL_SIGV4_AKID_BYTES_MAX bytes) into `secret` (`secret_cap` bytes) and returns true; returns
 * false when the key is unknown or its secret does not fit. */
typedef bool (*sl_sigv4_lookup_fn)(void *arg, const char *access_key_id, char *secret,
                                   size_t secret_cap);

/* X(NAME, Kinesis __type). */
#define SL_SIGV4_RESULTS(X)                                                                        \
    X(OK, "")                                                                                      \
    X(MISSING, "MissingAuthenticationTokenException")                                              \
    X(INCOMPLETE, "IncompleteSignatureException")                                                  \
    X(INVALID, "InvalidSignatureException")                                                        \
    X(UNRECOGNIZED, "UnrecognizedClientException")                                                 \
    X(INTERNAL, "InternalFailure")

enum sl_sigv4_result {
#define SL_SIGV4_ENUM(name, type) SL_SIGV4_##name,
    SL_SIGV4_RESULTS(SL_SIGV4_ENUM)
#undef SL_SIGV4_ENUM
};

/* Who signed a request that verified. */
struct sl_sigv4_identity {
    char access_key_id[SL_SIGV4_AKID_BYTES_MAX + 1];
    char region[SL_SIGV4_REGION_BYTES_MAX + 1]; /* from the credential scope */
};

/* Verifies request `r` at wall-clock time `now_ms` (ms since the Unix epoch), looking the
 * secret up through `lookup(arg, …)`. Returns SL_SIGV4_OK and, when `who` is not NULL, fills
 * it in; otherwise one of the results above with a one-sentence explanation in `msg` (always
 * NUL-terminated when msg_len > 0; truncated to fit; "" on success). `msg` may be NULL. */
enum sl_sigv4_result sl_sigv4_verify(const struct sl_sigv4_request *r, sl_sigv4_lookup_fn lookup,
                                     void *arg, int64_t now_ms, struct sl_sigv4_identity *who,
                                     char *msg, size_t msg_len);

/* The Kinesis `__type` for `r` ("" for SL_SIGV4_OK, "InternalFailure" for values outside the
 * enum). Never NULL. */
const char *sl_sigv4_error_type(enum sl_sigv4_result r);

/* ---- the credentials file ------------------------------------------------------------------
 *
 * The AWS shared-credentials format (~/.aws/credentials): "[profile]" lines open sections,
 * "key = value" lines (the '=' may have no spaces around it) set keys, lines whose first
 * non-blank character is '#' or ';' are comments, blank lines are skipped, CRLF line ends and a
 * UTF-8 byte-order mark are tolerated. Every profile's aws_access_key_id/aws_secret_access_key
 * pair is accepted (key names are case-insensitive, as in botocore's parser); other keys
 * (aws_session_token, region, ...) are ignored, as is a profile with neither key. A '#' after a
 * value is part of the value, as in botocore, and since ids and secrets may not contain
 * whitespace such a line is refused rather than read as a surprising secret.
 *
 * Refused, with "<path>:<line>: <what>" in `err`: a line that is none of the above; a key
 * before the first section; a duplicate profile or a key repeated within one; an empty,
 * over-long or non-printable id or secret (ids also may not contain '/'); a profile with only
 * half of the pair; an id given twice with different secrets (the same pair twice is fine);
 * a line longer than SL_SIGV4_CREDS_LINE_BYTES_MAX; a NUL byte; more than SL_SIGV4_CREDS_MAX
 * pairs; and a file with no pair at all (a node that could verify nothing is a mistake).
 */
struct sl_sigv4_creds;

/* Loads `path` into `*out`. Returns 0, SL_EINVAL (refused, see above), SL_EIO (cannot be
 * opened or read) or SL_ENOMEM, with a message naming the file in `err` (may be NULL). On
 * failure `*out` is NULL. The caller owns `*out` and frees it with sl_sigv4_creds_free. */
int sl_sigv4_creds_load(const char *path, struct sl_sigv4_creds **out, char *err, size_t err_len);

/* A sl_sigv4_lookup_fn over a loaded set: `creds` is a struct sl_sigv4_creds *. */
bool sl_sigv4_creds_lookup(void *creds, const char *access_key_id, char *secret, size_t secret_cap);

/* Number of distinct key pairs in `c`. */
size_t sl_sigv4_creds_count(const struct sl_sigv4_creds *c);

/* Wipes the secrets and frees `c`. NULL is fine. */
void sl_sigv4_creds_free(struct sl_sigv4_creds *c);

#endif
