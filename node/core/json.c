/* json.c — the strict JSON decoder and the JSON half of the writer (see json.h).
 *
 * Notes on the design:
 *
 * 1. The decoder is a loop over explicit stacks, not recursive descent: nesting costs heap
 *    (bounded by depth_max), never C stack. The members of every open map or array collect on
 *    one stack (`members`); `frames` records where each open container's members begin. When a
 *    container closes its members are copied into the arena (sl_doc_set_container), so every
 *    tree is laid out the same way whatever decoded it.
 *
 * 2. Strings are read twice: once to validate them and measure the decoded length, once to
 *    decode into an arena block of exactly that size.
 *
 * 3. Numbers: the grammar is checked here, then the digits are normalised (leading and
 *    trailing zeros dropped) into value = D × 10^e. Integral values that fit int64 are exact
 *    (`i`), and `d` is their correctly rounded double. Other values take Clinger's fast path
 *    when D and the power of ten are both exact doubles (one correctly rounded operation), and
 *    otherwise strtod on a rewritten text "De<e>" that has no decimal point, so the locale's
 *    radix character cannot matter. Beyond 780 significant digits the rest is replaced by one
 *    non-zero "sticky" digit: halfway points between doubles need at most 767 digits, so the
 *    rounding is unchanged, and strtod never sees more than a short stack buffer.
 */
#include "core/json.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/base64.h"
#include "core/codec.h"
#include "core/errors.h"
#include "core/utf8.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers (shared by the decoder and the writer) ---- */

#define KEEP_DIGITS 780
/* Exponents are accumulated up to this magnitude; anything beyond is far outside a double's
 * range whatever the digits, and clamping keeps the arithmetic in int64. */
#define EXP_CLAMP ((int64_t)1000000000000000)

/* The double nearest to ±D × 10^e10, where `dig` holds the `nd` (1..KEEP_DIGITS + 1) decimal
 * digits of D. May be infinite or zero when out of range. */
static double decimal_to_double(bool neg, const char *dig, size_t nd, int64_t e10)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double d;
    if (FLT_EVAL_METHOD == 0 && nd <= 15 && e10 >= -22 && e10 <= 22) {
        /* D < 10^15 < 2^53 and 10^|e10| <= 10^22 are exact, so one IEEE operation rounds once. */
        uint64_t m = 0;
        for (size_t k = 0; k < nd; k++) {
            m = m * 10 + (uint64_t)(dig[k] - '0');
        }
        d = e10 >= 0 ? (double)m * pow10[e10] : (double)m / pow10[-e10];
    } else {
        char buf[KEEP_DIGITS + 32];
        SL_ASSERT(nd <= KEEP_DIGITS + 1);
        snprintf(buf, sizeof(buf), "%.*se%lld", (int)nd, dig, (long long)e10);
        char *end;
        d = strtod(buf, &end);
        SL_ASSERT(*end == '\0');
    }
    return neg ? -d : d;
}

/* ---- decoding ---- */

struct frame {
    size_t base; /* its first member on the stack */
    bool map;
    const char *key; /* map: the key whose value is being read */
    size_t key_len;
};

struct parser {
    const unsigned char *p;
    size_t len, pos;
    struct sl_doc *d;
    struct sl_doc_limits lim;
    size_t values;
    struct sl_doc_member *members; /* of every open container, innermost last */
    size_t n, cap;
    struct frame *frames;
    size_t depth, frames_cap;
    char *err;
    size_t err_len;
};

static int fail(struct parser *j, size_t at, const char *fmt, ...)
{
    if (j->err && j->err_len > 0) {
        int k = snprintf(j->err, j->err_len, "invalid JSON at byte %zu: ", at);
        if (k >= 0 && (size_t)k < j->err_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(j->err + k, j->err_len - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return SL_ESERIAL;
}

static int oom(struct parser *j)
{
    if (j->err && j->err_len > 0) {
        snprintf(j->err, j->err_len, "out of memory");
    }
    return SL_ENOMEM;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static void skip_ws(struct parser *j)
{
    while (j->pos < j->len) {
        unsigned char c = j->p[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        j->pos++;
    }
}

/* The four hex digits at `at`, or -1. */
static long hex4(const struct parser *j, size_t at)
{
    if (j->len - at < 4) {
        return -1;
    }
    long v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = sl_hex_value((unsigned char)j->p[at + k]);
        if (h < 0) {
            return -1;
        }
        v = v << 4 | h;
    }
    return v;
}

/* The \u escape at `at` (the backslash): its code point and length (6, or 12 for a surrogate
 * pair). */
static int u_escape(struct parser *j, size_t at, uint32_t *cp, size_t *used)
{
    long hi = hex4(j, at + 2);
    if (hi < 0) {
        return fail(j, at, "expected four hex digits after \\u");
    }
    if (hi >= 0xdc00 && hi <= 0xdfff) {
        return fail(j, at, "lone low surrogate \\u%04lX", hi);
    }
    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = (uint32_t)hi;
        *used = 6;
        return SL_OK;
    }
    long lo = -1;
    if (j->len - at >= 12 && j->p[at + 6] == '\\' && j->p[at + 7] == 'u') {
        lo = hex4(j, at + 8);
    }
    if (lo < 0xdc00 || lo > 0xdfff) {
        return fail(j, at,
                    "high surrogate \\u%04lX not followed by a low surrogate \\uDC00-\\uDFFF", hi);
    }
    *cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
    *used = 12;
    return SL_OK;
}

static size_t utf8_len(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

static size_t utf8_put(unsigned char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

static unsigned char short_escape(unsigned char c)
{
    switch (c) {
    case '"':
    case '\\':
    case '/':
        return c;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return 0;
    }
}

/* Validates the string whose opening quote is at j->pos: its closing quote is at `*end` and it
 * decodes to `*out_len` bytes. */
static int scan_string(struct parser *j, size_t *end, size_t *out_len)
{
    size_t i = j->pos + 1, n = 0;
    for (;;) {
        if (i >= j->len) {
            return fail(j, i, "expected '\"' to end the string begun at byte %zu", j->pos);
        }
        unsigned char c = j->p[i];
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return fail(j, i, "control character 0x%02x in a string must be escaped", c);
        }
        if (c < 0x80 && c != '\\') {
            i++, n++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = sl_utf8_decode(j->p + i, j->len - i, NULL);
            if (k == 0) {
                return fail(j, i, "invalid UTF-8 in a string");
            }
            i += k, n += k;
            continue;
        }
        if (i + 1 >= j->len) {
            return fail(j, i + 1, "expected an escape character after '\\'");
        }
        unsigned char x = j->p[i + 1];
        if (x == 'u') {
            uint32_t cp;
            size_t used;
            int rc = u_escape(j, i, &cp, &used);
            if (rc != SL_OK) {
                return rc;
            }
            i += used, n += utf8_len(cp);
        } else if (short_escape(x)) {
            i += 2, n++;
        } else if (x > 0x20 && x < 0x7f) {
            return fail(j, i, "invalid escape '\\%c'", x);
        } else {
            return fail(j, i, "invalid escape: byte 0x%02x after '\\'", x);
        }
    }
    *end = i;
    *out_len = n;
    return SL_OK;
}

/* The string at j->pos, decoded into the arena (NUL-terminated); j->pos moves past it. */
static int parse_string(struct parser *j, const char **s, size_t *len)
{
    size_t end = 0, n = 0;
    int rc = scan_string(j, &end, &n);
    if (rc != SL_OK) {
        return rc;
    }
    unsigned char *o = sl_doc_alloc(j->d, n + 1);
    if (!o) {
        return oom(j);
    }
    size_t w = 0;
    for (size_t i = j->pos + 1; i < end;) {
        unsigned char c = j->p[i];
        if (c != '\\') {
            o[w++] = c;
            i++;
        } else if (j->p[i + 1] != 'u') {
            o[w++] = short_escape(j->p[i + 1]);
            i += 2;
        } else {
            uint32_t cp;
            size_t used;
            rc = u_escape(j, i, &cp, &used);
            SL_ASSERT(rc == SL_OK); /* scan_string checked it */
            w += utf8_put(o + w, cp);
            i += used;
        }
    }
    SL_ASSERT(w == n);
    o[n] = '\0';
    *s = (const char *)o;
    *len = n;
    j->pos = end + 1;
    return SL_OK;
}

/* Fills `v` from the number ±(int digits . frac digits) × 10^exp that began at `start`. */
static int number_value(struct parser *j, size_t start, bool neg, const unsigned char *ip,
                        size_t il, const unsigned char *fp, size_t fl, int64_t exp,
                        struct sl_doc_value *v)
{
    memset(v, 0, sizeof(*v));
    v->type = SL_DOC_NUMBER;
    size_t total = il + fl;
#define DIGIT(k) ((k) < il ? ip[(k)] : fp[(k)-il])
    size_t first = 0;
    while (first < total && DIGIT(first) == '0') {
        first++;
    }
    if (first == total) {
        v->is_int = true;
        v->d = neg ? -0.0 : 0.0;
        return SL_OK;
    }
    size_t last = total - 1;
    while (DIGIT(last) == '0') {
        last--;
    }
    /* value = ±D × 10^e10, D being the nd digits first..last */
    size_t nd = last - first + 1;
    int64_t e10 = exp - (int64_t)fl + (int64_t)(total - 1 - last);
    char dig[KEEP_DIGITS + 1];
    size_t kept = nd <= KEEP_DIGITS ? nd : KEEP_DIGITS;
    for (size_t k = 0; k < kept; k++) {
        dig[k] = (char)DIGIT(first + k);
    }
#undef DIGIT
    if (kept < nd) {
        dig[kept] = '1'; /* sticky: the dropped digits end in a non-zero one */
        e10 += (int64_t)(nd - kept - 1);
        nd = kept + 1;
    }
    if (e10 >= 0 && e10 <= 19 - (int64_t)nd) {
        /* Integral with at most 19 digits: exact in uint64. */
        uint64_t u = 0;
        for (size_t k = 0; k < nd; k++) {
            u = u * 10 + (uint64_t)(dig[k] - '0');
        }
        for (int64_t k = 0; k < e10; k++) {
            u *= 10;
        }
        if (u <= (uint64_t)INT64_MAX || (neg && u == (uint64_t)INT64_MAX + 1)) {
            v->is_int = true;
            v->i = !neg ? (int64_t)u : u > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)u;
            v->d = neg ? -(double)u : (double)u;
            return SL_OK;
        }
    }
    v->d = decimal_to_double(neg, dig, nd, e10);
    if (v->d - v->d != 0.0) {
        return fail(j, start, "number out of the range of a double");
    }
    return SL_OK;
}

static int parse_number(struct parser *j, struct sl_doc_value *v)
{
    const unsigned char *p = j->p;
    size_t len = j->len, start = j->pos, i = start;
    bool neg = p[i] == '-';
    i += neg;
    if (i >= len || !is_digit(p[i])) {
        return fail(j, i, "expected a digit after '-'");
    }
    size_t int_start = i;
    if (p[i] == '0') {
        i++;
        if (i < len && is_digit(p[i])) {
            return fail(j, int_start, "a number must not have leading zeros");
        }
    } else {
        while (i < len && is_digit(p[i])) {
            i++;
        }
    }
    size_t int_len = i - int_start, frac_start = i, frac_len = 0;
    if (i < len && p[i] == '.') {
        i++;
        frac_start = i;
        if (i >= len || !is_digit(p[i])) {
            return fail(j, i, "expected a digit after '.'");
        }
        while (i < len && is_digit(p[i])) {
            i++;
        }
        frac_len = i - frac_start;
    }
    int64_t exp = 0;
    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        bool exp_neg = false;
        if (i < len && (p[i] == '+' || p[i] == '-')) {
            exp_neg = p[i] == '-';
            i++;
        }
        if (i >= len || !is_digit(p[i])) {
            return fail(j, i, "expected a digit in the exponent");
        }
        while (i < len && is_digit(p[i])) {
            if (exp < EXP_CLAMP) {
                exp = exp * 10 + (p[i] - '0');
            }
            i++;
        }
        exp = exp_neg ? -exp : exp;
    }
    j->pos = i;
    return number_value(j, start, neg, p + int_start, int_len, p + frac_start, frac_len, exp, v);
}

static int parse_literal(struct parser *j, struct sl_doc_value *v)
{
    static const struct {
        const char *text;
        enum sl_doc_type type;
        bool b;
    } literals[] = {
        {"true", SL_DOC_BOOL, true}, {"false", SL_DOC_BOOL, false}, {"null", SL_DOC_NULL, false}};
    for (size_t k = 0; k < sizeof(literals) / sizeof(literals[0]); k++) {
        size_t n = strlen(literals[k].text);
        if (j->len - j->pos >= n && memcmp(j->p + j->pos, literals[k].text, n) == 0) {
            memset(v, 0, sizeof(*v));
            v->type = literals[k].type;
            v->b = literals[k].b;
            j->pos += n;
            return SL_OK;
        }
    }
    return fail(j, j->pos, "expected a value: true, false or null?");
}

/* The key of the next member of the innermost map, and the colon after it. */
static int parse_key(struct parser *j, bool first)
{
    skip_ws(j);
    if (j->pos >= j->len || j->p[j->pos] != '"') {
        return fail(j, j->pos,
                    first ? "expected a string key or '}'" : "expected a string key after ','");
    }
    struct frame *f = &j->frames[j->depth - 1];
    int rc = parse_string(j, &f->key, &f->key_len);
    if (rc != SL_OK) {
        return rc;
    }
    skip_ws(j);
    if (j->pos >= j->len || j->p[j->pos] != ':') {
        return fail(j, j->pos, "expected ':' after an object key");
    }
    j->pos++;
    return SL_OK;
}

/* Closes the innermost container (its closing bracket at j->pos) into `v`. */
static int close_container(struct parser *j, struct sl_doc_value *v)
{
    struct frame *f = &j->frames[j->depth - 1];
    size_t n = j->n - f->base;
    /* No member may have been pushed yet: then `members` may be NULL, with no offset to add. */
    const struct sl_doc_member *m = n ? j->members + f->base : NULL;
    int rc = sl_doc_set_container(j->d, v, f->map ? SL_DOC_MAP : SL_DOC_ARRAY, m, n);
    if (rc != SL_OK) {
        return oom(j);
    }
    j->n = f->base;
    j->depth--;
    j->pos++;
    return SL_OK;
}

/* Reads a value. A scalar, or a container that closes at once, fills `v` and sets `*complete`;
 * any other container is left open, positioned before its first value. */
static int begin_value(struct parser *j, struct sl_doc_value *v, bool *complete)
{
    skip_ws(j);
    if (j->pos >= j->len) {
        return fail(j, j->pos, "expected a value");
    }
    if (++j->values > j->lim.values_max) {
        return fail(j, j->pos, "more than %zu values", j->lim.values_max);
    }
    unsigned char c = j->p[j->pos];
    *complete = true;
    if (c == '{' || c == '[') {
        if (j->depth >= j->lim.depth_max) {
            return fail(j, j->pos, "maps and arrays nested deeper than %u levels",
                        j->lim.depth_max);
        }
        if (sl_grow((void **)&j->frames, &j->frames_cap, j->depth + 1, sizeof(*j->frames)) !=
            SL_OK) {
            return oom(j);
        }
        bool map = c == '{';
        j->frames[j->depth++] = (struct frame){j->n, map, NULL, 0};
        j->pos++;
        skip_ws(j);
        if (j->pos < j->len && j->p[j->pos] == (map ? '}' : ']')) {
            return close_container(j, v);
        }
        *complete = false;
        return map ? parse_key(j, true) : SL_OK;
    }
    if (c == '"') {
        memset(v, 0, sizeof(*v));
        v->type = SL_DOC_STRING;
        return parse_string(j, &v->s, &v->len);
    }
    if (c == '-' || is_digit(c)) {
        return parse_number(j, v);
    }
    if (c == 't' || c == 'f' || c == 'n') {
        return parse_literal(j, v);
    }
    return fail(j, j->pos, "expected a value");
}

/* Adds the finished value `v` to the innermost container, then reads what follows it: a comma
 * (and, in a map, the next key) leaves `*complete` false; the closing bracket closes the
 * container into `v` and sets it. */
static int after_value(struct parser *j, struct sl_doc_value *v, bool *complete)
{
    struct frame *f = &j->frames[j->depth - 1];
    if (sl_grow((void **)&j->members, &j->cap, j->n + 1, sizeof(*j->members)) != SL_OK) {
        return oom(j);
    }
    j->members[j->n++] = (struct sl_doc_member){f->key, f->key_len, *v};
    skip_ws(j);
    unsigned char c = j->pos < j->len ? j->p[j->pos] : 0;
    if (c == ',') {
        j->pos++;
        *complete = false;
        return f->map ? parse_key(j, false) : SL_OK;
    }
    if (c == (f->map ? '}' : ']')) {
        *complete = true;
        return close_container(j, v);
    }
    return fail(j, j->pos,
                f->map ? "expected ',' or '}' after an object member"
                       : "expected ',' or ']' after an array item");
}

int sl_json_decode(struct sl_doc *d, const void *text, size_t len, const struct sl_doc_limits *lim,
                   const struct sl_doc_value **root, char *err, size_t err_len)
{
    struct parser j = {.p = text,
                       .len = len,
                       .d = d,
                       .lim = sl_doc_limits_resolve(lim),
                       .err = err,
                       .err_len = err_len};
    struct sl_doc_value v;
    int rc;
    for (;;) {
        bool complete;
        rc = begin_value(&j, &v, &complete);
        while (rc == SL_OK && complete && j.depth > 0) {
            rc = after_value(&j, &v, &complete);
        }
        if (rc != SL_OK || (complete && j.depth == 0)) {
            break;
        }
    }
    if (rc != SL_OK) {
        goto free_stacks;
    }
    skip_ws(&j);
    if (j.pos != j.len) {
        rc = fail(&j, j.pos, "expected the end of the input after the top-level value");
        goto free_stacks;
    }
    struct sl_doc_value *top = sl_doc_alloc(d, sizeof(*top));
    if (!top) {
        rc = oom(&j);
        goto free_stacks;
    }
    *top = v;
    *root = top;
free_stacks:
    sl_free(j.members);
    sl_free(j.frames);
    return rc;
}

/* ---- writing ---- */

void sl_json_write_str(struct sl_enc *e, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    sl_enc_put(e, "\"", 1);
    size_t run = 0;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        if (k > run) {
            sl_enc_put(e, s + run, k - run);
        }
        run = k + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
            break;
        }
        sl_enc_put(e, esc, n);
    }
    if (len > run) {
        sl_enc_put(e, s + run, len - run);
    }
    sl_enc_put(e, "\"", 1);
}

void sl_json_write_bytes(struct sl_enc *e, const void *p, size_t len)
{
    if (len > SIZE_MAX / 2) {
        e->failed = true;
        return;
    }
    size_t n = sl_base64_encoded_len(len);
    unsigned char *o = sl_enc_reserve(e, n + 2);
    if (!o) {
        return;
    }
    o[0] = '"';
    sl_base64_encode(p, len, (char *)o + 1); /* its NUL lands where the quote goes */
    o[n + 1] = '"';
}

static void write_signed(struct sl_enc *e, bool neg, uint64_t mag)
{
    char buf[24];
    size_t n = 0;
    if (neg) {
        buf[n++] = '-';
    }
    n += sl_format_u64(mag, 1, buf + n);
    sl_enc_put(e, buf, n);
}

/* |v| without overflow for INT64_MIN. */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

void sl_json_write_int(struct sl_enc *e, int64_t v)
{
    write_signed(e, v < 0, magnitude(v));
}

void sl_json_write_time_ms(struct sl_enc *e, int64_t ms)
{
    uint64_t mag = magnitude(ms);
    write_signed(e, ms < 0, mag / 1000);
    char frac[4] = {'.'};
    sl_format_u64(mag % 1000, 3, frac + 1);
    sl_enc_put(e, frac, 4);
}

/* The significant digits (no trailing zeros) and exponent of `v` rounded to `prec` digits:
 * |v| ≈ D × 10^e10. snprintf's "%e" is used for the digits only; its radix character, which
 * depends on the locale, is skipped. */
static size_t digits_of(double v, int prec, char *dig, int64_t *e10)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
    size_t nd = 0;
    const char *c = buf;
    while (*c && *c != 'e') {
        if (is_digit((unsigned char)*c)) {
            dig[nd++] = *c;
        }
        c++;
    }
    SL_ASSERT(*c == 'e' && nd == (size_t)prec);
    long long x = strtoll(c + 1, NULL, 10);
    while (nd > 1 && dig[nd - 1] == '0') {
        nd--;
    }
    *e10 = x - (long long)(nd - 1);
    return nd;
}

void sl_json_write_double(struct sl_enc *e, double v)
{
    SL_ASSERT(v - v == 0.0);
    bool neg = signbit(v) != 0;
    if (v == 0.0) {
        sl_enc_put(e, neg ? "-0" : "0", neg ? 2 : 1);
        return;
    }
    if (v >= -9223372036854775808.0 && v < 9223372036854775808.0 && (double)(int64_t)v == v) {
        /* Integral and within int64: every digit, so that the reader's exact `i` is this value
         * (the shortest text of 2^62 would read back as the integer 4611686018427388000). */
        sl_json_write_int(e, (int64_t)v);
        return;
    }
    char dig[20];
    int64_t e10 = 0;
    size_t nd = 0;
    /* 17 significant digits always read back exactly; fewer usually do and read better. */
    for (int prec = 15; prec <= 17; prec++) {
        nd = digits_of(v, prec, dig, &e10);
        if (decimal_to_double(neg, dig, nd, e10) == v) {
            break;
        }
    }
    /* |v| = 0.D × 10^point: plain notation when the point is near the digits, as JavaScript
     * does, else d.ddde±x. */
    int64_t point = (int64_t)nd + e10;
    char out[48];
    size_t n = 0;
    if (neg) {
        out[n++] = '-';
    }
    if (point > 0 && point <= 21) {
        for (int64_t k = 0; k < point || k < (int64_t)nd; k++) {
            if (k == point) {
                out[n++] = '.';
            }
            out[n++] = k < (int64_t)nd ? dig[k] : '0';
        }
    } else if (point <= 0 && point > -6) {
        out[n++] = '0';
        out[n++] = '.';
        for (int64_t k = point; k < 0; k++) {
            out[n++] = '0';
        }
        memcpy(out + n, dig, nd);
        n += nd;
    } else {
        out[n++] = dig[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, dig + 1, nd - 1);
            n += nd - 1;
        }
        n += (size_t)snprintf(out + n, sizeof(out) - n, "e%+lld", (long long)(point - 1));
    }
    sl_enc_put(e, out, n);
}
