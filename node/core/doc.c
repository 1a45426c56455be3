/* doc.c — the arena of decoded trees, member lookup, timestamps, and the encoding-independent
 * half of the writer (see doc.h).
 *
 * The arena is a list of chunks, the first of which is filled by bumping an offset. Chunks
 * grow from CHUNK_FIRST up to CHUNK_MAX so that a small request costs one allocation and a
 * large one few; a request bigger than half a chunk gets a chunk of its own, linked behind the
 * current one so that the current one keeps filling.
 *
 * The writer tracks the structure (open levels, counts, keys) for both encodings and leaves the
 * bytes of each value to json.c or cbor.c.
 */
#include "core/doc.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/cbor.h"
#include "core/errors.h"
#include "core/json.h"

#include <stdint.h>
#include <string.h>

struct sl_doc_chunk {
    struct sl_doc_chunk *next;
    size_t used, cap;
    max_align_t data[]; /* `cap` bytes */
};

#define CHUNK_FIRST ((size_t)4096)
#define CHUNK_MAX   ((size_t)1 << 20)
#define ALIGN       ((size_t)8)

void sl_doc_init(struct sl_doc *d)
{
    d->chunks = NULL;
    d->bytes = 0;
}

void sl_doc_close(struct sl_doc *d)
{
    struct sl_doc_chunk *c = d->chunks;
    while (c) {
        struct sl_doc_chunk *next = c->next;
        sl_free(c);
        c = next;
    }
    sl_doc_init(d);
}

static struct sl_doc_chunk *chunk_new(struct sl_doc *d, size_t cap)
{
    if (cap > SIZE_MAX - sizeof(struct sl_doc_chunk)) {
        return NULL;
    }
    struct sl_doc_chunk *c = sl_malloc(sizeof(*c) + cap);
    if (!c) {
        return NULL;
    }
    c->next = NULL;
    c->used = 0;
    c->cap = cap;
    d->bytes += sizeof(*c) + cap;
    return c;
}

void *sl_doc_alloc(struct sl_doc *d, size_t size)
{
    if (size > SIZE_MAX - ALIGN) {
        return NULL;
    }
    size = (size + ALIGN - 1) & ~(ALIGN - 1);
    struct sl_doc_chunk *head = d->chunks;
    if (head && head->cap - head->used >= size) {
        void *p = (unsigned char *)head->data + head->used;
        head->used += size;
        return p;
    }
    /* Each new chunk is as big as all the earlier ones together, so their number grows with
     * the logarithm of the tree's size (and a big first block does not make the next chunk
     * twice as big again). */
    size_t cap = d->bytes < CHUNK_FIRST ? CHUNK_FIRST : d->bytes;
    if (cap > CHUNK_MAX) {
        cap = CHUNK_MAX;
    }
    if (size > cap / 2) {
        /* A chunk of its own, behind the head, which still has room for small requests. */
        struct sl_doc_chunk *c = chunk_new(d, size);
        if (!c) {
            return NULL;
        }
        c->used = size;
        if (head) {
            c->next = head->next;
            head->next = c;
        } else {
            d->chunks = c;
        }
        return c->data;
    }
    struct sl_doc_chunk *c = chunk_new(d, cap);
    if (!c) {
        return NULL;
    }
    c->next = head;
    d->chunks = c;
    c->used = size;
    return c->data;
}

struct sl_doc_limits sl_doc_limits_resolve(const struct sl_doc_limits *lim)
{
    struct sl_doc_limits r = {SL_DOC_DEPTH_MAX, SL_DOC_VALUES_MAX};
    if (lim && lim->depth_max) {
        r.depth_max = lim->depth_max;
    }
    if (lim && lim->values_max) {
        r.values_max = lim->values_max;
    }
    return r;
}

int sl_doc_set_container(struct sl_doc *d, struct sl_doc_value *v, enum sl_doc_type type,
                         const struct sl_doc_member *m, size_t n)
{
    SL_ASSERT(type == SL_DOC_MAP || type == SL_DOC_ARRAY);
    memset(v, 0, sizeof(*v));
    v->type = type;
    v->n = n;
    if (n == 0) {
        return SL_OK;
    }
    if (type == SL_DOC_MAP) {
        if (n > SIZE_MAX / sizeof(*m)) {
            return SL_ENOMEM;
        }
        struct sl_doc_member *copy = sl_doc_alloc(d, n * sizeof(*m));
        if (!copy) {
            return SL_ENOMEM;
        }
        memcpy(copy, m, n * sizeof(*m));
        v->members = copy;
        return SL_OK;
    }
    if (n > SIZE_MAX / sizeof(struct sl_doc_value)) {
        return SL_ENOMEM;
    }
    struct sl_doc_value *items = sl_doc_alloc(d, n * sizeof(*items));
    if (!items) {
        return SL_ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        items[k] = m[k].value;
    }
    v->items = items;
    return SL_OK;
}

const struct sl_doc_value *sl_doc_get(const struct sl_doc_value *map, const char *key)
{
    if (!map || map->type != SL_DOC_MAP) {
        return NULL;
    }
    size_t len = strlen(key);
    /* Backwards, so that the last of repeated keys wins. */
    for (size_t k = map->n; k-- > 0;) {
        const struct sl_doc_member *m = &map->members[k];
        if (m->key_len == len && memcmp(m->key, key, len) == 0) {
            return &m->value;
        }
    }
    return NULL;
}

/* `x` rounded to the nearest integer (halves away from zero), when it is within int64. Written
 * without libm, which the core does not link. */
static bool round_to_int64(double x, int64_t *out)
{
    /* -2^63 and 2^63 are exact doubles; NaN fails both comparisons. */
    if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) {
        return false;
    }
    int64_t t = (int64_t)x; /* towards zero */
    double frac = x - (double)t;
    if (frac >= 0.5) {
        if (t == INT64_MAX) {
            return false;
        }
        t++;
    } else if (frac <= -0.5) {
        if (t == INT64_MIN) {
            return false;
        }
        t--;
    }
    *out = t;
    return true;
}

bool sl_doc_time_ms(const struct sl_doc_value *v, int64_t *ms)
{
    if (!v || v->type != SL_DOC_NUMBER) {
        return false;
    }
    if (v->time_tag) {
        if (v->is_int) {
            *ms = v->i;
            return true;
        }
        return round_to_int64(v->d, ms);
    }
    if (v->is_int) {
        if (v->i > INT64_MAX / 1000 || v->i < INT64_MIN / 1000) {
            return false;
        }
        *ms = v->i * 1000;
        return true;
    }
    return round_to_int64(v->d * 1000.0, ms);
}

/* ---- writing ---- */

void sl_enc_init(struct sl_enc *e, enum sl_enc_kind kind)
{
    memset(e, 0, sizeof(*e));
    e->kind = kind;
}

void sl_enc_close(struct sl_enc *e)
{
    sl_free(e->buf);
    e->buf = NULL;
    e->len = e->cap = 0;
}

unsigned char *sl_enc_reserve(struct sl_enc *e, size_t n)
{
    if (e->failed) {
        return NULL;
    }
    if (n >= SIZE_MAX - e->len) {
        e->failed = true;
        return NULL;
    }
    size_t need = e->len + n + 1; /* the spare byte */
    if (need > e->cap) {
        size_t cap = e->cap ? e->cap : 256;
        while (cap < need) {
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        }
        unsigned char *p = sl_realloc(e->buf, cap);
        if (!p) {
            e->failed = true;
            return NULL;
        }
        e->buf = p;
        e->cap = cap;
    }
    unsigned char *p = e->buf + e->len;
    e->len += n;
    return p;
}

void sl_enc_put(struct sl_enc *e, const void *p, size_t n)
{
    unsigned char *dst = sl_enc_reserve(e, n);
    if (dst && n) {
        memcpy(dst, p, n);
    }
}

static void put_char(struct sl_enc *e, char c)
{
    sl_enc_put(e, &c, 1);
}

/* Accounts for the value about to be written and, in JSON, writes the comma before an array
 * item (a map member's comma precedes its key). */
static void begin_value(struct sl_enc *e)
{
    if (e->depth == 0) {
        SL_ASSERT(!e->done); /* one top-level value */
        e->done = true;
        return;
    }
    struct sl_enc_level *l = &e->open[e->depth - 1];
    if (l->map) {
        SL_ASSERT(e->after_key); /* a key comes first */
        e->after_key = false;
        return;
    }
    SL_ASSERT(l->left > 0); /* no more items than announced */
    l->left--;
    if (e->kind == SL_ENC_JSON && l->started) {
        put_char(e, ',');
    }
    l->started = true;
}

static void open_level(struct sl_enc *e, bool map, size_t n)
{
    begin_value(e);
    SL_ASSERT(e->depth < SL_ENC_DEPTH_MAX);
    e->open[e->depth] = (struct sl_enc_level){n, map, false};
    e->depth++;
    if (e->kind == SL_ENC_JSON) {
        put_char(e, map ? '{' : '[');
    } else {
        sl_cbor_write_head(e, map ? 5 : 4, n);
    }
}

void sl_enc_map(struct sl_enc *e, size_t members)
{
    open_level(e, true, members);
}

void sl_enc_array(struct sl_enc *e, size_t items)
{
    open_level(e, false, items);
}

void sl_enc_end(struct sl_enc *e)
{
    SL_ASSERT(e->depth > 0);
    struct sl_enc_level *l = &e->open[e->depth - 1];
    SL_ASSERT(l->left == 0 && !e->after_key); /* as many as announced */
    e->depth--;
    if (e->kind == SL_ENC_JSON) {
        put_char(e, l->map ? '}' : ']');
    }
}

static void key_n(struct sl_enc *e, const char *key, size_t len)
{
    SL_ASSERT(e->depth > 0);
    struct sl_enc_level *l = &e->open[e->depth - 1];
    SL_ASSERT(l->map && !e->after_key && l->left > 0);
    l->left--;
    e->after_key = true;
    if (e->kind == SL_ENC_JSON) {
        if (l->started) {
            put_char(e, ',');
        }
        l->started = true;
        sl_json_write_str(e, key, len);
        put_char(e, ':');
    } else {
        sl_cbor_write_head(e, 3, len);
        sl_enc_put(e, key, len);
    }
}

void sl_enc_key(struct sl_enc *e, const char *key)
{
    key_n(e, key, strlen(key));
}

void sl_enc_str(struct sl_enc *e, const char *s, size_t len)
{
    begin_value(e);
    if (e->kind == SL_ENC_JSON) {
        sl_json_write_str(e, s, len);
    } else {
        sl_cbor_write_head(e, 3, len);
        sl_enc_put(e, s, len);
    }
}

void sl_enc_cstr(struct sl_enc *e, const char *s)
{
    sl_enc_str(e, s, strlen(s));
}

void sl_enc_bytes(struct sl_enc *e, const void *p, size_t len)
{
    begin_value(e);
    if (e->kind == SL_ENC_JSON) {
        sl_json_write_bytes(e, p, len);
    } else {
        sl_cbor_write_head(e, 2, len);
        sl_enc_put(e, p, len);
    }
}

void sl_enc_int(struct sl_enc *e, int64_t v)
{
    begin_value(e);
    if (e->kind == SL_ENC_JSON) {
        sl_json_write_int(e, v);
    } else {
        sl_cbor_write_int(e, v);
    }
}

void sl_enc_double(struct sl_enc *e, double v)
{
    SL_ASSERT(v - v == 0.0); /* finite: inf - inf and NaN - NaN are NaN */
    begin_value(e);
    if (e->kind == SL_ENC_JSON) {
        sl_json_write_double(e, v);
    } else {
        sl_cbor_write_double(e, v);
    }
}

void sl_enc_bool(struct sl_enc *e, bool v)
{
    begin_value(e);
    if (e->kind == SL_ENC_JSON) {
        sl_enc_put(e, v ? "true" : "false", v ? 4 : 5);
    } else {
        put_char(e, (char)(v ? 0xf5 : 0xf4));
    }
}

void sl_enc_null(struct sl_enc *e)
{
    begin_value(e);
    if (e->kind == SL_ENC_JSON) {
        sl_enc_put(e, "null", 4);
    } else {
        put_char(e, (char)0xf6);
    }
}

void sl_enc_time_ms(struct sl_enc *e, int64_t ms)
{
    begin_value(e);
    if (e->kind == SL_ENC_JSON) {
        sl_json_write_time_ms(e, ms);
    } else {
        sl_cbor_write_head(e, 6, 1);
        sl_cbor_write_int(e, ms);
    }
}

/* A number: integers as integers, the rest as doubles. */
static void enc_number(struct sl_enc *e, const struct sl_doc_value *v)
{
    if (v->is_int) {
        sl_enc_int(e, v->i);
    } else {
        sl_enc_double(e, v->d);
    }
}

static void enc_time(struct sl_enc *e, const struct sl_doc_value *v)
{
    if (e->kind == SL_ENC_CBOR) {
        begin_value(e);
        sl_cbor_write_head(e, 6, 1);
        if (v->is_int) {
            sl_cbor_write_int(e, v->i);
        } else {
            sl_cbor_write_double(e, v->d);
        }
        return;
    }
    int64_t ms;
    if (sl_doc_time_ms(v, &ms)) {
        sl_enc_time_ms(e, ms);
    } else {
        /* Beyond int64 milliseconds: still seconds, as a double. */
        sl_enc_double(e, v->d / 1000.0);
    }
}

void sl_enc_value(struct sl_enc *e, const struct sl_doc_value *v)
{
    switch (v->type) {
    case SL_DOC_NULL:
        sl_enc_null(e);
        return;
    case SL_DOC_BOOL:
        sl_enc_bool(e, v->b);
        return;
    case SL_DOC_NUMBER:
        if (v->time_tag) {
            enc_time(e, v);
        } else {
            enc_number(e, v);
        }
        return;
    case SL_DOC_STRING:
        sl_enc_str(e, v->s, v->len);
        return;
    case SL_DOC_BYTES:
        sl_enc_bytes(e, v->s, v->len);
        return;
    case SL_DOC_ARRAY:
        sl_enc_array(e, v->n);
        for (size_t k = 0; k < v->n; k++) {
            sl_enc_value(e, &v->items[k]);
        }
        sl_enc_end(e);
        return;
    case SL_DOC_MAP:
        sl_enc_map(e, v->n);
        for (size_t k = 0; k < v->n; k++) {
            key_n(e, v->members[k].key, v->members[k].key_len);
            sl_enc_value(e, &v->members[k].value);
        }
        sl_enc_end(e);
        return;
    }
    SL_UNREACHABLE();
}

int sl_enc_finish(struct sl_enc *e, unsigned char **out, size_t *len)
{
    SL_ASSERT(e->depth == 0 && e->done);
    if (e->failed) {
        return SL_ENOMEM;
    }
    *out = e->buf;
    *len = e->len;
    e->buf = NULL;
    e->len = e->cap = 0;
    return SL_OK;
}
