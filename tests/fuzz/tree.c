/* tree.c — tree comparison and re-encoding checks (see tree.h). */
#include "tree.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/base64.h"
#include "core/cbor.h"
#include "core/errors.h"
#include "core/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool differ(const char *what)
{
    fprintf(stderr, "trees differ: %s\n", what);
    return false;
}

/* `b` is what JSON made of the tag-1 number `a` (milliseconds): seconds. Exact to the
 * millisecond while a double holds the seconds to better than half a millisecond (|ms| below
 * 2^50, some 35,000 years); beyond that, equal to within the double's precision. */
static bool time_via_json(const struct sl_doc_value *a, const struct sl_doc_value *b)
{
    if (b->type != SL_DOC_NUMBER || b->time_tag) {
        return differ("a timestamp did not come back as a plain number");
    }
    int64_t ma, mb;
    if (!sl_doc_time_ms(a, &ma)) {
        /* Written as the double d / 1000, which JSON carries exactly. */
        return b->d == a->d / 1000.0 ? true : differ("an out-of-range timestamp changed");
    }
    if (ma > -((int64_t)1 << 50) && ma < ((int64_t)1 << 50)) {
        return sl_doc_time_ms(b, &mb) && mb == ma ? true : differ("a timestamp changed");
    }
    double want = (double)ma / 1000.0;
    double tol = (want < 0 ? -want : want) / (double)((int64_t)1 << 50);
    double diff = b->d - want;
    return diff <= tol && diff >= -tol ? true : differ("a far timestamp changed");
}

static bool bytes_via_json(const struct sl_doc_value *a, const struct sl_doc_value *b)
{
    if (b->type != SL_DOC_STRING) {
        return differ("bytes did not come back as a string");
    }
    size_t n = sl_base64_encoded_len(a->len);
    char *text = malloc(n + 1);
    SL_ASSERT(text);
    sl_base64_encode(a->s, a->len, text);
    bool same = b->len == n && memcmp(b->s, text, n) == 0;
    free(text);
    return same ? true : differ("bytes did not come back as their base64");
}

bool tree_equal(const struct sl_doc_value *a, const struct sl_doc_value *b, enum tree_via via)
{
    if (via == TREE_VIA_JSON && a->type == SL_DOC_NUMBER && a->time_tag) {
        return time_via_json(a, b);
    }
    if (via == TREE_VIA_JSON && a->type == SL_DOC_BYTES) {
        return bytes_via_json(a, b);
    }
    if (a->type != b->type) {
        return differ("types");
    }
    switch (a->type) {
    case SL_DOC_NULL:
        return true;
    case SL_DOC_BOOL:
        return a->b == b->b ? true : differ("booleans");
    case SL_DOC_NUMBER:
        /* A number that was not an integer but whose double is (1e300, or 2^60 + 0.5 read
         * from JSON) is written as that double and may come back as an integer. */
        if (a->time_tag != b->time_tag || a->d != b->d || (a->is_int && !b->is_int) ||
            (a->is_int && a->i != b->i) || (!a->is_int && b->is_int && (double)b->i != a->d)) {
            fprintf(stderr, "numbers: tag %d/%d is_int %d/%d i %lld/%lld d %.17g/%.17g\n",
                    a->time_tag, b->time_tag, a->is_int, b->is_int, (long long)a->i,
                    (long long)b->i, a->d, b->d);
            return differ("numbers");
        }
        return true;
    case SL_DOC_STRING:
    case SL_DOC_BYTES:
        if (a->len != b->len || memcmp(a->s, b->s, a->len) != 0 || b->s[b->len] != '\0') {
            return differ("strings");
        }
        return true;
    case SL_DOC_ARRAY:
        if (a->n != b->n) {
            return differ("array lengths");
        }
        for (size_t k = 0; k < a->n; k++) {
            if (!tree_equal(&a->items[k], &b->items[k], via)) {
                return false;
            }
        }
        return true;
    case SL_DOC_MAP:
        if (a->n != b->n) {
            return differ("map sizes");
        }
        for (size_t k = 0; k < a->n; k++) {
            const struct sl_doc_member *ma = &a->members[k], *mb = &b->members[k];
            if (ma->key_len != mb->key_len || memcmp(ma->key, mb->key, ma->key_len) != 0 ||
                mb->key[mb->key_len] != '\0') {
                return differ("keys");
            }
            if (!tree_equal(&ma->value, &mb->value, via)) {
                return false;
            }
        }
        return true;
    }
    return differ("unknown type");
}

/* sl_doc_get finds the last member of every key; sl_doc_time_ms takes every tagged integer and
 * every number of seconds that fits. */
static void check_reads(const struct sl_doc_value *v)
{
    int64_t ms;
    switch (v->type) {
    case SL_DOC_NUMBER:
        /* Both are the same exact value rounded once, or d is i exactly. */
        SL_ASSERT(!v->is_int || (double)v->i == v->d);
        SL_ASSERT(v->d - v->d == 0.0);
        if (v->time_tag && v->is_int) {
            SL_ASSERT(sl_doc_time_ms(v, &ms) && ms == v->i);
        } else if (v->is_int && v->i <= INT64_MAX / 1000 && v->i >= INT64_MIN / 1000) {
            SL_ASSERT(sl_doc_time_ms(v, &ms) && ms == v->i * 1000);
        } else {
            (void)sl_doc_time_ms(v, &ms);
        }
        return;
    case SL_DOC_ARRAY:
        for (size_t k = 0; k < v->n; k++) {
            check_reads(&v->items[k]);
        }
        return;
    case SL_DOC_MAP:
        for (size_t k = 0; k < v->n; k++) {
            const struct sl_doc_member *m = &v->members[k];
            if (strlen(m->key) == m->key_len) {
                const struct sl_doc_value *got = sl_doc_get(v, m->key);
                SL_ASSERT(got != NULL);
                size_t last = k;
                while (last < v->n && &v->members[last].value != got) {
                    last++;
                }
                SL_ASSERT(last < v->n && strcmp(v->members[last].key, m->key) == 0);
                for (size_t j = last + 1; j < v->n; j++) {
                    SL_ASSERT(v->members[j].key_len != m->key_len ||
                              memcmp(v->members[j].key, m->key, m->key_len) != 0);
                }
            }
            check_reads(&m->value);
        }
        SL_ASSERT(sl_doc_get(v, "\xff not a key \xff") == NULL);
        return;
    default:
        SL_ASSERT(sl_doc_get(v, "") == NULL);
        return;
    }
}

static void encode(const struct sl_doc_value *v, enum sl_enc_kind kind, unsigned char **out,
                   size_t *len)
{
    struct sl_enc e;
    sl_enc_init(&e, kind);
    sl_enc_value(&e, v);
    SL_ASSERT(sl_enc_finish(&e, out, len) == SL_OK);
    sl_enc_close(&e);
}

/* Decodes `p` as `kind` with default limits into `d`, aborting if it does not decode. */
static const struct sl_doc_value *decode(struct sl_doc *d, enum sl_enc_kind kind,
                                         const unsigned char *p, size_t len)
{
    const struct sl_doc_value *v = NULL;
    char err[200];
    int rc = kind == SL_ENC_JSON ? sl_json_decode(d, p, len, NULL, &v, err, sizeof(err))
                                 : sl_cbor_decode(d, p, len, NULL, &v, err, sizeof(err));
    if (rc != SL_OK) {
        fprintf(stderr, "re-encoded %s does not decode: %s\n%.*s\n",
                kind == SL_ENC_JSON ? "JSON" : "CBOR", err, kind == SL_ENC_JSON ? (int)len : 0,
                (const char *)p);
        abort();
    }
    return v;
}

static void check_one(const struct sl_doc_value *root, enum sl_enc_kind kind, enum tree_via via)
{
    unsigned char *out1, *out2, *out3;
    size_t len1, len2, len3;
    struct sl_doc d1, d2;
    sl_doc_init(&d1);
    sl_doc_init(&d2);
    encode(root, kind, &out1, &len1);
    const struct sl_doc_value *t1 = decode(&d1, kind, out1, len1);
    if (!tree_equal(root, t1, via)) {
        fprintf(stderr, "re-encoded %s decodes to another tree\n",
                kind == SL_ENC_JSON ? "JSON" : "CBOR");
        abort();
    }
    /* After one trip the tree is in the writer's terms, and the trip changes nothing more:
     * the same tree, the same bytes. */
    encode(t1, kind, &out2, &len2);
    const struct sl_doc_value *t2 = decode(&d2, kind, out2, len2);
    SL_ASSERT(tree_equal(t1, t2, TREE_SAME));
    encode(t2, kind, &out3, &len3);
    SL_ASSERT(len3 == len2 && memcmp(out2, out3, len2) == 0);
    sl_free(out3);
    sl_free(out2);
    sl_free(out1);
    sl_doc_close(&d2);
    sl_doc_close(&d1);
}

void tree_check_reencodings(const struct sl_doc_value *root, bool from_cbor)
{
    check_reads(root);
    check_one(root, SL_ENC_CBOR, TREE_SAME);
    check_one(root, SL_ENC_JSON, from_cbor ? TREE_VIA_JSON : TREE_SAME);
}
