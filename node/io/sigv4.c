/* sigv4.c — SigV4 verification and the shared-credentials loader (see sigv4.h).
 *
 * Design notes:
 *  1. The canonical request is never built in memory. It is streamed into one SHA-256 context
 *     (struct sink), so long paths, queries or header values cost no allocation and need no
 *     limit of their own; only the lists we must index (signed header names, query parameters)
 *     are bounded, and those live on the stack.
 *  2. Every rule that needs no secret is checked before lookup() is called, so unknown and
 *     known keys get the same answer to a malformed request, and a flood of junk never reaches
 *     the key store.
 *  3. The secret and every key derived from it are wiped (OPENSSL_cleanse) before returning;
 *     the signatures are compared with CRYPTO_memcmp.
 *  4. Messages quote request bytes only through msg_span, which replaces anything outside
 *     printable ASCII, so a hostile header cannot put control bytes or invalid UTF-8 into the
 *     JSON error the front end sends back.
 */
#include "io/sigv4.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/codec.h"
#include "core/errors.h"
#include "io/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALGORITHM      "AWS4-HMAC-SHA256"
#define SERVICE        "kinesis"
#define TERMINATOR     "aws4_request"
#define HEX_SHA256_LEN 64
#define AMZ_DATE_LEN   16 /* yyyymmddThhmmssZ */
#define AMZ_DATE_MAX   40 /* room for any time an int64 of seconds can name */
#define QUOTE_MAX      96 /* request bytes quoted in one message */

/* ---- spans: the request's strings are never NUL-terminated ------------------------------ */

struct span {
    const char *p; /* never NULL, so that memcmp/memcpy of zero bytes are well-defined */
    size_t n;
};

static struct span span_of(const void *p, size_t n)
{
    struct span s = {n ? (const char *)p : "", n};
    return s;
}

static struct span span_str(const char *s)
{
    return span_of(s, strlen(s));
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static struct span trim(struct span s)
{
    while (s.n > 0 && is_ws(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_ws(s.p[s.n - 1])) {
        s.n--;
    }
    return s;
}

static bool eq_lit(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool eq_nocase(struct span a, struct span b)
{
    if (a.n != b.n) {
        return false;
    }
    for (size_t i = 0; i < a.n; i++) {
        if (ascii_lower(a.p[i]) != ascii_lower(b.p[i])) {
            return false;
        }
    }
    return true;
}

/* Byte-wise order, a prefix before its extensions: how SigV4 signers sort. */
static int span_cmp(struct span a, struct span b)
{
    int c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
    if (c != 0) {
        return c;
    }
    return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

static bool is_visible(char c)
{
    return c >= 0x21 && c <= 0x7e;
}

static bool all_visible(struct span s)
{
    for (size_t i = 0; i < s.n; i++) {
        if (!is_visible(s.p[i])) {
            return false;
        }
    }
    return true;
}

static bool all_digits(struct span s)
{
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') {
            return false;
        }
    }
    return true;
}

/* ---- the message ------------------------------------------------------------------------ */

struct msg {
    char *p;
    size_t cap;
    size_t len;
};

static void msg_reset(struct msg *m)
{
    m->len = 0;
    if (m->cap > 0) {
        m->p[0] = '\0';
    }
}

static void msg_put(struct msg *m, const char *s, size_t n)
{
    if (m->cap == 0) {
        return;
    }
    size_t room = m->cap - 1 - m->len;
    size_t k = n < room ? n : room;
    memcpy(m->p + m->len, s, k);
    m->len += k;
    m->p[m->len] = '\0';
}

static void msg_str(struct msg *m, const char *s)
{
    msg_put(m, s, strlen(s));
}

static void msg_fmt(struct msg *m, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0) {
        msg_put(m, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
    }
}

/* Quotes bytes from the request: at most QUOTE_MAX of them, non-printable ones as '?'. */
static void msg_span(struct msg *m, struct span s)
{
    size_t n = s.n < QUOTE_MAX ? s.n : QUOTE_MAX;
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i] >= 0x20 && s.p[i] <= 0x7e ? s.p[i] : '?';
        msg_put(m, &c, 1);
    }
    if (s.n > n) {
        msg_str(m, "...");
    }
}

/* Starts the message over with `text` and returns `r`, for the one-line failures. */
static enum sl_sigv4_result fail(struct msg *m, enum sl_sigv4_result r, const char *text)
{
    msg_reset(m);
    msg_str(m, text);
    return r;
}

/* ---- the hashing sink ------------------------------------------------------------------- */

struct sink {
    EVP_MD_CTX *md;
    unsigned char buf[512]; /* batches the many one-byte writes into few EVP updates */
    size_t len;
    bool ok;
};

static void sink_flush(struct sink *s)
{
    if (s->len > 0 && s->ok && EVP_DigestUpdate(s->md, s->buf, s->len) != 1) {
        s->ok = false;
    }
    s->len = 0;
}

static void sink_put(struct sink *s, const void *p, size_t n)
{
    if (n > sizeof(s->buf) - s->len) {
        sink_flush(s);
        if (n > sizeof(s->buf)) {
            if (s->ok && EVP_DigestUpdate(s->md, p, n) != 1) {
                s->ok = false;
            }
            return;
        }
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void sink_byte(struct sink *s, char c)
{
    if (s->len == sizeof(s->buf)) {
        sink_flush(s);
    }
    s->buf[s->len++] = (unsigned char)c;
}

static void sink_span(struct sink *s, struct span v)
{
    sink_put(s, v.p, v.n);
}

/* A header value as SigV4 canonicalizes it: trimmed, inner whitespace runs made one space. */
static void sink_header_value(struct sink *s, struct span v)
{
    bool any = false, pending = false;
    for (size_t i = 0; i < v.n; i++) {
        if (is_ws(v.p[i])) {
            pending = any;
            continue;
        }
        if (pending) {
            sink_byte(s, ' ');
            pending = false;
        }
        sink_byte(s, v.p[i]);
        any = true;
    }
}

/* ---- percent-encoding ------------------------------------------------------------------- */

static const char HEX_UPPER[] = "0123456789ABCDEF";

static bool is_unreserved(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* The next byte of percent-encoded `s` from `*i`, or -1 at its end. '+' is a space, as in
 * form encoding: botocore sends a space in a query value as '+' and signs it as "%20" (a real
 * plus arrives as "%2B"). A '%' without two hex digits after it stands for itself. */
static int decode_next(struct span s, size_t *i)
{
    if (*i >= s.n) {
        return -1;
    }
    unsigned char c = (unsigned char)s.p[*i];
    if (c == '+') {
        *i += 1;
        return ' ';
    }
    if (c == '%' && s.n - *i >= 3) {
        int hi = sl_hex_value((unsigned char)s.p[*i + 1]),
            lo = sl_hex_value((unsigned char)s.p[*i + 2]);
        if (hi >= 0 && lo >= 0) {
            *i += 3;
            return hi * 16 + lo;
        }
    }
    *i += 1;
    return c;
}

/* Decodes `raw` into `out`; false when it does not fit in `cap` bytes. */
static bool decode_into(struct span raw, char *out, size_t cap, size_t *len)
{
    size_t i = 0, n = 0;
    for (int c; (c = decode_next(raw, &i)) >= 0;) {
        if (n == cap) {
            return false;
        }
        out[n++] = (char)c;
    }
    *len = n;
    return true;
}

static bool decoded_eq(struct span raw, const char *lit)
{
    size_t i = 0, k = 0, n = strlen(lit);
    for (int c; (c = decode_next(raw, &i)) >= 0; k++) {
        if (k == n || c != (unsigned char)lit[k]) {
            return false;
        }
    }
    return k == n;
}

/* Produces the canonical (decoded, then SigV4-encoded) form of a raw query part, a byte at a
 * time, so that parameters can be sorted and hashed without a buffer. */
struct encoder {
    struct span raw;
    size_t i;
    char pending[2];
    unsigned n_pending;
};

static int encoder_next(struct encoder *e)
{
    if (e->n_pending > 0) {
        return (unsigned char)e->pending[2 - e->n_pending--];
    }
    int c = decode_next(e->raw, &e->i);
    if (c < 0 || is_unreserved(c)) {
        return c;
    }
    e->pending[0] = HEX_UPPER[c >> 4];
    e->pending[1] = HEX_UPPER[c & 15];
    e->n_pending = 2;
    return '%';
}

static int encoded_cmp(struct span a, struct span b)
{
    struct encoder x = {a, 0, {0}, 0}, y = {b, 0, {0}, 0};
    for (;;) {
        int ca = encoder_next(&x), cb = encoder_next(&y);
        if (ca != cb) {
            return ca < cb ? -1 : 1; /* the end (-1) sorts before any byte */
        }
        if (ca < 0) {
            return 0;
        }
    }
}

static void sink_encoded(struct sink *s, struct span raw)
{
    struct encoder e = {raw, 0, {0}, 0};
    for (int c; (c = encoder_next(&e)) >= 0;) {
        sink_byte(s, (char)c);
    }
}

/* The path as received, each byte but unreserved ones and '/' percent-encoded (so an encoded
 * path is encoded a second time, as SigV4 wants for every service but S3). */
static void sink_path(struct sink *s, struct span path)
{
    if (path.n == 0) {
        sink_byte(s, '/');
        return;
    }
    for (size_t i = 0; i < path.n; i++) {
        unsigned char c = (unsigned char)path.p[i];
        if (is_unreserved(c) || c == '/') {
            sink_byte(s, (char)c);
        } else {
            sink_byte(s, '%');
            sink_byte(s, HEX_UPPER[c >> 4]);
            sink_byte(s, HEX_UPPER[c & 15]);
        }
    }
}

/* ---- the query string ------------------------------------------------------------------- */

struct param {
    struct span name, value; /* raw, still percent-encoded */
};

struct query {
    struct param p[SL_SIGV4_QUERY_PARAMS_MAX];
    size_t n;
};

/* Splits on '&' (empty pieces skipped; a piece without '=' has an empty value). False when
 * there are more than SL_SIGV4_QUERY_PARAMS_MAX parameters. */
static bool query_split(struct span q, struct query *out)
{
    out->n = 0;
    size_t i = 0;
    while (i < q.n) {
        size_t start = i;
        while (i < q.n && q.p[i] != '&') {
            i++;
        }
        struct span piece = span_of(q.p + start, i - start);
        i++; /* past the '&' (or the end) */
        if (piece.n == 0) {
            continue;
        }
        if (out->n == SL_SIGV4_QUERY_PARAMS_MAX) {
            return false;
        }
        const char *eq = memchr(piece.p, '=', piece.n);
        struct param *p = &out->p[out->n++];
        if (eq) {
            p->name = span_of(piece.p, (size_t)(eq - piece.p));
            p->value = span_of(eq + 1, piece.n - (size_t)(eq - piece.p) - 1);
        } else {
            p->name = piece;
            p->value = span_of("", 0);
        }
    }
    return true;
}

/* Number of parameters whose decoded name is `name`; `*first` is the first of them. */
static size_t query_count(const struct query *q, const char *name, const struct param **first)
{
    size_t count = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (decoded_eq(q->p[i].name, name)) {
            if (count++ == 0 && first) {
                *first = &q->p[i];
            }
        }
    }
    return count;
}

static int param_cmp(const struct param *a, const struct param *b)
{
    int c = encoded_cmp(a->name, b->name);
    return c != 0 ? c : encoded_cmp(a->value, b->value);
}

/* The canonical query string: every parameter but X-Amz-Signature when presigned, sorted by
 * encoded name then encoded value (insertion sort of at most 64 pointers: no allocation). */
static void sink_query(struct sink *s, const struct query *q, bool presigned)
{
    const struct param *order[SL_SIGV4_QUERY_PARAMS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (presigned && decoded_eq(q->p[i].name, "X-Amz-Signature")) {
            continue;
        }
        size_t j = n++;
        while (j > 0 && param_cmp(order[j - 1], &q->p[i]) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = &q->p[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            sink_byte(s, '&');
        }
        sink_encoded(s, order[i]->name);
        sink_byte(s, '=');
        sink_encoded(s, order[i]->value);
    }
}

/* ---- headers ---------------------------------------------------------------------------- */

static struct span header_name(const struct sl_sigv4_request *r, size_t i)
{
    return span_of(r->headers[i].name, r->headers[i].name_len);
}

static struct span header_value(const struct sl_sigv4_request *r, size_t i)
{
    return span_of(r->headers[i].value, r->headers[i].value_len);
}

/* Whether `name` is the "host" the caller passed apart from the headers. Over HTTP/2 the AWS
 * SDK for JavaScript signs the pseudo-header ":authority" by that name (others sign "host"):
 * both are the request's authority. */
static bool is_separate_host(const struct sl_sigv4_request *r, struct span name)
{
    return r->host != NULL &&
           (eq_nocase(name, span_str("host")) || eq_nocase(name, span_str(":authority")));
}

/* Number of headers named `name` (any case); `*first` gets the first one's trimmed value. */
static size_t header_count(const struct sl_sigv4_request *r, struct span name, struct span *first)
{
    if (is_separate_host(r, name)) {
        if (first) {
            *first = trim(span_of(r->host, r->host_len));
        }
        return 1;
    }
    size_t count = 0;
    for (size_t i = 0; i < r->n_headers; i++) {
        if (eq_nocase(header_name(r, i), name)) {
            if (count++ == 0 && first) {
                *first = trim(header_value(r, i));
            }
        }
    }
    return count;
}

/* ---- time ------------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (the era arithmetic keeps every step in
 * range for any year an int64 of seconds can hold). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t days_in_month(int64_t y, int64_t m)
{
    static const int8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static int64_t digits_value(const char *p, size_t n)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Seconds since the epoch of a valid calendar time, or false. */
static bool civil_to_seconds(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s,
                             int64_t *t)
{
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59) {
        return false;
    }
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

/* yyyymmddThhmmssZ, the only form X-Amz-Date takes. */
static bool parse_amz_date(struct span v, int64_t *t)
{
    if (v.n != AMZ_DATE_LEN || v.p[8] != 'T' || v.p[15] != 'Z' || !all_digits(span_of(v.p, 8)) ||
        !all_digits(span_of(v.p + 9, 6))) {
        return false;
    }
    return civil_to_seconds(digits_value(v.p, 4), digits_value(v.p + 4, 2),
                            digits_value(v.p + 6, 2), digits_value(v.p + 9, 2),
                            digits_value(v.p + 11, 2), digits_value(v.p + 13, 2), t);
}

/* RFC 7231 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", with UTC, +0000 or -0000 also
 * accepted for the zone (botocore writes "-0000"). */
static bool parse_http_date(struct span v, int64_t *t)
{
    static const char *const wdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const char *const zones[] = {"GMT", "UTC", "+0000", "-0000"};
    /* "Www, DD Mon YYYY HH:MM:SS " is 26 bytes, then the zone. */
    if (v.n < 29 || v.p[3] != ',' || v.p[4] != ' ' || v.p[7] != ' ' || v.p[11] != ' ' ||
        v.p[16] != ' ' || v.p[19] != ':' || v.p[22] != ':' || v.p[25] != ' ') {
        return false;
    }
    bool wday_ok = false, zone_ok = false;
    int64_t month = 0;
    for (size_t i = 0; i < 7; i++) {
        wday_ok |= memcmp(v.p, wdays[i], 3) == 0;
    }
    for (size_t i = 0; i < 12; i++) {
        if (memcmp(v.p + 8, months[i], 3) == 0) {
            month = (int64_t)i + 1;
        }
    }
    for (size_t i = 0; i < 4; i++) {
        zone_ok |= eq_lit(span_of(v.p + 26, v.n - 26), zones[i]);
    }
    if (!wday_ok || month == 0 || !zone_ok || !all_digits(span_of(v.p + 5, 2)) ||
        !all_digits(span_of(v.p + 12, 4)) || !all_digits(span_of(v.p + 17, 2)) ||
        !all_digits(span_of(v.p + 20, 2)) || !all_digits(span_of(v.p + 23, 2))) {
        return false;
    }
    return civil_to_seconds(digits_value(v.p + 12, 4), month, digits_value(v.p + 5, 2),
                            digits_value(v.p + 17, 2), digits_value(v.p + 20, 2),
                            digits_value(v.p + 23, 2), t);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Any int64 of seconds as yyyymmddThhmmssZ (years past 9999 get more digits). */
static void format_amz(int64_t t, char out[AMZ_DATE_MAX])
{
    int64_t days = floor_div(t, 86400), secs = t - days * 86400;
    int64_t y, m, d;
    civil_from_days(days, &y, &m, &d);
    /* Month to second are small: int keeps the longest possible output within AMZ_DATE_MAX. */
    snprintf(out, AMZ_DATE_MAX, "%04lld%02d%02dT%02d%02d%02dZ", (long long)y, (int)m, (int)d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

/* ---- the parts of a signature ----------------------------------------------------------- */

struct auth {
    bool presigned;
    struct span credential, signed_headers, signature, date, expires;
    bool has_credential, has_signed_headers, has_signature, has_date, has_expires;
    const char *date_name; /* where the date came from, for messages */
    /* Presigned values are percent-decoded into these; header values are used in place. */
    char credential_buf[SL_SIGV4_CREDENTIAL_BYTES_MAX];
    char signed_headers_buf[SL_SIGV4_SIGNED_HEADERS_BYTES_MAX];
    char signature_buf[HEX_SHA256_LEN + 1]; /* one more, so that a longer one cannot match */
    char date_buf[AMZ_DATE_LEN];
    char expires_buf[8];
};

struct scope {
    struct span akid, date, region, service, terminator;
    struct span rest; /* "date/region/service/terminator", as it goes into the string to sign */
};

struct signed_names {
    struct span name[SL_SIGV4_SIGNED_HEADERS_MAX];
    size_t n;
};

/* Lists what is missing, AWS-style, in one message. */
static enum sl_sigv4_result missing(struct msg *m, const char *what[], size_t n, bool presigned,
                                    struct span authorization)
{
    msg_reset(m);
    msg_str(m, presigned ? "Incomplete query-string signature: missing "
                         : "Incomplete Authorization header: missing ");
    for (size_t i = 0; i < n; i++) {
        msg_str(m, i == 0 ? "" : i + 1 == n ? " and " : ", ");
        msg_str(m, what[i]);
    }
    msg_str(m, ".");
    if (!presigned) {
        msg_str(m, " Authorization=");
        msg_span(m, authorization);
    }
    return SL_SIGV4_INCOMPLETE;
}

static bool is_separator(char c)
{
    return c == ',' || is_ws(c);
}

/* The header form. Components are separated by commas and/or whitespace, so "a=1, b=2",
 * "a=1,b=2" and "a=1 b=2" all read the same (the SDKs differ; no value contains either). */
static enum sl_sigv4_result parse_authorization(const struct sl_sigv4_request *r, struct span v,
                                                struct auth *a, struct msg *m)
{
    size_t i = 0;
    while (i < v.n && !is_separator(v.p[i])) {
        i++;
    }
    struct span algorithm = span_of(v.p, i);
    if (!eq_lit(algorithm, ALGORITHM)) {
        msg_reset(m);
        msg_str(m, "Unsupported Authorization algorithm '");
        msg_span(m, algorithm);
        msg_str(m, "': only " ALGORITHM " is accepted.");
        return SL_SIGV4_INCOMPLETE;
    }
    while (i < v.n) {
        while (i < v.n && is_separator(v.p[i])) {
            i++;
        }
        size_t start = i;
        while (i < v.n && !is_separator(v.p[i])) {
            i++;
        }
        struct span part = span_of(v.p + start, i - start);
        if (part.n == 0) {
            break;
        }
        const char *eq = memchr(part.p, '=', part.n);
        if (!eq) {
            msg_reset(m);
            msg_str(m, "'");
            msg_span(m, part);
            msg_str(m, "' in the Authorization header is not a key=value pair.");
            return SL_SIGV4_INCOMPLETE;
        }
        struct span key = span_of(part.p, (size_t)(eq - part.p));
        struct span value = span_of(eq + 1, part.n - key.n - 1);
        struct span *slot;
        bool *seen;
        if (eq_lit(key, "Credential")) {
            slot = &a->credential;
            seen = &a->has_credential;
        } else if (eq_lit(key, "SignedHeaders")) {
            slot = &a->signed_headers;
            seen = &a->has_signed_headers;
        } else if (eq_lit(key, "Signature")) {
            slot = &a->signature;
            seen = &a->has_signature;
        } else {
            continue; /* unknown keys are ignored: room for what a newer signer may add */
        }
        if (*seen) {
            msg_reset(m);
            msg_str(m, "'");
            msg_span(m, key);
            msg_str(m, "' appears more than once in the Authorization header.");
            return SL_SIGV4_INCOMPLETE;
        }
        *seen = value.n > 0; /* an empty value is as good as none */
        *slot = value;
    }

    struct span x_amz_date = span_of("", 0), date = span_of("", 0);
    size_t n_amz = header_count(r, span_str("x-amz-date"), &x_amz_date);
    size_t n_date = header_count(r, span_str("date"), &date);
    if (n_amz > 1) {
        return fail(m, SL_SIGV4_INCOMPLETE, "The request has more than one X-Amz-Date header.");
    }
    if (n_amz == 0 && n_date > 1) {
        return fail(m, SL_SIGV4_INCOMPLETE, "The request has more than one Date header.");
    }
    a->has_date = n_amz + n_date > 0;
    a->date = n_amz ? x_amz_date : date;
    a->date_name = n_amz ? "X-Amz-Date" : "Date";

    const char *what[4];
    size_t n = 0;
    if (!a->has_credential) {
        what[n++] = "'Credential'";
    }
    if (!a->has_signed_headers) {
        what[n++] = "'SignedHeaders'";
    }
    if (!a->has_signature) {
        what[n++] = "'Signature'";
    }
    if (!a->has_date) {
        what[n++] = "a date (an X-Amz-Date or Date header)";
    }
    return n ? missing(m, what, n, false, v) : SL_SIGV4_OK;
}

/* One auth parameter of the presigned form, decoded into `buf`. A value longer than `cap`
 * gives `too_long`, except for the signature, which is then simply left not matching. */
static enum sl_sigv4_result query_value(const struct query *q, const char *name, char *buf,
                                        size_t cap, enum sl_sigv4_result too_long, struct span *out,
                                        bool *has, struct msg *m)
{
    const struct param *p = NULL;
    size_t count = query_count(q, name, &p);
    *has = false;
    if (count == 0) {
        return SL_SIGV4_OK;
    }
    if (count > 1) {
        msg_reset(m);
        msg_fmt(m, "The query-string parameter %s appears more than once.", name);
        return SL_SIGV4_INCOMPLETE;
    }
    size_t len;
    if (!decode_into(p->value, buf, cap, &len)) {
        if (too_long == SL_SIGV4_OK) {
            *out = span_of(buf, cap);
            *has = true;
            return SL_SIGV4_OK;
        }
        msg_reset(m);
        msg_fmt(m, "The query-string parameter %s is longer than %zu bytes.", name, cap);
        return too_long;
    }
    *out = span_of(buf, len);
    *has = len > 0;
    return SL_SIGV4_OK;
}

static enum sl_sigv4_result parse_presigned(const struct query *q, struct auth *a, struct msg *m)
{
    a->presigned = true;
    a->date_name = "X-Amz-Date";
    char algorithm_buf[32];
    struct span algorithm = span_of("", 0);
    bool has_algorithm;
    enum sl_sigv4_result rv;
    /* Over-long values: a date, expiry or algorithm can only be malformed (INCOMPLETE); a
     * credential or header list exceeds our limits (INVALID). */
    if ((rv = query_value(q, "X-Amz-Algorithm", algorithm_buf, sizeof(algorithm_buf),
                          SL_SIGV4_INCOMPLETE, &algorithm, &has_algorithm, m)) != SL_SIGV4_OK ||
        (rv = query_value(q, "X-Amz-Credential", a->credential_buf, sizeof(a->credential_buf),
                          SL_SIGV4_INVALID, &a->credential, &a->has_credential, m)) !=
            SL_SIGV4_OK ||
        (rv = query_value(q, "X-Amz-Signature", a->signature_buf, sizeof(a->signature_buf),
                          SL_SIGV4_OK, &a->signature, &a->has_signature, m)) != SL_SIGV4_OK ||
        (rv = query_value(q, "X-Amz-SignedHeaders", a->signed_headers_buf,
                          sizeof(a->signed_headers_buf), SL_SIGV4_INVALID, &a->signed_headers,
                          &a->has_signed_headers, m)) != SL_SIGV4_OK ||
        (rv = query_value(q, "X-Amz-Date", a->date_buf, sizeof(a->date_buf), SL_SIGV4_INCOMPLETE,
                          &a->date, &a->has_date, m)) != SL_SIGV4_OK ||
        (rv = query_value(q, "X-Amz-Expires", a->expires_buf, sizeof(a->expires_buf),
                          SL_SIGV4_INCOMPLETE, &a->expires, &a->has_expires, m)) != SL_SIGV4_OK) {
        return rv;
    }
    /* X-Amz-Expires is optional, so present but empty is malformed rather than missing. */
    a->has_expires = query_count(q, "X-Amz-Expires", NULL) > 0;
    const char *what[5];
    size_t n = 0;
    if (!has_algorithm) {
        what[n++] = "'X-Amz-Algorithm'";
    }
    if (!a->has_credential) {
        what[n++] = "'X-Amz-Credential'";
    }
    if (!a->has_signature) {
        what[n++] = "'X-Amz-Signature'";
    }
    if (!a->has_signed_headers) {
        what[n++] = "'X-Amz-SignedHeaders'";
    }
    if (!a->has_date) {
        what[n++] = "'X-Amz-Date'";
    }
    if (n > 0) {
        return missing(m, what, n, true, span_of("", 0));
    }
    if (!eq_lit(algorithm, ALGORITHM)) {
        msg_reset(m);
        msg_str(m, "Unsupported X-Amz-Algorithm '");
        msg_span(m, algorithm);
        msg_str(m, "': only " ALGORITHM " is accepted.");
        return SL_SIGV4_INCOMPLETE;
    }
    return SL_SIGV4_OK;
}

/* <akid>/<yyyymmdd>/<region>/<service>/<terminator>. Syntax errors are INCOMPLETE; the wrong
 * service or terminator, INVALID. */
static enum sl_sigv4_result parse_credential(struct span c, struct scope *s, struct msg *m)
{
    if (c.n > SL_SIGV4_CREDENTIAL_BYTES_MAX) {
        msg_reset(m);
        msg_fmt(m, "The Credential is longer than %d bytes.", SL_SIGV4_CREDENTIAL_BYTES_MAX);
        return SL_SIGV4_INVALID;
    }
    struct span part[5];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= c.n; i++) {
        if (i == c.n || c.p[i] == '/') {
            if (n == 5) {
                n++; /* too many: reported below */
                break;
            }
            part[n++] = span_of(c.p + start, i - start);
            start = i + 1;
        }
    }
    bool ok = n == 5;
    for (size_t i = 0; ok && i < 5; i++) {
        ok = part[i].n > 0;
    }
    if (!ok) {
        msg_reset(m);
        msg_str(m, "Credential '");
        msg_span(m, c);
        msg_str(m, "' is not of the form <access key id>/<yyyymmdd>/<region>/" SERVICE
                   "/" TERMINATOR ".");
        return SL_SIGV4_INCOMPLETE;
    }
    s->akid = part[0];
    s->date = part[1];
    s->region = part[2];
    s->service = part[3];
    s->terminator = part[4];
    s->rest = span_of(part[1].p, (size_t)(c.p + c.n - part[1].p));
    if (s->akid.n > SL_SIGV4_AKID_BYTES_MAX || !all_visible(s->akid)) {
        msg_reset(m);
        msg_fmt(m, "The access key id in the Credential must be 1 to %d printable characters.",
                SL_SIGV4_AKID_BYTES_MAX);
        return SL_SIGV4_INCOMPLETE;
    }
    if (s->date.n != 8 || !all_digits(s->date)) {
        msg_reset(m);
        msg_str(m, "The Credential's date '");
        msg_span(m, s->date);
        msg_str(m, "' is not of the form yyyymmdd.");
        return SL_SIGV4_INCOMPLETE;
    }
    if (s->region.n > SL_SIGV4_REGION_BYTES_MAX || !all_visible(s->region)) {
        msg_reset(m);
        msg_fmt(m, "The region in the Credential must be 1 to %d printable characters.",
                SL_SIGV4_REGION_BYTES_MAX);
        return SL_SIGV4_INCOMPLETE;
    }
    if (!eq_lit(s->service, SERVICE)) {
        msg_reset(m);
        msg_str(m, "Credential should be scoped to the service '" SERVICE "', not '");
        msg_span(m, s->service);
        msg_str(m, "'.");
        return SL_SIGV4_INVALID;
    }
    if (!eq_lit(s->terminator, TERMINATOR)) {
        msg_reset(m);
        msg_str(m, "Credential should end with '" TERMINATOR "', not '");
        msg_span(m, s->terminator);
        msg_str(m, "'.");
        return SL_SIGV4_INVALID;
    }
    return SL_SIGV4_OK;
}

/* Lower-case token characters (RFC 7230 tchar without the upper case). */
static bool is_lower_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static enum sl_sigv4_result parse_signed_headers(struct span v, struct signed_names *out,
                                                 struct msg *m)
{
    if (v.n > SL_SIGV4_SIGNED_HEADERS_BYTES_MAX) {
        msg_reset(m);
        msg_fmt(m, "SignedHeaders is longer than %d bytes.", SL_SIGV4_SIGNED_HEADERS_BYTES_MAX);
        return SL_SIGV4_INVALID;
    }
    out->n = 0;
    bool host = false;
    size_t start = 0;
    for (size_t i = 0; i <= v.n; i++) {
        if (i < v.n && v.p[i] != ';') {
            /* A leading ':' names an HTTP/2 pseudo-header (":authority"). */
            if (!is_lower_tchar(v.p[i]) && !(v.p[i] == ':' && i == start)) {
                goto not_canonical;
            }
            continue;
        }
        struct span name = span_of(v.p + start, i - start);
        start = i + 1;
        if (name.n == 0 || (out->n > 0 && span_cmp(out->name[out->n - 1], name) >= 0)) {
            goto not_canonical;
        }
        if (out->n == SL_SIGV4_SIGNED_HEADERS_MAX) {
            msg_reset(m);
            msg_fmt(m, "SignedHeaders names more than %d headers.", SL_SIGV4_SIGNED_HEADERS_MAX);
            return SL_SIGV4_INVALID;
        }
        out->name[out->n++] = name;
        host |= eq_lit(name, "host") || eq_lit(name, ":authority");
    }
    if (!host) {
        return fail(m, SL_SIGV4_INVALID,
                    "'host' (or, over HTTP/2, ':authority') must be one of the SignedHeaders.");
    }
    return SL_SIGV4_OK;

not_canonical:
    msg_reset(m);
    msg_str(m, "SignedHeaders '");
    msg_span(m, v);
    msg_str(m, "' must be distinct lower-case header names in ascending order, separated by "
               "';'.");
    return SL_SIGV4_INVALID;
}

/* ---- verification ----------------------------------------------------------------------- */

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
}

/* Checks the request's time `t` against `now_ms` (and X-Amz-Expires when presigned), in whole
 * seconds: the signed time has no finer resolution, and the messages then read consistently. */
static enum sl_sigv4_result check_time(const struct auth *a, int64_t t, int64_t now_ms,
                                       struct msg *m)
{
    int64_t expires_s = SL_SIGV4_SKEW_MS / 1000;
    if (a->has_expires) {
        expires_s = digits_value(a->expires.p, a->expires.n); /* checked: 1 .. 604800 */
    }
    /* |t| < 2^38 (years 0 to 9999) and |now_s| < 2^54: no difference below can overflow. */
    int64_t now_s = floor_div(now_ms, 1000);
    char when[AMZ_DATE_MAX], edge[AMZ_DATE_MAX], now[AMZ_DATE_MAX];
    format_amz(t, when);
    format_amz(now_s, now);
    if (now_s - t > expires_s) {
        format_amz(now_s - expires_s, edge);
        msg_reset(m);
        if (a->has_expires) {
            msg_fmt(m, "Signature expired: %s is now earlier than %s (%s - %lld sec.)", when, edge,
                    now, (long long)expires_s);
        } else {
            msg_fmt(m, "Signature expired: %s is now earlier than %s (%s - 5 min.)", when, edge,
                    now);
        }
        return SL_SIGV4_INVALID;
    }
    if (t - now_s > SL_SIGV4_SKEW_MS / 1000) {
        format_amz(now_s + SL_SIGV4_SKEW_MS / 1000, edge);
        msg_reset(m);
        msg_fmt(m, "Signature not yet current: %s is still later than %s (%s + 5 min.)", when, edge,
                now);
        return SL_SIGV4_INVALID;
    }
    return SL_SIGV4_OK;
}

/* The checks on the headers a signature covers, all before any secret is looked up. */
static enum sl_sigv4_result check_signed_headers(const struct sl_sigv4_request *r,
                                                 const struct signed_names *names,
                                                 const char body_hex[HEX_SHA256_LEN], struct msg *m)
{
    for (size_t i = 0; i < names->n; i++) {
        struct span value;
        size_t count = header_count(r, names->name[i], &value);
        if (count == 0) {
            msg_reset(m);
            msg_str(m, "The signed header '");
            msg_span(m, names->name[i]);
            msg_str(m, "' is not in the request.");
            return SL_SIGV4_INVALID;
        }
        /* When the body's hash is signed as a header it must be the real one: that refuses
         * UNSIGNED-PAYLOAD and STREAMING-* too, and repeats, which would join with ','. */
        if (eq_lit(names->name[i], "x-amz-content-sha256") &&
            (count > 1 || value.n != HEX_SHA256_LEN ||
             memcmp(value.p, body_hex, HEX_SHA256_LEN) != 0)) {
            msg_reset(m);
            msg_str(m, "X-Amz-Content-Sha256 '");
            msg_span(m, value);
            msg_str(m, "' is not the SHA-256 of the body; Kinesis accepts only signed "
                       "payloads.");
            return SL_SIGV4_INVALID;
        }
    }
    return SL_SIGV4_OK;
}

static void sink_canonical_request(struct sink *s, const struct sl_sigv4_request *r,
                                   const struct query *q, const struct auth *a,
                                   const struct signed_names *names,
                                   const char body_hex[HEX_SHA256_LEN])
{
    sink_span(s, span_of(r->method, r->method_len));
    sink_byte(s, '\n');
    sink_path(s, span_of(r->path, r->path_len));
    sink_byte(s, '\n');
    sink_query(s, q, a->presigned);
    sink_byte(s, '\n');
    for (size_t i = 0; i < names->n; i++) {
        sink_span(s, names->name[i]);
        sink_byte(s, ':');
        if (is_separate_host(r, names->name[i])) {
            sink_header_value(s, span_of(r->host, r->host_len));
            sink_byte(s, '\n');
            continue;
        }
        bool first = true;
        for (size_t h = 0; h < r->n_headers; h++) {
            if (eq_nocase(header_name(r, h), names->name[i])) {
                if (!first) {
                    sink_byte(s, ',');
                }
                sink_header_value(s, header_value(r, h));
                first = false;
            }
        }
        sink_byte(s, '\n');
    }
    sink_byte(s, '\n');
    sink_span(s, a->signed_headers);
    sink_byte(s, '\n');
    sink_put(s, body_hex, HEX_SHA256_LEN);
}

/* hex SHA-256 of the canonical request into `out`; false when OpenSSL fails. */
static bool hash_canonical_request(const struct sl_sigv4_request *r, const struct query *q,
                                   const struct auth *a, const struct signed_names *names,
                                   const char body_hex[HEX_SHA256_LEN], char out[HEX_SHA256_LEN])
{
    struct sink s;
    s.md = EVP_MD_CTX_new();
    s.len = 0;
    s.ok = s.md != NULL && EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) == 1;
    if (s.ok) {
        sink_canonical_request(&s, r, q, a, names, body_hex);
        sink_flush(&s);
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    s.ok = s.ok && EVP_DigestFinal_ex(s.md, digest, &len) == 1 && len == 32;
    EVP_MD_CTX_free(s.md);
    if (s.ok) {
        hex_encode(digest, 32, out);
    }
    return s.ok;
}

/* HMAC chain "AWS4"+secret → date → region → service → terminator, then the signature of
 * `string_to_sign`, in lower-case hex. Wipes every intermediate key. */
static void sign(const char *secret, size_t secret_len, const struct scope *s,
                 const char *string_to_sign, size_t sts_len, char out[HEX_SHA256_LEN])
{
    char k_secret[4 + SL_SIGV4_SECRET_BYTES_MAX];
    uint8_t k1[SL_HMAC_SHA256_BYTES], k2[SL_HMAC_SHA256_BYTES], sig[SL_HMAC_SHA256_BYTES];
    SL_ASSERT(secret_len <= SL_SIGV4_SECRET_BYTES_MAX);
    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret, secret_len);
    sl_hmac_sha256(k_secret, 4 + secret_len, s->date.p, s->date.n, k1);
    sl_hmac_sha256(k1, sizeof(k1), s->region.p, s->region.n, k2);
    sl_hmac_sha256(k2, sizeof(k2), s->service.p, s->service.n, k1);
    sl_hmac_sha256(k1, sizeof(k1), s->terminator.p, s->terminator.n, k2);
    sl_hmac_sha256(k2, sizeof(k2), string_to_sign, sts_len, sig);
    hex_encode(sig, sizeof(sig), out);
    OPENSSL_cleanse(k_secret, sizeof(k_secret));
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
}

enum sl_sigv4_result sl_sigv4_verify(const struct sl_sigv4_request *r, sl_sigv4_lookup_fn lookup,
                                     void *arg, int64_t now_ms, struct sl_sigv4_identity *who,
                                     char *msg, size_t msg_len)
{
    SL_ASSERT(r != NULL && lookup != NULL);
    struct msg m = {msg, msg ? msg_len : 0, 0};
    msg_reset(&m);

    struct query q;
    if (!query_split(span_of(r->query, r->query_len), &q)) {
        msg_fmt(&m, "The query string has more than %d parameters.", SL_SIGV4_QUERY_PARAMS_MAX);
        return SL_SIGV4_INVALID;
    }

    /* Which form? An empty Authorization header is no header. */
    size_t n_auth = 0;
    struct span authorization = span_of("", 0);
    for (size_t i = 0; i < r->n_headers; i++) {
        if (eq_nocase(header_name(r, i), span_str("authorization")) &&
            trim(header_value(r, i)).n > 0) {
            n_auth++;
            authorization = trim(header_value(r, i));
        }
    }
    bool in_query = query_count(&q, "X-Amz-Algorithm", NULL) > 0 ||
                    query_count(&q, "X-Amz-Credential", NULL) > 0 ||
                    query_count(&q, "X-Amz-Signature", NULL) > 0;
    if (n_auth > 0 && in_query) {
        return fail(&m, SL_SIGV4_INVALID,
                    "The request is signed both in an Authorization header and in the query "
                    "string (X-Amz-Algorithm, X-Amz-Credential or X-Amz-Signature); use one.");
    }
    if (n_auth == 0 && !in_query) {
        return fail(&m, SL_SIGV4_MISSING, "Missing Authentication Token");
    }
    if (n_auth > 1) {
        return fail(&m, SL_SIGV4_INCOMPLETE, "The request has more than one Authorization header.");
    }

    struct auth a;
    memset(&a, 0, sizeof(a));
    enum sl_sigv4_result rv =
        n_auth ? parse_authorization(r, authorization, &a, &m) : parse_presigned(&q, &a, &m);
    if (rv != SL_SIGV4_OK) {
        return rv;
    }

    /* Each part's syntax (INCOMPLETE) and the rules it alone decides (INVALID), then the rules
     * on the request as a whole (INVALID); no secret is needed for any of them. */
    struct scope scope;
    if ((rv = parse_credential(a.credential, &scope, &m)) != SL_SIGV4_OK) {
        return rv;
    }
    int64_t t;
    bool date_ok = strcmp(a.date_name, "X-Amz-Date") == 0 ? parse_amz_date(a.date, &t)
                                                          : parse_http_date(a.date, &t);
    if (!date_ok) {
        msg_reset(&m);
        msg_str(&m, a.date_name);
        msg_str(&m, " '");
        msg_span(&m, a.date);
        msg_str(&m, strcmp(a.date_name, "Date") == 0
                        ? "' is not an RFC 7231 date such as 'Sun, 06 Nov 1994 08:49:37 GMT'."
                        : "' is not an ISO 8601 basic-format time such as '20240101T000000Z'.");
        return SL_SIGV4_INCOMPLETE;
    }
    if (a.has_expires) {
        int64_t e =
            a.expires.n <= 6 && all_digits(a.expires) ? digits_value(a.expires.p, a.expires.n) : -1;
        if (e < 1 || e > SL_SIGV4_EXPIRES_S_MAX) {
            msg_reset(&m);
            msg_str(&m, "X-Amz-Expires '");
            msg_span(&m, a.expires);
            msg_fmt(&m, "' is not a number of seconds from 1 to %d.", SL_SIGV4_EXPIRES_S_MAX);
            return SL_SIGV4_INCOMPLETE;
        }
    }
    struct signed_names names;
    if ((rv = parse_signed_headers(a.signed_headers, &names, &m)) != SL_SIGV4_OK) {
        return rv;
    }
    char amz_date[AMZ_DATE_MAX];
    format_amz(t, amz_date);
    if (memcmp(scope.date.p, amz_date, 8) != 0) {
        msg_reset(&m);
        msg_str(&m, "The Credential's date '");
        msg_span(&m, scope.date);
        msg_fmt(&m, "' is not the day of the request's %s, %.8s.", a.date_name, amz_date);
        return SL_SIGV4_INVALID;
    }
    if ((rv = check_time(&a, t, now_ms, &m)) != SL_SIGV4_OK) {
        return rv;
    }
    unsigned char body_digest[EVP_MAX_MD_SIZE];
    unsigned int body_digest_len = 0;
    if (EVP_Digest(r->body_len ? r->body : "", r->body_len, body_digest, &body_digest_len,
                   EVP_sha256(), NULL) != 1 ||
        body_digest_len != 32) {
        return fail(&m, SL_SIGV4_INTERNAL, "Internal failure while hashing the request body.");
    }
    char body_hex[HEX_SHA256_LEN];
    hex_encode(body_digest, 32, body_hex);
    if ((rv = check_signed_headers(r, &names, body_hex, &m)) != SL_SIGV4_OK) {
        return rv;
    }
    /* Headers that choose what the request does must be covered by the signature when present,
     * or a captured request could be replayed as another operation (AWS requires every
     * x-amz-* header and content-type to be signed). */
    for (size_t i = 0; i < r->n_must_sign; i++) {
        struct span want = span_str(r->must_sign[i]);
        bool is_signed = false;
        for (size_t k = 0; k < names.n && !is_signed; k++) {
            is_signed = eq_nocase(names.name[k], want);
        }
        if (!is_signed && header_count(r, want, NULL) > 0) {
            msg_reset(&m);
            msg_fmt(&m, "The header '%s' must be one of the SignedHeaders.", r->must_sign[i]);
            return SL_SIGV4_INVALID;
        }
    }

    /* Only now the secret. */
    char akid[SL_SIGV4_AKID_BYTES_MAX + 1];
    memcpy(akid, scope.akid.p, scope.akid.n);
    akid[scope.akid.n] = '\0';
    char secret[SL_SIGV4_SECRET_BYTES_MAX + 1];
    memset(secret, 0, sizeof(secret));
    if (!lookup(arg, akid, secret, sizeof(secret))) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return fail(&m, SL_SIGV4_UNRECOGNIZED,
                    "The security token included in the request is invalid.");
    }
    size_t secret_len = strnlen(secret, sizeof(secret));
    SL_ASSERT(secret_len < sizeof(secret)); /* the lookup contract: NUL-terminated within cap */

    char canonical_hex[HEX_SHA256_LEN];
    if (!hash_canonical_request(r, &q, &a, &names, body_hex, canonical_hex)) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return fail(&m, SL_SIGV4_INTERNAL, "Internal failure while hashing the request.");
    }
    /* The string to sign: algorithm, time, scope and canonical hash, one per line. The scope
     * is at most the whole Credential, which parse_credential bounded. */
    char sts[sizeof(ALGORITHM) + AMZ_DATE_LEN + 1 + SL_SIGV4_CREDENTIAL_BYTES_MAX + 1 +
             HEX_SHA256_LEN];
    SL_ASSERT(scope.rest.n <= SL_SIGV4_CREDENTIAL_BYTES_MAX);
    int sts_len =
        snprintf(sts, sizeof(sts), "%s\n%.*s\n%.*s\n%.*s", ALGORITHM, AMZ_DATE_LEN, amz_date,
                 (int)scope.rest.n, scope.rest.p, HEX_SHA256_LEN, canonical_hex);
    SL_ASSERT(sts_len > 0 && (size_t)sts_len < sizeof(sts));

    char expected[HEX_SHA256_LEN];
    sign(secret, secret_len, &scope, sts, (size_t)sts_len, expected);
    OPENSSL_cleanse(secret, sizeof(secret));
    bool match =
        a.signature.n == HEX_SHA256_LEN && sl_equal_ct(expected, a.signature.p, HEX_SHA256_LEN);
    if (!match) {
        return fail(&m, SL_SIGV4_INVALID,
                    "The request signature we calculated does not match the signature you "
                    "provided. Check your AWS Secret Access Key and signing method. Consult "
                    "the service documentation for details.");
    }
    if (who) {
        memcpy(who->access_key_id, akid, scope.akid.n + 1);
        memcpy(who->region, scope.region.p, scope.region.n);
        who->region[scope.region.n] = '\0';
    }
    return SL_SIGV4_OK;
}

const char *sl_sigv4_error_type(enum sl_sigv4_result r)
{
    switch (r) {
#define SL_SIGV4_TYPE(name, type)                                                                  \
    case SL_SIGV4_##name:                                                                          \
        return type;
        SL_SIGV4_RESULTS(SL_SIGV4_TYPE)
#undef SL_SIGV4_TYPE
    }
    return "InternalFailure";
}

/* ---- the credentials file --------------------------------------------------------------- */

struct cred {
    char akid[SL_SIGV4_AKID_BYTES_MAX + 1];
    char secret[SL_SIGV4_SECRET_BYTES_MAX + 1];
    int line; /* of the aws_access_key_id, for messages */
};

struct sl_sigv4_creds {
    struct cred *items; /* sorted by akid, distinct, after loading */
    size_t n, cap;
};

struct profile_name {
    char *name;
    int line;
};

/* What the loader knows about the profile it is reading. */
struct profile {
    bool open;
    int line;
    char name[SL_SIGV4_CREDS_LINE_BYTES_MAX];
    char akid[SL_SIGV4_AKID_BYTES_MAX + 1];
    char secret[SL_SIGV4_SECRET_BYTES_MAX + 1];
    int akid_line, secret_line; /* 0 while unset */
};

struct loader {
    const char *path;
    FILE *f;
    char *err;
    size_t err_len;
    struct sl_sigv4_creds *creds;
    struct profile_name *names;
    size_t n_names, names_cap;
    struct profile cur;
    char line[SL_SIGV4_CREDS_LINE_BYTES_MAX + 1];
};

static int load_error(struct loader *l, int line, const char *fmt, ...)
{
    if (l->err && l->err_len > 0) {
        int n = line > 0 ? snprintf(l->err, l->err_len, "%s:%d: ", l->path, line)
                         : snprintf(l->err, l->err_len, "%s: ", l->path);
        if (n >= 0 && (size_t)n < l->err_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(l->err + n, l->err_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return SL_EINVAL;
}

/* Reads one line without its '\n' (and '\r'). Returns 1, 0 at the end of the file, or a
 * negative sl_err with the message written. */
static int read_line(struct loader *l, int lineno, size_t *len)
{
    size_t n = 0;
    int c = EOF;
    bool any = false;
    while ((c = getc(l->f)) != EOF) {
        any = true;
        if (c == '\n') {
            break;
        }
        if (c == '\0') {
            return load_error(l, lineno, "a NUL byte: this is not a text file");
        }
        if (n == SL_SIGV4_CREDS_LINE_BYTES_MAX) {
            return load_error(l, lineno, "the line is longer than %d bytes",
                              SL_SIGV4_CREDS_LINE_BYTES_MAX);
        }
        l->line[n++] = (char)c;
    }
    if (c == EOF && ferror(l->f)) {
        if (l->err && l->err_len > 0) {
            snprintf(l->err, l->err_len, "cannot read credentials file %s: %s", l->path,
                     strerror(errno));
        }
        return SL_EIO;
    }
    if (!any) {
        return 0;
    }
    if (n > 0 && l->line[n - 1] == '\r') {
        n--;
    }
    l->line[n] = '\0';
    *len = n;
    return 1;
}

static int cred_cmp(const void *a, const void *b)
{
    const struct cred *x = a, *y = b;
    int c = strcmp(x->akid, y->akid);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static int name_cmp(const void *a, const void *b)
{
    const struct profile_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* Ends the profile being read: its pair, if complete, joins the set. */
static int finish_profile(struct loader *l)
{
    struct profile *p = &l->cur;
    if (!p->open) {
        return SL_OK;
    }
    p->open = false;
    if (p->akid_line == 0 && p->secret_line == 0) {
        return SL_OK; /* e.g. a profile that sets only a region */
    }
    if (p->akid_line == 0 || p->secret_line == 0) {
        return load_error(l, p->line, "profile [%s] has %s but no %s", p->name,
                          p->akid_line ? "aws_access_key_id" : "aws_secret_access_key",
                          p->akid_line ? "aws_secret_access_key" : "aws_access_key_id");
    }
    struct sl_sigv4_creds *c = l->creds;
    if (c->n == SL_SIGV4_CREDS_MAX) {
        return load_error(l, p->akid_line, "more than %d key pairs", SL_SIGV4_CREDS_MAX);
    }
    if (sl_grow((void **)&c->items, &c->cap, c->n + 1, sizeof(*c->items)) != SL_OK) {
        load_error(l, 0, "out of memory");
        return SL_ENOMEM;
    }
    struct cred *e = &c->items[c->n++];
    memcpy(e->akid, p->akid, sizeof(e->akid));
    memcpy(e->secret, p->secret, sizeof(e->secret));
    e->line = p->akid_line;
    OPENSSL_cleanse(p->secret, sizeof(p->secret));
    return SL_OK;
}

static int start_profile(struct loader *l, int lineno, const char *name)
{
    int rv = finish_profile(l);
    if (rv != SL_OK) {
        return rv;
    }
    if (l->n_names == SL_SIGV4_CREDS_MAX) {
        return load_error(l, lineno, "more than %d profiles", SL_SIGV4_CREDS_MAX);
    }
    size_t len = strlen(name);
    char *copy = sl_malloc(len + 1);
    if (!copy ||
        sl_grow((void **)&l->names, &l->names_cap, l->n_names + 1, sizeof(*l->names)) != SL_OK) {
        sl_free(copy);
        load_error(l, 0, "out of memory");
        return SL_ENOMEM;
    }
    memcpy(copy, name, len + 1);
    l->names[l->n_names].name = copy;
    l->names[l->n_names].line = lineno;
    l->n_names++;
    struct profile *p = &l->cur;
    memset(p, 0, sizeof(*p));
    p->open = true;
    p->line = lineno;
    memcpy(p->name, name, len + 1);
    return SL_OK;
}

/* Sets the profile's aws_access_key_id (is_id) or aws_secret_access_key from `value`. */
static int set_key(struct loader *l, int lineno, bool is_id, struct span value)
{
    struct profile *p = &l->cur;
    const char *key = is_id ? "aws_access_key_id" : "aws_secret_access_key";
    int *line = is_id ? &p->akid_line : &p->secret_line;
    size_t max = is_id ? SL_SIGV4_AKID_BYTES_MAX : SL_SIGV4_SECRET_BYTES_MAX;
    if (*line != 0) {
        return load_error(l, lineno, "%s is set twice in profile [%s] (first at line %d)", key,
                          p->name, *line);
    }
    if (value.n == 0) {
        return load_error(l, lineno, "%s has no value", key);
    }
    if (value.n > max || !all_visible(value) || (is_id && memchr(value.p, '/', value.n))) {
        return load_error(l, lineno,
                          "%s must be 1 to %zu printable characters without spaces%s (a comment "
                          "after a value is part of it)",
                          key, max, is_id ? " or '/'" : "");
    }
    char *dst = is_id ? p->akid : p->secret;
    memcpy(dst, value.p, value.n);
    dst[value.n] = '\0';
    *line = lineno;
    return SL_OK;
}

static int parse_line(struct loader *l, int lineno, size_t len)
{
    struct span s = span_of(l->line, len);
    if (lineno == 1 && s.n >= 3 && memcmp(s.p, "\xEF\xBB\xBF", 3) == 0) {
        s = span_of(s.p + 3, s.n - 3);
    }
    s = trim(s);
    if (s.n == 0 || s.p[0] == '#' || s.p[0] == ';') {
        return SL_OK;
    }
    if (s.p[0] == '[') {
        size_t close = s.n;
        while (close > 0 && s.p[close - 1] != ']') {
            close--;
        }
        struct span after = trim(span_of(s.p + close, s.n - close));
        if (close <= 1 || (after.n > 0 && after.p[0] != '#' && after.p[0] != ';')) {
            return load_error(l, lineno, "a section line must be '[profile name]'");
        }
        struct span name = trim(span_of(s.p + 1, close - 2));
        if (name.n == 0) {
            return load_error(l, lineno, "the profile name is empty");
        }
        char buf[SL_SIGV4_CREDS_LINE_BYTES_MAX];
        memcpy(buf, name.p, name.n);
        buf[name.n] = '\0';
        return start_profile(l, lineno, buf);
    }
    const char *eq = memchr(s.p, '=', s.n);
    if (!eq) {
        return load_error(l, lineno, "expected '[profile]', 'key = value' or a comment");
    }
    struct span key = trim(span_of(s.p, (size_t)(eq - s.p)));
    struct span value = trim(span_of(eq + 1, s.n - (size_t)(eq - s.p) - 1));
    if (key.n == 0) {
        return load_error(l, lineno, "a key is missing before '='");
    }
    if (!l->cur.open) {
        return load_error(l, lineno, "'%.*s' comes before any [profile] section", (int)key.n,
                          key.p);
    }
    if (eq_nocase(key, span_str("aws_access_key_id"))) {
        return set_key(l, lineno, true, value);
    }
    if (eq_nocase(key, span_str("aws_secret_access_key"))) {
        return set_key(l, lineno, false, value);
    }
    return SL_OK; /* another setting (aws_session_token, region, ...): not ours */
}

/* Sorts the pairs, drops exact repeats, and refuses one id with two secrets and duplicate
 * profile names. */
static int finish_file(struct loader *l)
{
    struct sl_sigv4_creds *c = l->creds;
    if (l->n_names > 1) {
        qsort(l->names, l->n_names, sizeof(*l->names), name_cmp);
        for (size_t i = 1; i < l->n_names; i++) {
            if (strcmp(l->names[i - 1].name, l->names[i].name) == 0) {
                return load_error(l, l->names[i].line, "profile [%s] again (first at line %d)",
                                  l->names[i].name, l->names[i - 1].line);
            }
        }
    }
    if (c->n == 0) {
        return load_error(l, 0, "no aws_access_key_id/aws_secret_access_key pair");
    }
    qsort(c->items, c->n, sizeof(*c->items), cred_cmp);
    size_t kept = 1;
    for (size_t i = 1; i < c->n; i++) {
        struct cred *prev = &c->items[kept - 1];
        if (strcmp(prev->akid, c->items[i].akid) != 0) {
            c->items[kept++] = c->items[i];
        } else if (strcmp(prev->secret, c->items[i].secret) != 0) {
            return load_error(l, c->items[i].line,
                              "access key id %s is given again with a different secret (first "
                              "at line %d)",
                              c->items[i].akid, prev->line);
        }
    }
    OPENSSL_cleanse(c->items + kept, (c->n - kept) * sizeof(*c->items));
    c->n = kept;
    return SL_OK;
}

int sl_sigv4_creds_load(const char *path, struct sl_sigv4_creds **out, char *err, size_t err_len)
{
    *out = NULL;
    if (err && err_len > 0) {
        err[0] = '\0';
    }
    struct loader *l = sl_calloc(1, sizeof(*l));
    if (!l) {
        if (err && err_len > 0) {
            snprintf(err, err_len, "%s: out of memory", path);
        }
        return SL_ENOMEM;
    }
    l->path = path;
    l->err = err;
    l->err_len = err_len;
    int rv = SL_ENOMEM;
    l->creds = sl_calloc(1, sizeof(*l->creds));
    if (!l->creds) {
        load_error(l, 0, "out of memory");
        goto free_loader;
    }
    l->f = fopen(path, "r");
    if (!l->f) {
        if (err && err_len > 0) {
            snprintf(err, err_len, "cannot read credentials file %s: %s", path, strerror(errno));
        }
        rv = SL_EIO;
        goto free_creds;
    }
    rv = SL_OK;
    for (int lineno = 1; rv == SL_OK; lineno++) {
        size_t len = 0;
        int got = read_line(l, lineno, &len);
        if (got < 0) {
            rv = got;
        } else if (got == 0) {
            rv = finish_profile(l);
            break;
        } else {
            rv = parse_line(l, lineno, len);
        }
    }
    if (rv == SL_OK) {
        rv = finish_file(l);
    }
    fclose(l->f);
    if (rv == SL_OK) {
        *out = l->creds;
        l->creds = NULL;
    }
free_creds:
    sl_sigv4_creds_free(l->creds);
free_loader:
    for (size_t i = 0; i < l->n_names; i++) {
        sl_free(l->names[i].name);
    }
    sl_free(l->names);
    OPENSSL_cleanse(l, sizeof(*l)); /* the line buffer and profile held secrets */
    sl_free(l);
    return rv;
}

static int akid_cmp(const void *key, const void *item)
{
    return strcmp(key, ((const struct cred *)item)->akid);
}

bool sl_sigv4_creds_lookup(void *creds, const char *access_key_id, char *secret, size_t secret_cap)
{
    const struct sl_sigv4_creds *c = creds;
    const struct cred *e = bsearch(access_key_id, c->items, c->n, sizeof(*c->items), akid_cmp);
    if (!e) {
        return false;
    }
    size_t len = strlen(e->secret);
    if (len >= secret_cap) {
        return false;
    }
    memcpy(secret, e->secret, len + 1);
    return true;
}

size_t sl_sigv4_creds_count(const struct sl_sigv4_creds *c)
{
    return c->n;
}

void sl_sigv4_creds_free(struct sl_sigv4_creds *c)
{
    if (!c) {
        return;
    }
    if (c->items) {
        OPENSSL_cleanse(c->items, c->cap * sizeof(*c->items));
    }
    sl_free(c->items);
    sl_free(c);
}
