/* cache.c — what the client remembers per stream: its open shards sorted by hash key range
 * (for routing records) and the shard leaders it has learned (for sending requests straight
 * to them).
 *
 * The cache is advisory: every answer it gives may be stale, and the server remains the
 * judge. Open shards tile the hash key space, so routing is a binary search for the last range
 * starting at or below the key. The shard list is loaded on first use and reloaded when a key
 * falls in no cached range (after a reshard) or on request (sluice_refresh_shards); a stream
 * the server does not know is forgotten.
 */
#include "internal.h"

#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

struct sl_stream_meta *sl_stream_meta(struct sluice_client *c, const char *stream, bool create)
{
    for (struct sl_stream_meta *m = c->streams; m; m = m->next) {
        if (strcmp(m->name, stream) == 0) {
            return m;
        }
    }
    if (!create) {
        return NULL;
    }
    struct sl_stream_meta *m = sl_calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->name = sl_strdup(stream);
    if (m->name == NULL) {
        sl_free(m);
        return NULL;
    }
    m->node = -1;
    m->next = c->streams;
    c->streams = m;
    return m;
}

void sl_stream_meta_free(struct sl_stream_meta *m)
{
    if (m) {
        sl_free(m->name);
        sl_free(m->open);
        sl_free(m->leaders);
        sl_free(m);
    }
}

static int shard_meta_cmp(const void *a, const void *b)
{
    const struct sl_shard_meta *x = a;
    const struct sl_shard_meta *y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

int sl_cache_set_shards(struct sluice_client *c, const char *stream,
                        const struct sluice_shard *shards, size_t n)
{
    struct sl_shard_meta *open = sl_calloc(n ? n : 1, sizeof(*open));
    if (open == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    size_t n_open = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sluice_shard *s = &shards[i];
        if (s->ending_sequence_number != NULL || s->shard_id == NULL ||
            strlen(s->shard_id) > SLUICE_SHARD_ID_MAX || s->starting_hash_key == NULL ||
            s->ending_hash_key == NULL) {
            continue; /* closed, or not routable */
        }
        struct sl_shard_meta *o = &open[n_open];
        if (sl_u128_parse(s->starting_hash_key, strlen(s->starting_hash_key), &o->start) != 0 ||
            sl_u128_parse(s->ending_hash_key, strlen(s->ending_hash_key), &o->end) != 0 ||
            o->end < o->start) {
            continue;
        }
        strcpy(o->shard_id, s->shard_id);
        n_open++;
    }
    qsort(open, n_open, sizeof(*open), shard_meta_cmp);

    pthread_mutex_lock(&c->mu);
    struct sl_stream_meta *m = sl_stream_meta(c, stream, true);
    if (m == NULL) {
        pthread_mutex_unlock(&c->mu);
        sl_free(open);
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    sl_free(m->open);
    m->open = open;
    m->n_open = n_open;
    m->loaded = true;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void sl_cache_forget(struct sluice_client *c, const char *stream)
{
    pthread_mutex_lock(&c->mu);
    struct sl_stream_meta *m = sl_stream_meta(c, stream, false);
    if (m) {
        sl_free(m->open);
        m->open = NULL;
        m->n_open = 0;
        m->loaded = false;
        m->n_leaders = 0;
        m->node = -1;
    }
    pthread_mutex_unlock(&c->mu);
}

bool sl_cache_has_leaders(struct sluice_client *c, const char *stream)
{
    pthread_mutex_lock(&c->mu);
    struct sl_stream_meta *m = sl_stream_meta(c, stream, false);
    bool has = m && m->n_leaders > 0;
    pthread_mutex_unlock(&c->mu);
    return has;
}

int sl_cache_leader_locked(struct sluice_client *c, const char *stream, const char *shard_id)
{
    struct sl_stream_meta *m = sl_stream_meta(c, stream, false);
    if (m == NULL) {
        return -1;
    }
    for (size_t i = 0; i < m->n_leaders; i++) {
        if (strcmp(m->leaders[i].shard_id, shard_id) == 0) {
            return m->leaders[i].node;
        }
    }
    return -1;
}

void sl_cache_set_leader_locked(struct sluice_client *c, const char *stream, const char *shard_id,
                                int node)
{
    if (strlen(shard_id) > SLUICE_SHARD_ID_MAX) {
        return;
    }
    struct sl_stream_meta *m = sl_stream_meta(c, stream, node >= 0);
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->n_leaders; i++) {
        if (strcmp(m->leaders[i].shard_id, shard_id) == 0) {
            if (node >= 0) {
                m->leaders[i].node = node;
            } else {
                m->leaders[i] = m->leaders[--m->n_leaders];
            }
            return;
        }
    }
    if (node < 0 ||
        sl_grow((void **)&m->leaders, &m->cap_leaders, m->n_leaders + 1, sizeof(*m->leaders))) {
        return; /* forgetting is always safe */
    }
    strcpy(m->leaders[m->n_leaders].shard_id, shard_id);
    m->leaders[m->n_leaders].node = node;
    m->n_leaders++;
}

void sl_cache_drop_node_locked(struct sluice_client *c, int node)
{
    for (struct sl_stream_meta *m = c->streams; m; m = m->next) {
        if (m->node == node) {
            m->node = -1;
        }
        for (size_t i = 0; i < m->n_leaders;) {
            if (m->leaders[i].node == node) {
                m->leaders[i] = m->leaders[--m->n_leaders];
            } else {
                i++;
            }
        }
    }
}

int sl_record_hash_key(const char *partition_key, const char *explicit_hash_key, sl_u128 *out)
{
    if (explicit_hash_key) {
        if (sl_u128_parse(explicit_hash_key, strlen(explicit_hash_key), out) != 0) {
            return sl_fail(SLUICE_EINVAL,
                           "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
                           "[0, 2^128-1]. Specified value was %.64s",
                           explicit_hash_key);
        }
        return 0;
    }
    if (partition_key == NULL || partition_key[0] == '\0') {
        return sl_fail(SLUICE_EINVAL, "a partition key is required");
    }
    *out = sl_hashkey_of(partition_key, strlen(partition_key));
    return 0;
}

int sl_cache_route(struct sluice_client *c, const char *stream, sl_u128 key,
                   char shard_id[SLUICE_SHARD_ID_MAX + 1])
{
    int rc = SLUICE_ENOTFOUND;
    pthread_mutex_lock(&c->mu);
    struct sl_stream_meta *m = sl_stream_meta(c, stream, false);
    if (m && m->loaded && m->n_open > 0) {
        /* The last shard whose range starts at or below the key. */
        size_t lo = 0, hi = m->n_open;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (m->open[mid].start <= key) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        const struct sl_shard_meta *s = &m->open[lo];
        if (s->start <= key && key <= s->end) {
            strcpy(shard_id, s->shard_id);
            rc = 0;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int sluice_refresh_shards(struct sluice_client *c, const char *stream)
{
    struct sluice_shard_list *l = NULL;
    int rc = sluice_list_shards(c, stream, &l); /* updates the cache */
    sluice_shard_list_free(l);
    return rc;
}

int sluice_route(struct sluice_client *c, const char *stream, const char *partition_key,
                 const char *explicit_hash_key, char shard_id[SLUICE_SHARD_ID_MAX + 1])
{
    sl_u128 key;
    int rc = sl_record_hash_key(partition_key, explicit_hash_key, &key);
    if (rc != 0) {
        return rc;
    }
    if (sl_cache_route(c, stream, key, shard_id) == 0) {
        return 0;
    }
    rc = sluice_refresh_shards(c, stream);
    if (rc != 0) {
        return rc;
    }
    if (sl_cache_route(c, stream, key, shard_id) == 0) {
        return 0;
    }
    char digits[SL_U128_DIGITS_MAX];
    sl_u128_format(key, digits);
    return sl_fail(SLUICE_ENOTFOUND, "no open shard of stream %s holds hash key %s", stream,
                   digits);
}
