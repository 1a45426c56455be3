/* cbor.c — the CBOR decoder and the CBOR half of the writer (see cbor.h).
 *
 * Notes on the design:
 *
 * 1. Like the JSON decoder, a loop over explicit stacks (open containers in `frames`, their
 *    members on `members`), so neither deep nesting nor long chains of tags use C stack.
 *
 * 2. Nothing is allocated from an announced length until the input could hold it: a string of
 *    n bytes needs n bytes left, an array of n items n bytes (every item takes at least one),
 *    a map of n members 2n, and n more values must fit in values_max. Definite containers do
 *    not preallocate at all: their members collect on the stack as they are read, so memory
 *    follows the bytes actually present, never the count a head claims.
 *
 * 3. Indefinite-length strings are read twice: once to check every chunk (same major type,
 *    definite length, each text chunk valid UTF-8 on its own as RFC 8949 §3.2.3 requires) and
 *    add up the length, once to copy the chunks into one arena block.
 *
 * 4. Numbers: floats that are integral and fit int64 are also integers (is_int), as JSON's
 *    3.0 is; integers beyond int64 are kept as doubles only. NaN and infinities are refused so
 *    that every decoded tree can be written as JSON.
 */
#include "core/cbor.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"
#include "core/utf8.h"

#include <float.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum {
    MAJOR_UINT = 0,
    MAJOR_NEGINT = 1,
    MAJOR_BYTES = 2,
    MAJOR_TEXT = 3,
    MAJOR_ARRAY = 4,
    MAJOR_MAP = 5,
    MAJOR_TAG = 6,
    MAJOR_SIMPLE = 7,
};

#define BREAK 0xff

static const char *const major_names[] = {
    "an unsigned integer",
    "a negative integer",
    "a byte string",
    "a text string",
    "an array",
    "a map",
    "a tag",
    "a simple value or float",
};

struct frame {
    size_t base;   /* its first member on the stack */
    uint64_t left; /* definite: items (map: members) still to read */
    bool indefinite;
    bool map;
    const char *key; /* map: the key whose value is being read */
    size_t key_len;
};

struct decoder {
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

/* An item's initial byte and argument. */
struct head {
    size_t at; /* offset of the initial byte */
    unsigned major, ai;
    uint64_t arg;    /* ai < 28: the value, length or count */
    bool indefinite; /* ai == 31 (for major 7: a break) */
};

static int fail(struct decoder *c, size_t at, const char *fmt, ...)
{
    if (c->err && c->err_len > 0) {
        int k = snprintf(c->err, c->err_len, "invalid CBOR at byte %zu: ", at);
        if (k >= 0 && (size_t)k < c->err_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + k, c->err_len - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return SL_ESERIAL;
}

static int oom(struct decoder *c)
{
    if (c->err && c->err_len > 0) {
        snprintf(c->err, c->err_len, "out of memory");
    }
    return SL_ENOMEM;
}

static size_t left(const struct decoder *c)
{
    return c->len - c->pos;
}

static int read_head(struct decoder *c, struct head *h)
{
    h->at = c->pos;
    if (c->pos >= c->len) {
        return fail(c, c->pos, "expected an item, found the end of the input");
    }
    unsigned char b = c->p[c->pos++];
    h->major = b >> 5;
    h->ai = b & 31;
    h->arg = h->ai;
    h->indefinite = false;
    if (h->ai < 24) {
        return SL_OK;
    }
    if (h->ai < 28) {
        size_t n = (size_t)1 << (h->ai - 24);
        if (left(c) < n) {
            return fail(c, h->at, "the head needs %zu more bytes, %zu remain", n, left(c));
        }
        uint64_t a = 0;
        for (size_t k = 0; k < n; k++) {
            a = a << 8 | c->p[c->pos + k];
        }
        c->pos += n;
        h->arg = a;
        return SL_OK;
    }
    if (h->ai < 31) {
        return fail(c, h->at, "reserved additional information %u", h->ai);
    }
    if (h->major == MAJOR_UINT || h->major == MAJOR_NEGINT || h->major == MAJOR_TAG) {
        return fail(c, h->at, "%s cannot have an indefinite length", major_names[h->major]);
    }
    h->indefinite = true;
    return SL_OK;
}

static int check_utf8(struct decoder *c, size_t at, size_t n)
{
    const unsigned char *s = c->p + at;
    for (size_t k = 0; k < n;) {
        if (s[k] < 0x80) {
            k++;
            continue;
        }
        size_t m = sl_utf8_decode(s + k, n - k, NULL);
        if (m == 0) {
            return fail(c, at + k, "invalid UTF-8 in a text string");
        }
        k += m;
    }
    return SL_OK;
}

/* The byte or text string whose head `h` was just read, copied into the arena and
 * NUL-terminated. */
static int read_string(struct decoder *c, const struct head *h, const char **s, size_t *len)
{
    bool text = h->major == MAJOR_TEXT;
    const char *what = major_names[h->major];
    const char *kind = text ? "text" : "byte";
    size_t total = 0;
    size_t start = c->pos;
    if (!h->indefinite) {
        if (h->arg > left(c)) {
            return fail(c, h->at, "%s of %llu bytes announced with only %zu bytes left", what,
                        (unsigned long long)h->arg, left(c));
        }
        total = (size_t)h->arg;
        if (text) {
            int rc = check_utf8(c, c->pos, total);
            if (rc != SL_OK) {
                return rc;
            }
        }
        c->pos += total;
    } else {
        /* Pass 1: check the chunks and add up their lengths. */
        for (;;) {
            if (c->pos >= c->len) {
                return fail(c, c->pos,
                            "expected a chunk or a break in an indefinite-length %s string", kind);
            }
            if (c->p[c->pos] == BREAK) {
                break;
            }
            struct head ch;
            int rc = read_head(c, &ch);
            if (rc != SL_OK) {
                return rc;
            }
            if (ch.major != h->major || ch.indefinite) {
                return fail(c, ch.at,
                            "a chunk of an indefinite-length %s string must be a definite-length "
                            "%s string, not %s",
                            kind, kind,
                            ch.major == h->major ? "an indefinite-length one"
                                                 : major_names[ch.major]);
            }
            if (ch.arg > left(c)) {
                return fail(c, ch.at, "a chunk of %llu bytes announced with only %zu bytes left",
                            (unsigned long long)ch.arg, left(c));
            }
            if (text) {
                rc = check_utf8(c, c->pos, (size_t)ch.arg);
                if (rc != SL_OK) {
                    return rc;
                }
            }
            c->pos += (size_t)ch.arg;
            total += (size_t)ch.arg;
        }
    }
    char *o = sl_doc_alloc(c->d, total + 1);
    if (!o) {
        return oom(c);
    }
    if (!h->indefinite) {
        memcpy(o, c->p + start, total);
    } else {
        /* Pass 2: copy the chunks, which pass 1 checked. */
        size_t end = c->pos, w = 0;
        c->pos = start;
        while (c->p[c->pos] != BREAK) {
            struct head ch;
            int rc = read_head(c, &ch);
            SL_ASSERT(rc == SL_OK);
            memcpy(o + w, c->p + c->pos, (size_t)ch.arg);
            c->pos += (size_t)ch.arg;
            w += (size_t)ch.arg;
        }
        SL_ASSERT(c->pos == end && w == total);
        c->pos++; /* the break */
    }
    o[total] = '\0';
    *s = o;
    *len = total;
    return SL_OK;
}

/* Float bits as a double. */
static double half_to_double(uint16_t h)
{
    unsigned exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double d;
    if (exp == 0) {
        d = mant / 16777216.0; /* subnormal: mant × 2^-24 */
    } else {
        /* (1024 + mant) × 2^(exp - 25); exp - 25 is in -24..5, and powers of two are exact. */
        d = 1024 + mant;
        for (unsigned k = exp; k < 25; k++) {
            d *= 0.5;
        }
        for (unsigned k = 25; k < exp; k++) {
            d *= 2;
        }
    }
    return h & 0x8000 ? -d : d;
}

static double single_to_double(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

static double double_of(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static void set_number(struct sl_doc_value *v, double d)
{
    v->type = SL_DOC_NUMBER;
    v->d = d;
    /* -2^63 and 2^63 are exact doubles; within them the conversion is defined. */
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && (double)(int64_t)d == d) {
        v->is_int = true;
        v->i = (int64_t)d;
    }
}

static void set_int(struct sl_doc_value *v, int64_t i)
{
    v->type = SL_DOC_NUMBER;
    v->is_int = true;
    v->i = i;
    v->d = (double)i;
}

/* Major type 7: the head `h` was read into `v`. */
static int simple_value(struct decoder *c, const struct head *h, struct sl_doc_value *v)
{
    double d;
    switch (h->ai) {
    case 20:
    case 21:
        v->type = SL_DOC_BOOL;
        v->b = h->ai == 21;
        return SL_OK;
    case 22: /* null */
    case 23: /* undefined: Kinesis has no use for the difference */
        v->type = SL_DOC_NULL;
        return SL_OK;
    case 24:
        if (h->arg < 32) {
            return fail(c, h->at, "simple value %u must be written in one byte", (unsigned)h->arg);
        }
        return fail(c, h->at, "unassigned simple value %u", (unsigned)h->arg);
    case 25:
        if (((h->arg >> 10) & 0x1f) == 0x1f) {
            return fail(c, h->at, "NaN and infinity are not accepted");
        }
        set_number(v, half_to_double((uint16_t)h->arg));
        return SL_OK;
    case 26:
    case 27:
        d = h->ai == 26 ? single_to_double((uint32_t)h->arg) : double_of(h->arg);
        if (d - d != 0.0) {
            return fail(c, h->at, "NaN and infinity are not accepted");
        }
        set_number(v, d);
        return SL_OK;
    case 31:
        return fail(c, h->at, "unexpected break");
    default:
        return fail(c, h->at, "unassigned simple value %u", h->ai);
    }
}

/* Closes the innermost container into `v`. */
static int close_container(struct decoder *c, struct sl_doc_value *v)
{
    struct frame *f = &c->frames[c->depth - 1];
    size_t n = c->n - f->base;
    /* No member may have been pushed yet: then `members` may be NULL, with no offset to add. */
    const struct sl_doc_member *m = n ? c->members + f->base : NULL;
    int rc = sl_doc_set_container(c->d, v, f->map ? SL_DOC_MAP : SL_DOC_ARRAY, m, n);
    if (rc != SL_OK) {
        return oom(c);
    }
    c->n = f->base;
    c->depth--;
    return SL_OK;
}

/* The key of the next member of the innermost map (tags before it are skipped, except tag 1:
 * a key is no timestamp). */
static int read_key(struct decoder *c)
{
    struct head h;
    for (;;) {
        int rc = read_head(c, &h);
        if (rc != SL_OK) {
            return rc;
        }
        if (h.major != MAJOR_TAG) {
            break;
        }
        if (h.arg == 1) {
            return fail(c, h.at, "tag 1 (epoch time) on a map key");
        }
    }
    if (h.major != MAJOR_TEXT) {
        return fail(c, h.at, "a map key must be a text string, not %s",
                    h.major == MAJOR_SIMPLE && h.indefinite ? "a break" : major_names[h.major]);
    }
    struct frame *f = &c->frames[c->depth - 1];
    return read_string(c, &h, &f->key, &f->key_len);
}

/* What comes next in the innermost container: its end (closed into `v`, `*complete` set) or
 * another item (in a map, its key is read). */
static int next_slot(struct decoder *c, struct sl_doc_value *v, bool *complete)
{
    struct frame *f = &c->frames[c->depth - 1];
    if (f->indefinite) {
        if (c->pos >= c->len) {
            return fail(c, c->pos, "expected an item or a break, found the end of the input");
        }
        if (c->p[c->pos] == BREAK) {
            c->pos++;
            *complete = true;
            return close_container(c, v);
        }
    } else if (f->left == 0) {
        *complete = true;
        return close_container(c, v);
    }
    *complete = false;
    return f->map ? read_key(c) : SL_OK;
}

/* Opens the array or map whose head `h` was read; `v` is set when it is empty and definite. */
static int open_container(struct decoder *c, const struct head *h, struct sl_doc_value *v,
                          bool *complete)
{
    bool map = h->major == MAJOR_MAP;
    if (c->depth >= c->lim.depth_max) {
        return fail(c, h->at, "maps and arrays nested deeper than %u levels", c->lim.depth_max);
    }
    if (!h->indefinite) {
        /* Every item takes at least one byte, every member two. */
        if (h->arg > (map ? left(c) / 2 : left(c))) {
            return fail(c, h->at, "%s of %llu %s announced with only %zu bytes left",
                        major_names[h->major], (unsigned long long)h->arg,
                        map ? "members" : "items", left(c));
        }
        if (h->arg > c->lim.values_max - c->values) {
            return fail(c, h->at, "more than %zu values", c->lim.values_max);
        }
        if (h->arg == 0) {
            *complete = true;
            return sl_doc_set_container(c->d, v, map ? SL_DOC_MAP : SL_DOC_ARRAY, NULL, 0);
        }
    }
    if (sl_grow((void **)&c->frames, &c->frames_cap, c->depth + 1, sizeof(*c->frames)) != SL_OK) {
        return oom(c);
    }
    c->frames[c->depth++] = (struct frame){c->n, h->arg, h->indefinite, map, NULL, 0};
    return next_slot(c, v, complete);
}

/* Reads an item. A scalar, or a container that ends at once, fills `v` and sets `*complete`;
 * any other container is left open, positioned before its first item. */
static int begin_item(struct decoder *c, struct sl_doc_value *v, bool *complete)
{
    struct head h;
    size_t time_at = 0;
    bool time_tag = false;
    for (;;) {
        int rc = read_head(c, &h);
        if (rc != SL_OK) {
            return rc;
        }
        if (h.major != MAJOR_TAG) {
            break;
        }
        if (h.arg == 1) {
            time_tag = true;
            time_at = h.at;
        }
    }
    if (++c->values > c->lim.values_max) {
        return fail(c, h.at, "more than %zu values", c->lim.values_max);
    }
    memset(v, 0, sizeof(*v));
    *complete = true;
    bool number = h.major == MAJOR_UINT || h.major == MAJOR_NEGINT ||
                  (h.major == MAJOR_SIMPLE && h.ai >= 25 && h.ai <= 27);
    if (time_tag && !number) {
        return fail(c, time_at, "tag 1 (epoch time) must be followed by a number, not %s",
                    major_names[h.major]);
    }
    v->time_tag = time_tag;
    switch (h.major) {
    case MAJOR_UINT:
        if (h.arg <= INT64_MAX) {
            set_int(v, (int64_t)h.arg);
        } else {
            v->type = SL_DOC_NUMBER;
            v->d = (double)h.arg;
        }
        return SL_OK;
    case MAJOR_NEGINT:
        /* -1 - arg */
        if (h.arg <= INT64_MAX) {
            set_int(v, -1 - (int64_t)h.arg);
        } else {
            v->type = SL_DOC_NUMBER;
            /* arg + 1 may not be representable; -2^64 is, for the largest arg. */
            v->d = h.arg == UINT64_MAX ? -18446744073709551616.0 : -(double)(h.arg + 1);
        }
        return SL_OK;
    case MAJOR_BYTES:
    case MAJOR_TEXT:
        v->type = h.major == MAJOR_TEXT ? SL_DOC_STRING : SL_DOC_BYTES;
        return read_string(c, &h, &v->s, &v->len);
    case MAJOR_ARRAY:
    case MAJOR_MAP:
        return open_container(c, &h, v, complete);
    default:
        return simple_value(c, &h, v);
    }
}

/* Adds the finished item `v` to the innermost container and moves on (see next_slot). */
static int after_item(struct decoder *c, struct sl_doc_value *v, bool *complete)
{
    struct frame *f = &c->frames[c->depth - 1];
    if (sl_grow((void **)&c->members, &c->cap, c->n + 1, sizeof(*c->members)) != SL_OK) {
        return oom(c);
    }
    c->members[c->n++] = (struct sl_doc_member){f->key, f->key_len, *v};
    if (!f->indefinite) {
        f->left--;
    }
    return next_slot(c, v, complete);
}

int sl_cbor_decode(struct sl_doc *d, const void *data, size_t len, const struct sl_doc_limits *lim,
                   const struct sl_doc_value **root, char *err, size_t err_len)
{
    struct decoder c = {.p = data,
                        .len = len,
                        .d = d,
                        .lim = sl_doc_limits_resolve(lim),
                        .err = err,
                        .err_len = err_len};
    struct sl_doc_value v;
    int rc;
    for (;;) {
        bool complete;
        rc = begin_item(&c, &v, &complete);
        while (rc == SL_OK && complete && c.depth > 0) {
            rc = after_item(&c, &v, &complete);
        }
        if (rc != SL_OK || (complete && c.depth == 0)) {
            break;
        }
    }
    if (rc != SL_OK) {
        goto free_stacks;
    }
    if (c.pos != c.len) {
        rc = fail(&c, c.pos, "expected the end of the input after the top-level item");
        goto free_stacks;
    }
    struct sl_doc_value *top = sl_doc_alloc(d, sizeof(*top));
    if (!top) {
        rc = oom(&c);
        goto free_stacks;
    }
    *top = v;
    *root = top;
free_stacks:
    sl_free(c.members);
    sl_free(c.frames);
    return rc;
}

/* ---- writing ---- */

void sl_cbor_write_head(struct sl_enc *e, unsigned major, uint64_t arg)
{
    unsigned char b[9];
    size_t n;
    if (arg < 24) {
        b[0] = (unsigned char)(major << 5 | arg);
        n = 1;
    } else {
        unsigned ai = arg <= 0xff ? 24 : arg <= 0xffff ? 25 : arg <= 0xffffffff ? 26 : 27;
        n = (size_t)1 << (ai - 24);
        b[0] = (unsigned char)(major << 5 | ai);
        for (size_t k = n; k > 0; k--, arg >>= 8) {
            b[k] = (unsigned char)arg;
        }
        n++;
    }
    sl_enc_put(e, b, n);
}

void sl_cbor_write_int(struct sl_enc *e, int64_t v)
{
    if (v >= 0) {
        sl_cbor_write_head(e, MAJOR_UINT, (uint64_t)v);
    } else {
        sl_cbor_write_head(e, MAJOR_NEGINT, (uint64_t)(-1 - v));
    }
}

/* The half-precision bits of the single-precision `bits`, when they hold the same value. */
static bool half_of(uint32_t bits, uint16_t *h)
{
    uint16_t sign = (uint16_t)(bits >> 16 & 0x8000);
    int exp = (int)(bits >> 23 & 0xff) - 127;
    uint32_t mant = bits & 0x7fffff;
    if ((bits & 0x7fffffff) == 0) {
        *h = sign; /* ±0 */
        return true;
    }
    if (exp >= -14 && exp <= 15) {
        if (mant & 0x1fff) {
            return false;
        }
        *h = (uint16_t)(sign | (uint32_t)(exp + 15) << 10 | mant >> 13);
        return true;
    }
    if (exp >= -24 && exp < -14) {
        /* A half subnormal m × 2^-24. The value is full × 2^(exp - 23), so m is
         * full × 2^(exp + 1): a right shift by -(exp + 1) bits that must lose none. */
        uint32_t full = mant | 0x800000;
        unsigned shift = (unsigned)(-(exp + 1));
        if (full & ((1u << shift) - 1)) {
            return false;
        }
        *h = (uint16_t)(sign | full >> shift);
        return true;
    }
    return false;
}

void sl_cbor_write_double(struct sl_enc *e, double v)
{
    SL_ASSERT(v - v == 0.0);
    unsigned char b[9];
    if (v >= -FLT_MAX && v <= FLT_MAX && (double)(float)v == v) {
        float f = (float)v;
        uint32_t bits;
        memcpy(&bits, &f, sizeof(bits));
        uint16_t h;
        if (half_of(bits, &h)) {
            b[0] = 0xf9;
            b[1] = (unsigned char)(h >> 8);
            b[2] = (unsigned char)h;
            sl_enc_put(e, b, 3);
            return;
        }
        b[0] = 0xfa;
        for (int k = 4; k > 0; k--, bits >>= 8) {
            b[k] = (unsigned char)bits;
        }
        sl_enc_put(e, b, 5);
        return;
    }
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    b[0] = 0xfb;
    for (int k = 8; k > 0; k--, bits >>= 8) {
        b[k] = (unsigned char)bits;
    }
    sl_enc_put(e, b, 9);
}
