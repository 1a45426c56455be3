/* ops.c — one function per operation of proto/sluice.proto: build the request, call, and turn
 * the answer into the plain structs of sluice.h.
 *
 * Results are zero-copy: a result allocation keeps the unpacked protobuf answers it was made
 * from (struct sl_resps) and its strings point into them; the *_free functions release both.
 * Paged operations (ListShards, DescribeStream, ListStreams) follow their pages here, each
 * loop bounded by SL_PAGES_MAX.
 */
#include "internal.h"

#include "core/alloc.h"

#include <string.h>

#define SL_PAGES_MAX 100000

/* The answers a result points into. */
struct sl_resps {
    Sluice__Response **r;
    size_t n, cap;
};

static int resps_add(struct sl_resps *s, Sluice__Response *r)
{
    if (sl_grow((void **)&s->r, &s->cap, s->n + 1, sizeof(*s->r)) != 0) {
        sl_response_free(r);
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    s->r[s->n++] = r;
    return 0;
}

static void resps_free(struct sl_resps *s)
{
    for (size_t i = 0; i < s->n; i++) {
        sl_response_free(s->r[i]);
    }
    sl_free(s->r);
    s->r = NULL;
    s->n = s->cap = 0;
}

/* Checks that an OK answer carries the expected result; frees it if not. */
static int expect(Sluice__Response *r, Sluice__Response__ResultCase want, const char *op)
{
    if (r->result_case == want) {
        return 0;
    }
    sl_response_free(r);
    return sl_fail(SLUICE_EIO, "%s: the server's answer carries no %s result", op, op);
}

/* Absent and empty strings are both "none". */
static const char *opt_str(const char *s)
{
    return s && s[0] ? s : NULL;
}

static void shard_from_pb(struct sluice_shard *o, const Sluice__Shard *s)
{
    memset(o, 0, sizeof(*o));
    o->shard_id = s->shard_id ? s->shard_id : "";
    o->parent_shard_id = opt_str(s->parent_shard_id);
    o->adjacent_parent_shard_id = opt_str(s->adjacent_parent_shard_id);
    if (s->hash_key_range) {
        o->starting_hash_key = s->hash_key_range->starting_hash_key;
        o->ending_hash_key = s->hash_key_range->ending_hash_key;
    }
    if (s->sequence_number_range) {
        o->starting_sequence_number = s->sequence_number_range->starting_sequence_number;
        o->ending_sequence_number = opt_str(s->sequence_number_range->ending_sequence_number);
    }
}

static int check_name(const char *what, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return sl_fail(SLUICE_EINVAL, "a %s is required", what);
    }
    return 0;
}

/* Calls an operation whose answer carries no result. */
static int call_no_result(struct sluice_client *c, Sluice__Request *req)
{
    Sluice__Response *r = NULL;
    int rc = sl_call(c, NULL, req, &r, 0);
    sl_response_free(r);
    return rc;
}

/* ---- streams ---- */

int sluice_create_stream(struct sluice_client *c, const char *stream, uint32_t shard_count,
                         enum sluice_stream_mode mode)
{
    int rc = check_name("stream name", stream);
    if (rc != 0) {
        return rc;
    }
    Sluice__CreateStreamRequest op = SLUICE__CREATE_STREAM_REQUEST__INIT;
    op.stream_name = (char *)stream;
    op.has_shard_count = shard_count > 0;
    op.shard_count = shard_count;
    op.has_stream_mode = 1;
    op.stream_mode = (Sluice__StreamMode)mode;
    Sluice__Request req = SLUICE__REQUEST__INIT;
    req.op_case = SLUICE__REQUEST__OP_CREATE_STREAM;
    req.create_stream = &op;
    return call_no_result(c, &req);
}

int sluice_delete_stream(struct sluice_client *c, const char *stream, int enforce_consumer_deletion)
{
    int rc = check_name("stream name", stream);
    if (rc != 0) {
        return rc;
    }
    Sluice__DeleteStreamRequest op = SLUICE__DELETE_STREAM_REQUEST__INIT;
    op.stream_name = (char *)stream;
    op.has_enforce_consumer_deletion = enforce_consumer_deletion != 0;
    op.enforce_consumer_deletion = enforce_consumer_deletion != 0;
    Sluice__Request req = SLUICE__REQUEST__INIT;
    req.op_case = SLUICE__REQUEST__OP_DELETE_STREAM;
    req.delete_stream = &op;
    rc = call_no_result(c, &req);
    sl_cache_forget(c, stream);
    return rc;
}

static int retention(struct sluice_client *c, const char *stream, uint32_t hours, bool increase)
{
    int rc = check_name("stream name", stream);
    if (rc != 0) {
        return rc;
    }
    Sluice__RetentionRequest op = SLUICE__RETENTION_REQUEST__INIT;
    op.stream_name = (char *)stream;
    op.has_retention_period_hours = 1;
    op.retention_period_hours = hours;
    Sluice__Request req = SLUICE__REQUEST__INIT;
    if (increase) {
        req.op_case = SLUICE__REQUEST__OP_INCREASE_STREAM_RETENTION_PERIOD;
        req.increase_stream_retention_period = &op;
    } else {
        req.op_case = SLUICE__REQUEST__OP_DECREASE_STREAM_RETENTION_PERIOD;
        req.decrease_stream_retention_period = &op;
    }
    return call_no_result(c, &req);
}

int sluice_increase_retention(struct sluice_client *c, const char *stream, uint32_t hours)
{
    return retention(c, stream, hours, true);
}

int sluice_decrease_retention(struct sluice_client *c, const char *stream, uint32_t hours)
{
    return retention(c, stream, hours, false);
}

int sluice_describe_limits(struct sluice_client *c, struct sluice_limits *out)
{
    memset(out, 0, sizeof(*out));
    Sluice__DescribeLimitsRequest op = SLUICE__DESCRIBE_LIMITS_REQUEST__INIT;
    Sluice__Request req = SLUICE__REQUEST__INIT;
    req.op_case = SLUICE__REQUEST__OP_DESCRIBE_LIMITS;
    req.describe_limits = &op;
    Sluice__Response *r = NULL;
    int rc = sl_call(c, NULL, &req, &r, 0);
    if (rc == 0) {
        rc = expect(r, SLUICE__RESPONSE__RESULT_DESCRIBE_LIMITS, "DescribeLimits");
    }
    if (rc != 0) {
        return rc;
    }
    const Sluice__DescribeLimitsResult *l = r->describe_limits;
    out->shard_limit = l->shard_limit;
    out->open_shard_count = l->open_shard_count;
    out->on_demand_stream_count = l->on_demand_stream_count;
    out->on_demand_stream_count_limit = l->on_demand_stream_count_limit;
    sl_response_free(r);
    return 0;
}

/* ---- tags ---- */

int sluice_add_tags(struct sluice_client *c, const char *stream, const struct sluice_tag *tags,
                    size_t n)
{
    int rc = check_name("stream name", stream);
    if (rc != 0) {
        return rc;
    }
    if (n > SLUICE_TAGS_MAX) {
        return sl_fail(SLUICE_EINVAL, "%zu tags given; at most %d per call", n, SLUICE_TAGS_MAX);
    }
    Sluice__Tag pb[SLUICE_TAGS_MAX];
    Sluice__Tag *ptrs[SLUICE_TAGS_MAX];
    for (size_t i = 0; i < n; i++) {
        pb[i] = (Sluice__Tag)SLUICE__TAG__INIT;
        pb[i].key = (char *)tags[i].key;
        pb[i].value = (char *)(tags[i].value ? tags[i].value : "");
        ptrs[i] = &pb[i];
    }
    Sluice__AddTagsToStreamRequest op = SLUICE__ADD_TAGS_TO_STREAM_REQUEST__INIT;
    op.stream_name = (char *)stream;
    op.n_tags = n;
    op.tags = ptrs;
    Sluice__Request req = SLUICE__REQUEST__INIT;
    req.op_case = SLUICE__REQUEST__OP_ADD_TAGS_TO_STREAM;
    req.add_tags_to_stream = &op;
    return call_no_result(c, &req);
}

int sluice_remove_tags(struct sluice_client *c, const char *stream, const char *const *keys,
                       size_t n)
{
    int rc = check_name("stream name", stream);
    if (rc != 0) {
        return rc;
    }
    Sluice__RemoveTagsFromStreamRequest op = SLUICE__REMOVE_TAGS_FROM_STREAM_REQUEST__INIT;
    op.stream_name = (char *)stream;
    op.n_tag_keys = n;
    op.tag_keys = (char **)keys;
    Sluice__Request req = SLUICE__REQUEST__INIT;
    req.op_case = SLUICE__REQUEST__OP_REMOVE_TAGS_FROM_STREAM;
    req.remove_tags_from_stream = &op;
    return call_no_result(c, &req);
}

struct tag_list_impl {
    struct sluice_tag_list pub;
    struct sluice_tag *tags;
    size_t cap;
    struct sl_resps resps;
};

void sluice_tag_list_free(struct sluice_tag_list *l)
{
    if (l) {
        struct tag_list_impl *impl = (struct tag_list_impl *)l;
        resps_free(&impl->resps);
        sl_free(impl->tags);
        sl_free(impl);
    }
}

int sluice_list_tags(struct sluice_client *c, const char *stream, struct sluice_tag_list **out)
{
    *out = NULL;
    int rc = check_name("stream name", stream);
    if (rc != 0) {
        return rc;
    }
    struct tag_list_impl *impl = sl_calloc(1, sizeof(*impl));
    if (impl == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    size_t n = 0;
    const char *after = NULL;
    for (int page = 0; page < SL_PAGES_MAX; page++) {
        Sluice__ListTagsForStreamRequest op = SLUICE__LIST_TAGS_FOR_STREAM_REQUEST__INIT;
        op.stream_name = (char *)stream;
        op.exclusive_start_tag_key = (char *)after;
        Sluice__Request req = SLUICE__REQUEST__INIT;
        req.op_case = SLUICE__REQUEST__OP_LIST_TAGS_FOR_STREAM;
        req.list_tags_for_stream = &op;
        Sluice__Response *r = NULL;
        rc = sl_call(c, NULL, &req, &r, 0);
        if (rc == 0) {
            rc = expect(r, SLUICE__RESPONSE__RESULT_LIST_TAGS_FOR_STREAM, "ListTagsForStream");
        }
        if (rc == 0) {
            rc = resps_add(&impl->resps, r);
        }
        if (rc != 0) {
            sluice_tag_list_free(&impl->pub);
            return rc;
        }
        const Sluice__ListTagsForStreamResult *l = r->list_tags_for_stream;
        if (sl_grow((void **)&impl->tags, &impl->cap, n + l->n_tags, sizeof(*impl->tags)) != 0) {
            sluice_tag_list_free(&impl->pub);
            return sl_fail(SLUICE_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < l->n_tags; i++) {
            impl->tags[n].key = l->tags[i]->key ? l->tags[i]->key : "";
            impl->tags[n].value = l->tags[i]->value ? l->tags[i]->value : "";
            after = impl->tags[n++].key;
        }
        if (!l->has_more_tags || l->n_tags == 0) {
            break;
        }
    }
    impl->pub.n_tags = n;
    impl->pub.tags = impl->tags;
    *out = &impl->pub;
    return 0;
}

/* ---- ListStreams ---- */

struct stream_list_impl {
    struct sluice_stream_list pub;
    struct sluice_stream_entry *entries;
    size_t cap;
    struct sl_resps resps;
};

void sluice_stream_list_free(struct sluice_stream_list *l)
{
    if (l) {
        struct stream_list_impl *impl = (struct stream_list_impl *)l;
        resps_free(&impl->resps);
        sl_free(impl->entries);
        sl_free(impl);
    }
}

int sluice_list_streams(struct sluice_client *c, struct sluice_stream_list **out)
{
    *out = NULL;
    struct stream_list_impl *impl = sl_calloc(1, sizeof(*impl));
    if (impl == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    size_t n = 0;
    int rc = 0;
    const char *token = NULL;
    const char *last_name = NULL;
    for (int page = 0; page < SL_PAGES_MAX; page++) {
        Sluice__ListStreamsRequest op = SLUICE__LIST_STREAMS_REQUEST__INIT;
        op.next_token = (char *)token;
        op.exclusive_start_stream_name = token ? NULL : (char *)last_name;
        Sluice__Request req = SLUICE__REQUEST__INIT;
        req.op_case = SLUICE__REQUEST__OP_LIST_STREAMS;
        req.list_streams = &op;
        Sluice__Response *r = NULL;
        rc = sl_call(c, NULL, &req, &r, 0);
        if (rc == 0) {
            rc = expect(r, SLUICE__RESPONSE__RESULT_LIST_STREAMS, "ListStreams");
        }
        if (rc == 0) {
            rc = resps_add(&impl->resps, r);
        }
        if (rc != 0) {
            goto fail;
        }
        const Sluice__ListStreamsResult *l = r->list_streams;
        bool details = l->n_stream_summaries > 0;
        size_t add = details ? l->n_stream_summaries : l->n_stream_names;
        if (sl_grow((void **)&impl->entries, &impl->cap, n + add, sizeof(*impl->entries)) != 0) {
            rc = sl_fail(SLUICE_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < add; i++) {
            struct sluice_stream_entry *e = &impl->entries[n++];
            memset(e, 0, sizeof(*e));
            if (details) {
                const Sluice__StreamSummary *s = l->stream_summaries[i];
                e->stream_name = s->stream_name ? s->stream_name : "";
                e->stream_arn = s->stream_arn ? s->stream_arn : "";
                e->status = (enum sluice_stream_status)s->stream_status;
                e->mode = (enum sluice_stream_mode)s->stream_mode;
                e->creation_timestamp_ms = s->stream_creation_timestamp_ms;
            } else {
                e->stream_name = l->stream_names[i] ? l->stream_names[i] : "";
            }
            last_name = e->stream_name;
        }
        token = opt_str(l->next_token);
        if (!l->has_more_streams || add == 0) {
            break;
        }
    }
    impl->pub.n_streams = n;
    impl->pub.streams = impl->entries;
    *out = &impl->pub;
    return 0;

fail:
    sluice_stream_list_free(&impl->pub);
    return rc;
}

/* ---- ListShards, DescribeStream, DescribeStreamSummary ---- */

struct shard_list_impl {
    struct sluice_shard_list pub;
    struct sluice_shard *shards;
    size_t cap;
    struct sl_resps resps;
};

void sluice_shard_list_free(struct sluice_shard_list *l)
{
    if (l) {
        struct shard_list_impl *impl = (struct shard_list_impl *)l;
        resps_free(&impl->resps);
        sl_free(impl->shards);
        sl_free(impl);
    }
}

int sluice_list_shards(struct sluice_client *c, const char *stream, struct sluice_shard_list **out)
{
    *out = NULL;
    int rc = check_name("stream name", stream);
    if (rc != 0) {
        return rc;
    }
    struct shard_list_impl *impl = sl_calloc(1, sizeof(*impl));
    if (impl == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    size_t n = 0;
    const char *token = NULL;
    for (int page = 0; page < SL_PAGES_MAX; page++) {
        Sluice__ListShardsRequest op = SLUICE__LIST_SHARDS_REQUEST__INIT;
        if (token) {
            op.next_token = (char *)token; /* the token holds the stream: never both */
        } else {
            op.stream_name = (char *)stream;
        }
        Sluice__Request req = SLUICE__REQUEST__INIT;
        req.op_case = SLUICE__REQUEST__OP_LIST_SHARDS;
        req.list_shards = &op;
        Sluice__Response *r = NULL;
        rc = sl_call(c, NULL, &req, &r, 0);
        if (rc == 0) {
            rc = expect(r, SLUICE__RESPONSE__RESULT_LIST_SHARDS, "ListShards");
        }
        if (rc == 0) {
            rc = resps_add(&impl->resps, r);
        }
        if (rc != 0) {
            goto fail;
        }
        const Sluice__ListShardsResult *l = r->list_shards;
        if (sl_grow((void **)&impl->shards, &impl->cap, n + l->n_shards, sizeof(*impl->shards))) {
            rc = sl_fail(SLUICE_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < l->n_shards; i++) {
            shard_from_pb(&impl->shards[n++], l->shards[i]);
        }
        token = opt_str(l->next_token);
        if (token == NULL) {
            break;
        }
    }
    impl->pub.n_shards = n;
    impl->pub.shards = impl->shards;
    rc = sl_cache_set_shards(c, stream, impl->shards, n);
    if (rc != 0) {
        goto fail;
    }
    *out = &impl->pub;
    return 0;

fail:
    sluice_shard_list_free(&impl->pub);
    return rc;
}

struct description_impl {
    struct sluice_stream_description pub;
    struct sluice_shard *shards;
    size_t cap;
    struct sl_resps resps;
};

void sluice_stream_description_free(struct sluice_stream_description *d)
{
    if (d) {
        struct description_impl *impl = (struct description_impl *)d;
        resps_free(&impl->resps);
        sl_free(impl->shards);
        sl_free(impl);
    }
}

int sluice_describe_stream(struct sluice_client *c, const char *stream,
                           struct sluice_stream_description **out)
{
    *out = NULL;
    int rc = check_name("stream name", stream);
    if (rc != 0) {
        return rc;
    }
    struct description_impl *impl = sl_calloc(1, sizeof(*impl));
    if (impl == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    size_t n = 0;
    const char *last_shard = NULL;
    for (int page = 0; page < SL_PAGES_MAX; page++) {
        Sluice__DescribeStreamRequest op = SLUICE__DESCRIBE_STREAM_REQUEST__INIT;
        op.stream_name = (char *)stream;
        op.exclusive_start_shard_id = (char *)last_shard;
        Sluice__Request req = SLUICE__REQUEST__INIT;
        req.op_case = SLUICE__REQUEST__OP_DESCRIBE_STREAM;
        req.describe_stream = &op;
        Sluice__Response *r = NULL;
        rc = sl_call(c, NULL, &req, &r, 0);
        if (rc == 0) {
            rc = expect(r, SLUICE__RESPONSE__RESULT_DESCRIBE_STREAM, "DescribeStream");
        }
        if (rc == 0) {
            rc = resps_add(&impl->resps, r);
        }
        if (rc != 0) {
            goto fail;
        }
        const Sluice__StreamDescription *d = r->describe_stream;
        if (page == 0) {
            impl->pub.stream_name = d->stream_name ? d->stream_name : stream;
            impl->pub.stream_arn = d->stream_arn ? d->stream_arn : "";
            impl->pub.status = (enum sluice_stream_status)d->stream_status;
            impl->pub.mode = (enum sluice_stream_mode)d->stream_mode;
            impl->pub.retention_period_hours = d->retention_period_hours;
            impl->pub.creation_timestamp_ms = d->stream_creation_timestamp_ms;
        }
        if (sl_grow((void **)&impl->shards, &impl->cap, n + d->n_shards, sizeof(*impl->shards))) {
            rc = sl_fail(SLUICE_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < d->n_shards; i++) {
            shard_from_pb(&impl->shards[n++], d->shards[i]);
        }
        if (!d->has_more_shards || d->n_shards == 0) {
            break;
        }
        last_shard = impl->shards[n - 1].shard_id;
    }
    impl->pub.n_shards = n;
    impl->pub.shards = impl->shards;
    *out = &impl->pub;
    return 0;

fail:
    sluice_stream_description_free(&impl->pub);
    return rc;
}

int sluice_describe_stream_summary(struct sluice_client *c, const char *stream,
                                   struct sluice_stream_description **out)
{
    *out = NULL;
    int rc = check_name("stream name", stream);
    if (rc != 0) {
        return rc;
    }
    Sluice__DescribeStreamSummaryRequest op = SLUICE__DESCRIBE_STREAM_SUMMARY_REQUEST__INIT;
    op.stream_name = (char *)stream;
    Sluice__Request req = SLUICE__REQUEST__INIT;
    req.op_case = SLUICE__REQUEST__OP_DESCRIBE_STREAM_SUMMARY;
    req.describe_stream_summary = &op;
    Sluice__Response *r = NULL;
    rc = sl_call(c, NULL, &req, &r, 0);
    if (rc == 0) {
        rc = expect(r, SLUICE__RESPONSE__RESULT_DESCRIBE_STREAM_SUMMARY, "DescribeStreamSummary");
    }
    if (rc != 0) {
        return rc;
    }
    struct description_impl *impl = sl_calloc(1, sizeof(*impl));
    if (impl == NULL) {
        sl_response_free(r);
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    if ((rc = resps_add(&impl->resps, r)) != 0) {
        sl_free(impl);
        return rc;
    }
    const Sluice__StreamDescriptionSummary *s = r->describe_stream_summary;
    impl->pub.stream_name = s->stream_name ? s->stream_name : stream;
    impl->pub.stream_arn = s->stream_arn ? s->stream_arn : "";
    impl->pub.status = (enum sluice_stream_status)s->stream_status;
    impl->pub.mode = (enum sluice_stream_mode)s->stream_mode;
    impl->pub.retention_period_hours = s->retention_period_hours;
    impl->pub.creation_timestamp_ms = s->stream_creation_timestamp_ms;
    impl->pub.open_shard_count = s->open_shard_count;
    impl->pub.consumer_count = s->consumer_count;
    impl->pub.max_record_size_kib = s->max_record_size_kib;
    *out = &impl->pub;
    return 0;
}

/* Polls DescribeStreamSummary until the stream is ACTIVE (`gone` false) or no longer exists
 * (`gone` true). */
static int wait_for(struct sluice_client *c, const char *stream, uint32_t timeout_ms, bool gone)
{
    uint64_t deadline = sl_now_ms() + timeout_ms;
    uint32_t pause_ms = 100;
    for (;;) {
        struct sluice_stream_description *d = NULL;
        int rc = sluice_describe_stream_summary(c, stream, &d);
        if (rc == SLUICE_ENOTFOUND && gone) {
            return 0;
        }
        if (rc != 0) {
            return rc;
        }
        enum sluice_stream_status st = d->status;
        sluice_stream_description_free(d);
        if (st == SLUICE_ACTIVE && !gone) {
            return 0;
        }
        uint64_t now = sl_now_ms();
        if (now >= deadline) {
            return sl_fail(SLUICE_ETIMEDOUT, "stream %s is still %s after %u ms", stream,
                           sluice_stream_status_name((int)st), timeout_ms);
        }
        uint64_t left = deadline - now;
        sl_sleep_ms(left < pause_ms ? (uint32_t)left : pause_ms);
        pause_ms = pause_ms * 2 > 1000 ? 1000 : pause_ms * 2;
    }
}

int sluice_wait_active(struct sluice_client *c, const char *stream, uint32_t timeout_ms)
{
    return wait_for(c, stream, timeout_ms, false);
}

int sluice_wait_deleted(struct sluice_client *c, const char *stream, uint32_t timeout_ms)
{
    return wait_for(c, stream, timeout_ms, true);
}

/* ---- PutRecord ---- */

static int copy_field(char *dst, size_t cap, const char *src, const char *what)
{
    if (src == NULL || strlen(src) >= cap) {
        return sl_fail(SLUICE_EIO, "the server's answer has %s %s", src ? "an overlong" : "no",
                       what);
    }
    strcpy(dst, src);
    return 0;
}

/* Picks the target of a single-shard request by key: its learned leader, when any leader of
 * the stream is known (else routing would cost a ListShards for nothing). */
static bool target_by_key(struct sluice_client *c, const char *stream,
                          const struct sluice_record_in *r, char shard[SLUICE_SHARD_ID_MAX + 1])
{
    if (!sl_cache_has_leaders(c, stream)) {
        return false;
    }
    char saved[SL_ERRMSG_MAX];
    memcpy(saved, sluice_errmsg(), sizeof(saved));
    bool ok = sluice_route(c, stream, r->partition_key, r->explicit_hash_key, shard) == 0;
    sl_fail(0, "%s", saved); /* a routing failure is not the caller's error */
    return ok;
}

int sluice_put_record(struct sluice_client *c, const char *stream, const struct sluice_record_in *r,
                      const char *sequence_number_for_ordering,
                      struct sluice_put_record_result *out)
{
    memset(out, 0, sizeof(*out));
    int rc = check_name("stream name", stream);
    if (rc == 0) {
        rc = sl_check_records(r, 1, false);
    }
    if (rc != 0) {
        return rc;
    }
    Sluice__PutRecordRequest op = SLUICE__PUT_RECORD_REQUEST__INIT;
    op.stream_name = (char *)stream;
    op.has_data = 1;
    op.data.len = r->data_len;
    op.data.data = (uint8_t *)r->data;
    op.partition_key = (char *)r->partition_key;
    op.explicit_hash_key = (char *)r->explicit_hash_key;
    op.sequence_number_for_ordering = (char *)sequence_number_for_ordering;
    Sluice__Request req = SLUICE__REQUEST__INIT;
    req.op_case = SLUICE__REQUEST__OP_PUT_RECORD;
    req.put_record = &op;

    char shard[SLUICE_SHARD_ID_MAX + 1];
    Sluice__Response *resp = NULL;
    if (target_by_key(c, stream, r, shard)) {
        struct sl_target t = {stream, shard, 0};
        rc = sl_call(c, &t, &req, &resp, 0);
    } else {
        struct sl_target t = {stream, NULL, 0};
        rc = sl_call(c, &t, &req, &resp, SL_CALL_RETURN_NOT_LEADER);
        if (rc == SLUICE_ENOTLEADER) {
            /* Go to the record's shard: routing learns which it is, the hints who leads it. */
            rc = sluice_route(c, stream, r->partition_key, r->explicit_hash_key, shard);
            struct sl_target ts = {stream, rc == 0 ? shard : NULL, 0};
            rc = sl_call(c, &ts, &req, &resp, 0);
        }
    }
    if (rc == 0) {
        rc = expect(resp, SLUICE__RESPONSE__RESULT_PUT_RECORD, "PutRecord");
    }
    if (rc != 0) {
        return rc;
    }
    rc = copy_field(out->shard_id, sizeof(out->shard_id), resp->put_record->shard_id, "shard id");
    if (rc == 0) {
        rc = copy_field(out->sequence_number, sizeof(out->sequence_number),
                        resp->put_record->sequence_number, "sequence number");
    }
    sl_response_free(resp);
    return rc;
}

/* ---- PutRecords ----
 *
 * The records of one call go out in groups: when shard leaders of the stream are known, one
 * group per leader (records routed by hash key); else one group to the node that last served
 * the stream. A group spanning shards that gets NOT_LEADER is split into one group per shard,
 * and those follow the hints, which teaches the cache the leaders for next time. When some
 * groups succeed and others fail, the failed groups' records become failed entries (so that
 * only they are retried); when all fail, the call fails. */

struct put_impl {
    struct sluice_put_records_result pub;
    struct sluice_put_records_entry *entries;
    struct sl_resps resps;
    char **msgs; /* messages of failed groups */
    size_t n_msgs, cap_msgs;
};

void sluice_put_records_result_free(struct sluice_put_records_result *r)
{
    if (r) {
        struct put_impl *impl = (struct put_impl *)r;
        resps_free(&impl->resps);
        for (size_t i = 0; i < impl->n_msgs; i++) {
            sl_free(impl->msgs[i]);
        }
        sl_free(impl->msgs);
        sl_free(impl->entries);
        sl_free(impl);
    }
}

typedef char sl_shard_buf[SLUICE_SHARD_ID_MAX + 1];

/* One PutRecords call for the records `idx[0..n)` of `recs`; fills their entries. */
static int put_send(struct sluice_client *c, const char *stream,
                    const struct sluice_record_in *recs, const size_t *idx, size_t n,
                    const struct sl_target *t, unsigned flags, struct put_impl *impl)
{
    Sluice__PutRecordsRequestEntry *pe = sl_calloc(n, sizeof(*pe));
    Sluice__PutRecordsRequestEntry **pp = sl_calloc(n, sizeof(*pp));
    if (pe == NULL || pp == NULL) {
        sl_free(pe);
        sl_free(pp);
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        const struct sluice_record_in *r = &recs[idx[k]];
        Sluice__PutRecordsRequestEntry init = SLUICE__PUT_RECORDS_REQUEST_ENTRY__INIT;
        pe[k] = init;
        pe[k].has_data = 1;
        pe[k].data.len = r->data_len;
        pe[k].data.data = (uint8_t *)r->data;
        pe[k].partition_key = (char *)r->partition_key;
        pe[k].explicit_hash_key = (char *)r->explicit_hash_key;
        pp[k] = &pe[k];
    }
    Sluice__PutRecordsRequest op = SLUICE__PUT_RECORDS_REQUEST__INIT;
    op.stream_name = (char *)stream;
    op.n_records = n;
    op.records = pp;
    Sluice__Request req = SLUICE__REQUEST__INIT;
    req.op_case = SLUICE__REQUEST__OP_PUT_RECORDS;
    req.put_records = &op;
    Sluice__Response *r = NULL;
    int rc = sl_call(c, t, &req, &r, flags);
    sl_free(pe);
    sl_free(pp);
    if (rc == 0) {
        rc = expect(r, SLUICE__RESPONSE__RESULT_PUT_RECORDS, "PutRecords");
    }
    if (rc == 0 && r->put_records->n_records != n) {
        size_t got = r->put_records->n_records;
        sl_response_free(r);
        rc = sl_fail(SLUICE_EIO, "PutRecords: %zu results for %zu records", got, n);
    }
    if (rc == 0) {
        rc = resps_add(&impl->resps, r);
    }
    if (rc != 0) {
        return rc;
    }
    for (size_t k = 0; k < n; k++) {
        struct sluice_put_records_entry *e = &impl->entries[idx[k]];
        const Sluice__PutRecordsResultEntry *pr = r->put_records->records[k];
        memset(e, 0, sizeof(*e));
        if (pr->error_code && pr->error_code[0]) {
            e->error = sl_err_from_kinesis_name(pr->error_code);
            e->error_code = pr->error_code;
            e->error_message = pr->error_message ? pr->error_message : "";
        } else if (pr->sequence_number == NULL || pr->shard_id == NULL) {
            e->error = SLUICE_EIO;
            e->error_code = "InternalFailure";
            e->error_message = "the server's answer has no sequence number for this record";
        } else {
            e->shard_id = pr->shard_id;
            e->sequence_number = pr->sequence_number;
        }
    }
    return 0;
}

/* Marks the records `idx[0..n)` failed with `err` and the thread's current message. */
static void put_fail(struct put_impl *impl, const size_t *idx, size_t n, int err)
{
    const char *msg = "";
    char *copy = sl_strdup(sluice_errmsg());
    if (copy && sl_grow((void **)&impl->msgs, &impl->cap_msgs, impl->n_msgs + 1,
                        sizeof(*impl->msgs)) == 0) {
        impl->msgs[impl->n_msgs++] = copy;
        msg = copy;
    } else {
        sl_free(copy);
    }
    for (size_t k = 0; k < n; k++) {
        struct sluice_put_records_entry *e = &impl->entries[idx[k]];
        memset(e, 0, sizeof(*e));
        e->error = err;
        e->error_code = sluice_errname(err);
        e->error_message = msg;
    }
}

/* Routes records `idx[0..n)` to `shards` ("" where unknown), reloading the shard list at most
 * once. Never fails: an unroutable record just has no shard. */
static void route_all(struct sluice_client *c, const char *stream,
                      const struct sluice_record_in *recs, const size_t *idx, size_t n,
                      sl_shard_buf *shards)
{
    char saved[SL_ERRMSG_MAX];
    memcpy(saved, sluice_errmsg(), sizeof(saved));
    bool reloaded = false;
    for (size_t k = 0; k < n; k++) {
        const struct sluice_record_in *r = &recs[idx[k]];
        char *out = shards[idx[k]];
        out[0] = '\0';
        sl_u128 key;
        if (sl_record_hash_key(r->partition_key, r->explicit_hash_key, &key) != 0) {
            continue;
        }
        if (sl_cache_route(c, stream, key, out) == 0) {
            continue;
        }
        if (!reloaded) {
            reloaded = true;
            (void)sluice_refresh_shards(c, stream);
            if (sl_cache_route(c, stream, key, out) != 0) {
                out[0] = '\0';
            }
        }
    }
    sl_fail(0, "%s", saved);
}

/* Outcome bookkeeping over the groups of one call. */
struct put_tally {
    size_t ok;
    int first_err;
    char first_msg[SL_ERRMSG_MAX];
};

static void tally(struct put_tally *t, struct put_impl *impl, const size_t *idx, size_t n, int rc)
{
    if (rc == 0) {
        t->ok++;
        return;
    }
    if (t->first_err == 0) {
        t->first_err = rc;
        memcpy(t->first_msg, sluice_errmsg(), sizeof(t->first_msg));
    }
    put_fail(impl, idx, n, rc);
}

/* Sends `idx[0..n)` as one group per shard (their shards are in `shards`). */
static int put_by_shard(struct sluice_client *c, const char *stream,
                        const struct sluice_record_in *recs, const size_t *idx, size_t n,
                        sl_shard_buf *shards, struct put_impl *impl, struct put_tally *tl)
{
    bool *taken = sl_calloc(n, sizeof(*taken));
    size_t *g = sl_calloc(n, sizeof(*g));
    if (taken == NULL || g == NULL) {
        sl_free(taken);
        sl_free(g);
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (taken[i]) {
            continue;
        }
        const char *shard = shards[idx[i]];
        size_t m = 0;
        for (size_t j = i; j < n; j++) {
            if (!taken[j] && strcmp(shards[idx[j]], shard) == 0) {
                taken[j] = true;
                g[m++] = idx[j];
            }
        }
        struct sl_target t = {stream, shard[0] ? shard : NULL, 0};
        tally(tl, impl, g, m, put_send(c, stream, recs, g, m, &t, 0, impl));
    }
    sl_free(taken);
    sl_free(g);
    return 0;
}

int sluice_put_records(struct sluice_client *c, const char *stream,
                       const struct sluice_record_in *records, size_t n,
                       struct sluice_put_records_result **out)
{
    *out = NULL;
    int rc = check_name("stream name", stream);
    if (rc != 0) {
        return rc;
    }
    if (n == 0 || n > SLUICE_PUT_RECORDS_MAX) {
        return sl_fail(SLUICE_EVALIDATION, "PutRecords takes 1 to %d records, not %zu",
                       SLUICE_PUT_RECORDS_MAX, n);
    }
    if ((rc = sl_check_records(records, n, true)) != 0) {
        return rc;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += records[i].data_len + strlen(records[i].partition_key);
    }
    if (bytes > SLUICE_PUT_RECORDS_BYTES_MAX) {
        return sl_fail(SLUICE_EVALIDATION,
                       "PutRecords records take %zu bytes with their keys, more than %d", bytes,
                       SLUICE_PUT_RECORDS_BYTES_MAX);
    }

    struct put_impl *impl = sl_calloc(1, sizeof(*impl));
    size_t *idx = sl_calloc(n, sizeof(*idx));
    size_t *g = sl_calloc(n, sizeof(*g));
    int *node_of = sl_calloc(n, sizeof(*node_of));
    sl_shard_buf *shards = sl_calloc(n, sizeof(*shards));
    struct put_tally *tl = sl_calloc(1, sizeof(*tl));
    if (impl) {
        impl->entries = sl_calloc(n, sizeof(*impl->entries));
    }
    if (!impl || !impl->entries || !idx || !g || !node_of || !shards || !tl) {
        rc = sl_fail(SLUICE_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
        node_of[i] = -1;
    }

    bool routed = false;
    if (sl_cache_has_leaders(c, stream)) {
        route_all(c, stream, records, idx, n, shards);
        routed = true;
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < n; i++) {
            if (shards[i][0]) {
                node_of[i] = sl_cache_leader_locked(c, stream, shards[i]);
            }
        }
        pthread_mutex_unlock(&c->mu);
    }

    /* One group per node (-1: not known), in order of first appearance; -2 marks sent. */
    for (size_t i = 0; i < n; i++) {
        if (node_of[i] == -2) {
            continue; /* already sent */
        }
        int node = node_of[i];
        size_t m = 0;
        bool one_shard = routed;
        for (size_t j = i; j < n; j++) {
            if (node_of[j] == node) {
                g[m++] = j;
                node_of[j] = -2;
                one_shard = one_shard && shards[j][0] && strcmp(shards[j], shards[i]) == 0;
            }
        }
        if (one_shard) {
            struct sl_target t = {stream, shards[i], node + 1};
            tally(tl, impl, g, m, put_send(c, stream, records, g, m, &t, 0, impl));
            continue;
        }
        struct sl_target t = {stream, NULL, node + 1};
        rc = put_send(c, stream, records, g, m, &t, SL_CALL_RETURN_NOT_LEADER, impl);
        if (rc != SLUICE_ENOTLEADER) {
            tally(tl, impl, g, m, rc);
            continue;
        }
        if (!routed) {
            route_all(c, stream, records, idx, n, shards);
            routed = true;
        }
        rc = put_by_shard(c, stream, records, g, m, shards, impl, tl);
        if (rc != 0) {
            tally(tl, impl, g, m, rc);
        }
    }

    if (tl->ok == 0) {
        rc = sl_fail(tl->first_err, "%s", tl->first_msg);
        goto done;
    }
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        impl->pub.failed_record_count += impl->entries[i].error != 0;
    }
    impl->pub.n_records = n;
    impl->pub.records = impl->entries;
    *out = &impl->pub;
    impl = NULL;

done:
    sluice_put_records_result_free(impl ? &impl->pub : NULL);
    sl_free(idx);
    sl_free(g);
    sl_free(node_of);
    sl_free(shards);
    sl_free(tl);
    return rc;
}

/* ---- GetShardIterator, GetRecords ---- */

int sl_get_shard_iterator(struct sluice_client *c, const char *stream, const char *shard_id,
                          const struct sluice_position *pos, char **iterator)
{
    *iterator = NULL;
    int rc = check_name("stream name", stream);
    if (rc == 0) {
        rc = check_name("shard id", shard_id);
    }
    if (rc != 0) {
        return rc;
    }
    Sluice__GetShardIteratorRequest op = SLUICE__GET_SHARD_ITERATOR_REQUEST__INIT;
    op.stream_name = (char *)stream;
    op.shard_id = (char *)shard_id;
    op.has_shard_iterator_type = 1;
    op.shard_iterator_type = (Sluice__ShardIteratorType)pos->type;
    if (pos->type == SLUICE_AT_SEQUENCE_NUMBER || pos->type == SLUICE_AFTER_SEQUENCE_NUMBER) {
        op.starting_sequence_number = (char *)pos->sequence_number;
    }
    if (pos->type == SLUICE_AT_TIMESTAMP) {
        op.has_timestamp_ms = 1;
        op.timestamp_ms = pos->timestamp_ms;
    }
    Sluice__Request req = SLUICE__REQUEST__INIT;
    req.op_case = SLUICE__REQUEST__OP_GET_SHARD_ITERATOR;
    req.get_shard_iterator = &op;
    Sluice__Response *r = NULL;
    struct sl_target t = {stream, shard_id, 0};
    rc = sl_call(c, &t, &req, &r, 0);
    if (rc == 0) {
        rc = expect(r, SLUICE__RESPONSE__RESULT_GET_SHARD_ITERATOR, "GetShardIterator");
    }
    if (rc != 0) {
        return rc;
    }
    const char *it = r->get_shard_iterator->shard_iterator;
    if (it == NULL || it[0] == '\0') {
        sl_response_free(r);
        return sl_fail(SLUICE_EIO, "GetShardIterator: the server's answer has no iterator");
    }
    *iterator = sl_strdup(it);
    sl_response_free(r);
    return *iterator ? 0 : sl_fail(SLUICE_ENOMEM, "out of memory");
}

int sluice_get_shard_iterator(struct sluice_client *c, const char *stream, const char *shard_id,
                              const struct sluice_position *pos, char **iterator)
{
    return sl_get_shard_iterator(c, stream, shard_id, pos, iterator);
}

struct records_impl {
    struct sluice_records pub;
    struct sluice_record *recs;
    Sluice__Response *resp;
};

void sluice_records_free(struct sluice_records *r)
{
    if (r) {
        struct records_impl *impl = (struct records_impl *)r;
        sl_response_free(impl->resp);
        sl_free(impl->recs);
        sl_free(impl);
    }
}

int sl_get_records(struct sluice_client *c, const struct sl_target *t, const char *iterator,
                   uint32_t limit, struct sluice_records **out)
{
    *out = NULL;
    int rc = check_name("shard iterator", iterator);
    if (rc != 0) {
        return rc;
    }
    Sluice__GetRecordsRequest op = SLUICE__GET_RECORDS_REQUEST__INIT;
    op.shard_iterator = (char *)iterator;
    op.has_limit = limit > 0;
    op.limit = limit;
    Sluice__Request req = SLUICE__REQUEST__INIT;
    req.op_case = SLUICE__REQUEST__OP_GET_RECORDS;
    req.get_records = &op;
    Sluice__Response *r = NULL;
    rc = sl_call(c, t, &req, &r, 0);
    if (rc == 0) {
        rc = expect(r, SLUICE__RESPONSE__RESULT_GET_RECORDS, "GetRecords");
    }
    if (rc != 0) {
        return rc;
    }
    const Sluice__GetRecordsResult *g = r->get_records;
    struct records_impl *impl = sl_calloc(1, sizeof(*impl));
    struct sluice_record *recs = sl_calloc(g->n_records ? g->n_records : 1, sizeof(*recs));
    if (impl == NULL || recs == NULL) {
        sl_free(impl);
        sl_free(recs);
        sl_response_free(r);
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < g->n_records; i++) {
        const Sluice__Record *pr = g->records[i];
        recs[i].sequence_number = pr->sequence_number ? pr->sequence_number : "";
        recs[i].partition_key = pr->partition_key ? pr->partition_key : "";
        recs[i].data = pr->data.data;
        recs[i].data_len = pr->data.len;
        recs[i].arrival_timestamp_ms = pr->approximate_arrival_timestamp_ms;
    }
    impl->resp = r;
    impl->recs = recs;
    impl->pub.n_records = g->n_records;
    impl->pub.records = recs;
    impl->pub.next_shard_iterator = opt_str(g->next_shard_iterator);
    impl->pub.millis_behind_latest = g->millis_behind_latest;
    impl->pub.at_shard_end = impl->pub.next_shard_iterator == NULL;
    *out = &impl->pub;
    return 0;
}

int sluice_get_records(struct sluice_client *c, const char *iterator, uint32_t limit,
                       struct sluice_records **out)
{
    struct sl_target t = {NULL, NULL, 0};
    return sl_get_records(c, &t, iterator, limit, out);
}

int sl_records_empty(bool at_shard_end, int64_t millis_behind, struct sluice_records **out)
{
    struct records_impl *impl = sl_calloc(1, sizeof(*impl));
    if (impl == NULL) {
        *out = NULL;
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    impl->pub.at_shard_end = at_shard_end;
    impl->pub.millis_behind_latest = millis_behind;
    *out = &impl->pub;
    return 0;
}
