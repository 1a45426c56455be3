/* kinesis.c — the Kinesis HTTP API front end (see kinesis.h).
 *
 * Notes:
 * 1. A request's life: the HTTP loop thread checks the envelope (method, Content-Type,
 *    X-Amz-Target), decodes the body into a document tree, reads the operation's members into
 *    a Sluice__Request whose strings and bytes point into that tree, and submits it. The
 *    answer (struct sl_answer_to) is encoded in the request's encoding and sent back through
 *    the HTTP server from whichever thread produced it.
 * 2. struct kreq has two owners: the handler (until sl_ops_submit's `done`) and the answer
 *    (until it is sent or dropped); the last one frees it. They may run on different threads.
 * 3. Member type mismatches are SerializationException, as Kinesis answers them; limits and
 *    shapes are checked by the shared handlers (ValidationException and the rest). Integers
 *    outside 0..2^32-1 reach the handlers clamped to the nearest end of that range, so their
 *    messages name the clamped value.
 * 4. A stream may be named by StreamName or StreamARN (newer SDKs send the ARN); both must agree
 *    when both come. An ARN must be this node's region and account. The *Resource operations
 *    take a ResourceARN, a stream's or (once sluice has them) a consumer's, and map onto the
 *    stream operations: TagResource is AddTagsToStream, ListTagsForResource is
 *    ListTagsForStream without paging.
 */
#include "server/kinesis.h"

#include "core/alloc.h"
#include "core/base64.h"
#include "core/cbor.h"
#include "core/doc.h"
#include "core/errors.h"
#include "core/json.h"
#include "core/shard/validate.h"
#include "core/utf8.h"
#include "io/crypto.h"
#include "io/clock.h"
#include "io/http.h"
#include "io/sigv4.h"
#include "server/node.h"
#include "sluice.pb-c.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TARGET_PREFIX "Kinesis_20131202."
#define CT_JSON       "application/x-amz-json-1.1"
#define CT_CBOR       "application/x-amz-cbor-1.1"
#define ERR_MAX       512
/* Request bodies: PutRecords carries up to 5 MiB of data, 4/3 of it as base64 in JSON. */
#define BODY_BYTES_MAX  (16u << 20)
#define IDLE_TIMEOUT_MS 60000
/* Requests received and not finished; past it new ones get 503 (SDKs retry those): bounds the
 * memory held by decoded bodies and queued work. */
#define IN_FLIGHT_MAX 256
/* Headers a request may carry (HTTP/1 stops at 100 already; HTTP/2 does not). */
#define HEADERS_MAX 128
/* StreamARN and ResourceARN: Kinesis' bound. */
#define ARN_BYTES_MAX 2048

struct kop;

struct kreq {
    atomic_int refs; /* note 2 */
    struct node *n;
    struct sl_http_req *http;
    const struct kop *op;
    enum sl_enc_kind enc;
    char request_id[37]; /* x-amzn-RequestId: a version-4 UUID */
    char id2[33];        /* x-amz-id-2: base64 of 24 random bytes, as AWS's looks */
    struct sl_doc doc;
    Sluice__Request rq;
    char err[ERR_MAX]; /* why decoding failed */
};

typedef int (*kdecode)(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq);
typedef void (*kencode)(struct sl_enc *e, const Sluice__Response *r);

struct kop {
    const char *name;
    Sluice__Request__OpCase op_case;
    kdecode decode;
    kencode encode; /* NULL: the operation answers with an empty body */
};

/* ---- reading members (note 3) ---- */

static int type_error(struct kreq *k, const char *member, const char *want)
{
    snprintf(k->err, sizeof(k->err), "Member %s must be %s", member, want);
    return SL_ESERIAL;
}

/* The member, or NULL when absent or null. */
static const struct sl_doc_value *member(const struct sl_doc_value *in, const char *name)
{
    const struct sl_doc_value *v = sl_doc_get(in, name);
    return v && v->type != SL_DOC_NULL ? v : NULL;
}

static int get_str(struct kreq *k, const struct sl_doc_value *in, const char *name, char **out)
{
    const struct sl_doc_value *v = member(in, name);
    *out = NULL;
    if (!v) {
        return 0;
    }
    if (v->type != SL_DOC_STRING) {
        return type_error(k, name, "a string");
    }
    if (strlen(v->s) != v->len) {
        /* The handlers take C strings: refuse rather than cut the value short. */
        snprintf(k->err, sizeof(k->err), "Member %s contains U+0000, which sluice does not accept",
                 name);
        return SL_ESERIAL;
    }
    *out = (char *)v->s;
    return 0;
}

/* The next ':'-separated field of an ARN at *p (none left: NULL). */
static const char *arn_field(const char **p, size_t *len)
{
    const char *start = *p, *colon = strchr(start, ':');
    if (!colon) {
        return NULL;
    }
    *len = (size_t)(colon - start);
    *p = colon + 1;
    return start;
}

/* A ValidationException about member `member` of the request ("streamARN"). */
static int arn_invalid(struct kreq *k, const char *member, const char *arn, const char *constraint)
{
    snprintf(k->err, sizeof(k->err),
             "1 validation error detected: Value '%.256s' at '%c%s' failed to satisfy constraint: "
             "%s",
             arn, member[0] + ('a' - 'A'), member + 1, constraint);
    return SL_EVALIDATION;
}

/* A stream named by ARN (note 4): `arn` is arn:aws:kinesis:REGION:ACCOUNT:stream/NAME, or
 * (`resource`) may name a stream's consumer. Points *name into `arn`. */
static int arn_stream(struct kreq *k, const char *member, const char *arn, bool resource,
                      char **name)
{
    if (strlen(arn) > ARN_BYTES_MAX) {
        return arn_invalid(k, member, arn, "Member must have length less than or equal to 2048");
    }
    const char *p = arn, *f[5];
    size_t len[5];
    bool ok = true;
    for (int i = 0; i < 5 && ok; i++) {
        ok = (f[i] = arn_field(&p, &len[i])) != NULL;
    }
    ok = ok && len[0] == 3 && memcmp(f[0], "arn", 3) == 0 && len[1] >= 3 &&
         memcmp(f[1], "aws", 3) == 0 && len[2] == 7 && memcmp(f[2], "kinesis", 7) == 0 &&
         len[4] == 12 && strspn(f[4], "0123456789") >= 12 && strncmp(p, "stream/", 7) == 0 &&
         p[7] != '\0';
    if (!ok) {
        return arn_invalid(k, member, arn,
                           resource ? "Member must satisfy regular expression pattern: "
                                      "arn:aws.*:kinesis:.*:\\d{12}:.*stream/\\S+"
                                    : "Member must satisfy regular expression pattern: "
                                      "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+");
    }
    const struct sl_config *cfg = &k->n->cfg;
    if (len[1] != 3 || len[3] != strlen(cfg->region) || memcmp(f[3], cfg->region, len[3]) != 0 ||
        strlen(cfg->account) != 12 || memcmp(f[4], cfg->account, 12) != 0) {
        snprintf(k->err, sizeof(k->err),
                 "%s %.200s not found: this endpoint serves partition aws, account %.32s, region "
                 "%.32s.",
                 member, arn, cfg->account, cfg->region);
        return SL_ENOTFOUND;
    }
    const char *stream = p + 7;
    if (resource && strstr(stream, "/consumer/")) {
        snprintf(k->err, sizeof(k->err), "Consumer %.256s not found.", arn);
        return SL_ENOTFOUND;
    }
    size_t n = strspn(stream, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    if (stream[n] != '\0' || n > SL_STREAM_NAME_MAX) {
        return arn_invalid(k, member, arn,
                           "the stream name in it must match [a-zA-Z0-9_.-]+ and have at most "
                           "128 characters");
    }
    *name = (char *)stream;
    return 0;
}

/* The stream a request names: StreamName, or StreamARN, or both when they agree. */
static int get_stream(struct kreq *k, const struct sl_doc_value *in, char **out)
{
    char *arn = NULL, *name = NULL;
    int rc = get_str(k, in, "StreamName", out);
    if (rc == 0) {
        rc = get_str(k, in, "StreamARN", &arn);
    }
    if (rc != 0 || !arn) {
        return rc;
    }
    rc = arn_stream(k, "StreamARN", arn, false, &name);
    if (rc == 0 && *out && **out == '\0') {
        return 0; /* StreamName "": the handler's shape check names it */
    }
    if (rc == 0 && *out && strcmp(*out, name) != 0) {
        snprintf(k->err, sizeof(k->err),
                 "StreamARN %.256s and StreamName %.128s name different streams.", arn, *out);
        return SL_EINVAL;
    }
    *out = name;
    return rc;
}

/* The stream a *Resource operation's ResourceARN names (a consumer's: not found, for now). */
static int get_resource(struct kreq *k, const struct sl_doc_value *in, char **out)
{
    char *arn = NULL;
    int rc = get_str(k, in, "ResourceARN", &arn);
    *out = NULL;
    if (rc == 0 && !arn) {
        snprintf(k->err, sizeof(k->err),
                 "1 validation error detected: Value null at 'resourceARN' failed to satisfy "
                 "constraint: Member must not be null");
        return SL_EVALIDATION;
    }
    return rc != 0 ? rc : arn_stream(k, "ResourceARN", arn, true, out);
}

static int get_u32(struct kreq *k, const struct sl_doc_value *in, const char *name,
                   protobuf_c_boolean *has, uint32_t *out)
{
    const struct sl_doc_value *v = member(in, name);
    *has = false;
    if (!v) {
        return 0;
    }
    /* A number beyond int64 is integral (doubles are, that far out) but has no `i`. */
    bool huge = v->type == SL_DOC_NUMBER && !v->is_int && (v->d > 9.2e18 || v->d < -9.2e18);
    if (v->type != SL_DOC_NUMBER || (!v->is_int && !huge)) {
        return type_error(k, name, "an integer");
    }
    *has = true;
    if (huge) {
        *out = v->d < 0 ? 0 : UINT32_MAX;
    } else {
        *out = v->i < 0 ? 0 : v->i > UINT32_MAX ? UINT32_MAX : (uint32_t)v->i;
    }
    return 0;
}

static int get_bool(struct kreq *k, const struct sl_doc_value *in, const char *name,
                    protobuf_c_boolean *has, protobuf_c_boolean *out)
{
    const struct sl_doc_value *v = member(in, name);
    *has = false;
    if (!v) {
        return 0;
    }
    if (v->type != SL_DOC_BOOL) {
        return type_error(k, name, "a boolean");
    }
    *has = true;
    *out = v->b;
    return 0;
}

/* A blob: base64 text (JSON, or CBOR text), or a CBOR byte string. */
static int get_blob(struct kreq *k, const struct sl_doc_value *in, const char *name,
                    protobuf_c_boolean *has, ProtobufCBinaryData *out)
{
    const struct sl_doc_value *v = member(in, name);
    *has = false;
    if (!v) {
        return 0;
    }
    if (v->type == SL_DOC_BYTES) {
        *has = true;
        out->data = (uint8_t *)v->s;
        out->len = v->len;
        return 0;
    }
    if (v->type != SL_DOC_STRING) {
        return type_error(k, name, "a base64-encoded blob");
    }
    if (v->len % 4 != 0) {
        snprintf(k->err, sizeof(k->err),
                 "Base64 encoded length is expected a multiple of 4 bytes but found: %zu", v->len);
        return SL_ESERIAL;
    }
    uint8_t *buf = sl_doc_alloc(&k->doc, v->len / 4 * 3 + 1);
    if (!buf) {
        return SL_ENOMEM;
    }
    long n = sl_base64_decode(v->s, v->len, buf);
    if (n < 0) {
        snprintf(k->err, sizeof(k->err), "Member %s is not valid base64", name);
        return SL_ESERIAL;
    }
    *has = true;
    out->data = buf;
    out->len = (size_t)n;
    return 0;
}

static int get_time_ms(struct kreq *k, const struct sl_doc_value *in, const char *name,
                       protobuf_c_boolean *has, int64_t *out)
{
    const struct sl_doc_value *v = member(in, name);
    *has = false;
    if (!v) {
        return 0;
    }
    if (!sl_doc_time_ms(v, out)) {
        return type_error(k, name, "a timestamp (epoch seconds)");
    }
    *has = true;
    return 0;
}

/* An enum member given by name; `names[i]` is value i. Unknown names are left to the handler's
 * validation by passing a value outside the enum (the handler names the member). */
static int get_enum(struct kreq *k, const struct sl_doc_value *in, const char *name,
                    const char *const *names, size_t n_names, protobuf_c_boolean *has, int *out)
{
    char *s = NULL;
    int rc = get_str(k, in, name, &s);
    *has = false;
    if (rc != 0 || !s) {
        return rc;
    }
    for (size_t i = 0; i < n_names; i++) {
        if (names[i] && strcmp(s, names[i]) == 0) {
            *has = true;
            *out = (int)i;
            return 0;
        }
    }
    snprintf(k->err, sizeof(k->err),
             "1 validation error detected: Value '%.256s' at '%c%s' failed to satisfy constraint: "
             "Member must satisfy enum value set",
             s, name[0] + ('a' - 'A'), name + 1);
    return SL_EVALIDATION;
}

static void *alloc_msg(struct kreq *k, size_t size)
{
    return sl_doc_alloc(&k->doc, size);
}

#define NEW_MSG(k, type, init, var)                                                                \
    type *var = alloc_msg(k, sizeof(type));                                                        \
    if (!var) {                                                                                    \
        return SL_ENOMEM;                                                                          \
    }                                                                                              \
    *var = (type)init

/* Tags as Kinesis sends them: a map from key to value. */
static int get_tags(struct kreq *k, const struct sl_doc_value *in, Sluice__Tag ***out, size_t *n)
{
    const struct sl_doc_value *v = member(in, "Tags");
    *out = NULL;
    *n = 0;
    if (!v) {
        return 0;
    }
    if (v->type != SL_DOC_MAP) {
        return type_error(k, "Tags", "a map of strings");
    }
    Sluice__Tag **ptrs = alloc_msg(k, (v->n + 1) * sizeof(*ptrs));
    Sluice__Tag *tags = alloc_msg(k, (v->n + 1) * sizeof(*tags));
    if (!ptrs || !tags) {
        return SL_ENOMEM;
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct sl_doc_member *m = &v->members[i];
        if (m->value.type != SL_DOC_STRING) {
            return type_error(k, "Tags", "a map of strings");
        }
        if (strlen(m->key) != m->key_len || strlen(m->value.s) != m->value.len) {
            snprintf(k->err, sizeof(k->err),
                     "Member Tags contains U+0000, which sluice does not accept");
            return SL_ESERIAL;
        }
        tags[i] = (Sluice__Tag)SLUICE__TAG__INIT;
        tags[i].key = (char *)m->key;
        tags[i].value = (char *)m->value.s;
        ptrs[i] = &tags[i];
    }
    *out = ptrs;
    *n = v->n;
    return 0;
}

/* A list of strings. */
static int get_strs(struct kreq *k, const struct sl_doc_value *in, const char *name, char ***out,
                    size_t *n)
{
    const struct sl_doc_value *v = member(in, name);
    *out = NULL;
    *n = 0;
    if (!v) {
        return 0;
    }
    if (v->type != SL_DOC_ARRAY) {
        return type_error(k, name, "a list of strings");
    }
    char **strs = alloc_msg(k, (v->n + 1) * sizeof(*strs));
    if (!strs) {
        return SL_ENOMEM;
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct sl_doc_value *x = &v->items[i];
        if (x->type != SL_DOC_STRING) {
            return type_error(k, name, "a list of strings");
        }
        if (strlen(x->s) != x->len) {
            snprintf(k->err, sizeof(k->err),
                     "Member %s contains U+0000, which sluice does not accept", name);
            return SL_ESERIAL;
        }
        strs[i] = (char *)x->s;
    }
    *out = strs;
    *n = v->n;
    return 0;
}

/* ---- the operations' requests ---- */

static const char *const stream_modes[] = {"PROVISIONED", "ON_DEMAND"};
static const char *const iterator_types[] = {"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER",
                                             "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"};
static const char *const stream_statuses[] = {"CREATING", "DELETING", "ACTIVE", "UPDATING"};

static int dec_create_stream(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__CreateStreamRequest, SLUICE__CREATE_STREAM_REQUEST__INIT, m);
    rq->create_stream = m;
    int rc = get_stream(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_u32(k, in, "ShardCount", &m->has_shard_count, &m->shard_count);
    }
    const struct sl_doc_value *details = member(in, "StreamModeDetails");
    if (rc == 0 && details) {
        int mode = 0;
        if (details->type != SL_DOC_MAP) {
            return type_error(k, "StreamModeDetails", "a structure");
        }
        rc = get_enum(k, details, "StreamMode", stream_modes, 2, &m->has_stream_mode, &mode);
        m->stream_mode = (Sluice__StreamMode)mode;
    }
    if (rc == 0) {
        rc = get_tags(k, in, &m->tags, &m->n_tags);
    }
    if (rc == 0 && m->n_tags == 0 && member(in, "Tags")) {
        snprintf(k->err, sizeof(k->err),
                 "1 validation error detected: Value '{}' at 'tags' failed to satisfy "
                 "constraint: Member must have length greater than or equal to 1");
        return SL_EVALIDATION;
    }
    if (rc == 0) {
        rc = get_u32(k, in, "MaxRecordSizeInKiB", &m->has_max_record_size_kib,
                     &m->max_record_size_kib);
    }
    if (rc == 0) {
        rc = get_u32(k, in, "WarmThroughputMiBps", &m->has_warm_throughput_mibps,
                     &m->warm_throughput_mibps);
    }
    return rc;
}

static int dec_delete_stream(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__DeleteStreamRequest, SLUICE__DELETE_STREAM_REQUEST__INIT, m);
    rq->delete_stream = m;
    int rc = get_stream(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_bool(k, in, "EnforceConsumerDeletion", &m->has_enforce_consumer_deletion,
                      &m->enforce_consumer_deletion);
    }
    return rc;
}

static int dec_list_streams(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__ListStreamsRequest, SLUICE__LIST_STREAMS_REQUEST__INIT, m);
    rq->list_streams = m;
    int rc = get_u32(k, in, "Limit", &m->has_limit, &m->limit);
    if (rc == 0) {
        rc = get_str(k, in, "ExclusiveStartStreamName", &m->exclusive_start_stream_name);
    }
    if (rc == 0) {
        rc = get_str(k, in, "NextToken", &m->next_token);
    }
    return rc;
}

static int dec_describe_stream(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__DescribeStreamRequest, SLUICE__DESCRIBE_STREAM_REQUEST__INIT, m);
    rq->describe_stream = m;
    int rc = get_stream(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_u32(k, in, "Limit", &m->has_limit, &m->limit);
    }
    if (rc == 0) {
        rc = get_str(k, in, "ExclusiveStartShardId", &m->exclusive_start_shard_id);
    }
    return rc;
}

static int dec_describe_stream_summary(struct kreq *k, const struct sl_doc_value *in,
                                       Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__DescribeStreamSummaryRequest, SLUICE__DESCRIBE_STREAM_SUMMARY_REQUEST__INIT,
            m);
    rq->describe_stream_summary = m;
    return get_stream(k, in, &m->stream_name);
}

static int dec_list_shards(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__ListShardsRequest, SLUICE__LIST_SHARDS_REQUEST__INIT, m);
    rq->list_shards = m;
    int rc = get_stream(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_str(k, in, "NextToken", &m->next_token);
    }
    if (rc == 0) {
        rc = get_str(k, in, "ExclusiveStartShardId", &m->exclusive_start_shard_id);
    }
    if (rc == 0) {
        rc = get_u32(k, in, "MaxResults", &m->has_max_results, &m->max_results);
    }
    return rc;
}

static int dec_retention(struct kreq *k, const struct sl_doc_value *in,
                         Sluice__RetentionRequest **out)
{
    NEW_MSG(k, Sluice__RetentionRequest, SLUICE__RETENTION_REQUEST__INIT, m);
    *out = m;
    int rc = get_stream(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_u32(k, in, "RetentionPeriodHours", &m->has_retention_period_hours,
                     &m->retention_period_hours);
    }
    return rc;
}

static int dec_increase_retention(struct kreq *k, const struct sl_doc_value *in,
                                  Sluice__Request *rq)
{
    return dec_retention(k, in, &rq->increase_stream_retention_period);
}

static int dec_decrease_retention(struct kreq *k, const struct sl_doc_value *in,
                                  Sluice__Request *rq)
{
    return dec_retention(k, in, &rq->decrease_stream_retention_period);
}

static int dec_describe_limits(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    (void)in;
    NEW_MSG(k, Sluice__DescribeLimitsRequest, SLUICE__DESCRIBE_LIMITS_REQUEST__INIT, m);
    rq->describe_limits = m;
    return 0;
}

static int dec_put_record(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__PutRecordRequest, SLUICE__PUT_RECORD_REQUEST__INIT, m);
    rq->put_record = m;
    int rc = get_stream(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_blob(k, in, "Data", &m->has_data, &m->data);
    }
    if (rc == 0) {
        rc = get_str(k, in, "PartitionKey", &m->partition_key);
    }
    if (rc == 0) {
        rc = get_str(k, in, "ExplicitHashKey", &m->explicit_hash_key);
    }
    if (rc == 0) {
        rc = get_str(k, in, "SequenceNumberForOrdering", &m->sequence_number_for_ordering);
    }
    return rc;
}

static int dec_put_records(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__PutRecordsRequest, SLUICE__PUT_RECORDS_REQUEST__INIT, m);
    rq->put_records = m;
    int rc = get_stream(k, in, &m->stream_name);
    const struct sl_doc_value *records = member(in, "Records");
    if (rc != 0 || !records) {
        return rc;
    }
    if (records->type != SL_DOC_ARRAY) {
        return type_error(k, "Records", "a list");
    }
    m->n_records = records->n;
    m->records = alloc_msg(k, (records->n + 1) * sizeof(*m->records));
    Sluice__PutRecordsRequestEntry *entries = alloc_msg(k, (records->n + 1) * sizeof(*entries));
    if (!m->records || !entries) {
        return SL_ENOMEM;
    }
    for (size_t i = 0; i < records->n && rc == 0; i++) {
        const struct sl_doc_value *r = &records->items[i];
        Sluice__PutRecordsRequestEntry *e = &entries[i];
        *e = (Sluice__PutRecordsRequestEntry)SLUICE__PUT_RECORDS_REQUEST_ENTRY__INIT;
        m->records[i] = e;
        if (r->type != SL_DOC_MAP) {
            return type_error(k, "Records", "a list of structures");
        }
        rc = get_blob(k, r, "Data", &e->has_data, &e->data);
        if (rc == 0) {
            rc = get_str(k, r, "PartitionKey", &e->partition_key);
        }
        if (rc == 0) {
            rc = get_str(k, r, "ExplicitHashKey", &e->explicit_hash_key);
        }
    }
    return rc;
}

static int dec_get_shard_iterator(struct kreq *k, const struct sl_doc_value *in,
                                  Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__GetShardIteratorRequest, SLUICE__GET_SHARD_ITERATOR_REQUEST__INIT, m);
    rq->get_shard_iterator = m;
    int type = 0;
    int rc = get_stream(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_str(k, in, "ShardId", &m->shard_id);
    }
    if (rc == 0) {
        rc = get_enum(k, in, "ShardIteratorType", iterator_types, 5, &m->has_shard_iterator_type,
                      &type);
        m->shard_iterator_type = (Sluice__ShardIteratorType)type;
    }
    if (rc == 0) {
        rc = get_str(k, in, "StartingSequenceNumber", &m->starting_sequence_number);
    }
    if (rc == 0) {
        rc = get_time_ms(k, in, "Timestamp", &m->has_timestamp_ms, &m->timestamp_ms);
    }
    return rc;
}

static int dec_get_records(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__GetRecordsRequest, SLUICE__GET_RECORDS_REQUEST__INIT, m);
    rq->get_records = m;
    int rc = get_str(k, in, "ShardIterator", &m->shard_iterator);
    if (rc == 0) {
        rc = get_u32(k, in, "Limit", &m->has_limit, &m->limit);
    }
    return rc;
}

typedef int (*get_name_fn)(struct kreq *k, const struct sl_doc_value *in, char **out);

static int dec_add_tags_by(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq,
                           get_name_fn get_name)
{
    NEW_MSG(k, Sluice__AddTagsToStreamRequest, SLUICE__ADD_TAGS_TO_STREAM_REQUEST__INIT, m);
    rq->add_tags_to_stream = m;
    int rc = get_name(k, in, &m->stream_name);
    return rc != 0 ? rc : get_tags(k, in, &m->tags, &m->n_tags);
}

static int dec_add_tags(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    return dec_add_tags_by(k, in, rq, get_stream);
}

static int dec_tag_resource(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    return dec_add_tags_by(k, in, rq, get_resource);
}

static int dec_remove_tags_by(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq,
                              get_name_fn get_name)
{
    NEW_MSG(k, Sluice__RemoveTagsFromStreamRequest, SLUICE__REMOVE_TAGS_FROM_STREAM_REQUEST__INIT,
            m);
    rq->remove_tags_from_stream = m;
    int rc = get_name(k, in, &m->stream_name);
    return rc != 0 ? rc : get_strs(k, in, "TagKeys", &m->tag_keys, &m->n_tag_keys);
}

static int dec_remove_tags(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    return dec_remove_tags_by(k, in, rq, get_stream);
}

static int dec_untag_resource(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    return dec_remove_tags_by(k, in, rq, get_resource);
}

static int dec_list_tags(struct kreq *k, const struct sl_doc_value *in, Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__ListTagsForStreamRequest, SLUICE__LIST_TAGS_FOR_STREAM_REQUEST__INIT, m);
    rq->list_tags_for_stream = m;
    int rc = get_stream(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_str(k, in, "ExclusiveStartTagKey", &m->exclusive_start_tag_key);
    }
    if (rc == 0) {
        rc = get_u32(k, in, "Limit", &m->has_limit, &m->limit);
    }
    return rc;
}

/* ListTagsForResource has no paging: every tag (a stream has at most 50). */
static int dec_list_tags_for_resource(struct kreq *k, const struct sl_doc_value *in,
                                      Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__ListTagsForStreamRequest, SLUICE__LIST_TAGS_FOR_STREAM_REQUEST__INIT, m);
    rq->list_tags_for_stream = m;
    m->has_limit = true;
    m->limit = SL_LIST_TAGS_LIMIT_MAX;
    return get_resource(k, in, &m->stream_name);
}

static int dec_update_max_record_size(struct kreq *k, const struct sl_doc_value *in,
                                      Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__UpdateMaxRecordSizeRequest, SLUICE__UPDATE_MAX_RECORD_SIZE_REQUEST__INIT, m);
    rq->update_max_record_size = m;
    int rc = get_stream(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_u32(k, in, "MaxRecordSizeInKiB", &m->has_max_record_size_kib,
                     &m->max_record_size_kib);
    }
    return rc;
}

static int dec_update_warm_throughput(struct kreq *k, const struct sl_doc_value *in,
                                      Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__UpdateStreamWarmThroughputRequest,
            SLUICE__UPDATE_STREAM_WARM_THROUGHPUT_REQUEST__INIT, m);
    rq->update_stream_warm_throughput = m;
    int rc = get_stream(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_u32(k, in, "WarmThroughputMiBps", &m->has_warm_throughput_mibps,
                     &m->warm_throughput_mibps);
    }
    return rc;
}

static int dec_policy(struct kreq *k, const struct sl_doc_value *in,
                      Sluice__ResourcePolicyRequest **out)
{
    NEW_MSG(k, Sluice__ResourcePolicyRequest, SLUICE__RESOURCE_POLICY_REQUEST__INIT, m);
    *out = m;
    int rc = get_resource(k, in, &m->stream_name);
    if (rc == 0) {
        rc = get_str(k, in, "Policy", &m->policy);
    }
    return rc;
}

static int dec_get_resource_policy(struct kreq *k, const struct sl_doc_value *in,
                                   Sluice__Request *rq)
{
    return dec_policy(k, in, &rq->get_resource_policy);
}

static int dec_put_resource_policy(struct kreq *k, const struct sl_doc_value *in,
                                   Sluice__Request *rq)
{
    return dec_policy(k, in, &rq->put_resource_policy);
}

static int dec_delete_resource_policy(struct kreq *k, const struct sl_doc_value *in,
                                      Sluice__Request *rq)
{
    return dec_policy(k, in, &rq->delete_resource_policy);
}

static int dec_describe_account_settings(struct kreq *k, const struct sl_doc_value *in,
                                         Sluice__Request *rq)
{
    (void)in;
    NEW_MSG(k, Sluice__Empty, SLUICE__EMPTY__INIT, m);
    rq->describe_account_settings = m;
    return 0;
}

static const char *const billing_statuses[] = {"DISABLED", "ENABLED"};

static int dec_update_account_settings(struct kreq *k, const struct sl_doc_value *in,
                                       Sluice__Request *rq)
{
    NEW_MSG(k, Sluice__UpdateAccountSettingsRequest, SLUICE__UPDATE_ACCOUNT_SETTINGS_REQUEST__INIT,
            m);
    rq->update_account_settings = m;
    const struct sl_doc_value *c = member(in, "MinimumThroughputBillingCommitment");
    if (!c) {
        return 0;
    }
    if (c->type != SL_DOC_MAP) {
        return type_error(k, "MinimumThroughputBillingCommitment", "a structure");
    }
    int status = 0;
    int rc = get_enum(k, c, "Status", billing_statuses, 2,
                      &m->has_minimum_throughput_billing_commitment, &status);
    m->minimum_throughput_billing_commitment = (Sluice__BillingCommitmentStatus)status;
    return rc;
}

/* ---- the operations' answers ---- */

static void enc_mode(struct sl_enc *e, Sluice__StreamMode mode)
{
    sl_enc_key(e, "StreamModeDetails");
    sl_enc_map(e, 1);
    sl_enc_key(e, "StreamMode");
    sl_enc_cstr(e, mode == SLUICE__STREAM_MODE__ON_DEMAND ? "ON_DEMAND" : "PROVISIONED");
    sl_enc_end(e);
}

static void enc_status(struct sl_enc *e, Sluice__StreamStatus status)
{
    sl_enc_key(e, "StreamStatus");
    sl_enc_cstr(e, (unsigned)status < 4 ? stream_statuses[status] : "ACTIVE");
}

static void enc_no_monitoring(struct sl_enc *e)
{
    sl_enc_key(e, "EnhancedMonitoring");
    sl_enc_array(e, 1);
    sl_enc_map(e, 1);
    sl_enc_key(e, "ShardLevelMetrics");
    sl_enc_array(e, 0);
    sl_enc_end(e);
    sl_enc_end(e);
    sl_enc_end(e);
}

static void enc_warm(struct sl_enc *e, bool has_target, uint32_t target, uint32_t current)
{
    sl_enc_key(e, "WarmThroughput");
    sl_enc_map(e, 1 + has_target);
    if (has_target) {
        sl_enc_key(e, "TargetMiBps");
        sl_enc_int(e, target);
    }
    sl_enc_key(e, "CurrentMiBps");
    sl_enc_int(e, current);
    sl_enc_end(e);
}

static void enc_shard(struct sl_enc *e, const Sluice__Shard *s)
{
    bool ending = s->sequence_number_range && s->sequence_number_range->ending_sequence_number;
    sl_enc_map(e, 3 + (s->parent_shard_id != NULL) + (s->adjacent_parent_shard_id != NULL));
    sl_enc_key(e, "ShardId");
    sl_enc_cstr(e, s->shard_id ? s->shard_id : "");
    if (s->parent_shard_id) {
        sl_enc_key(e, "ParentShardId");
        sl_enc_cstr(e, s->parent_shard_id);
    }
    if (s->adjacent_parent_shard_id) {
        sl_enc_key(e, "AdjacentParentShardId");
        sl_enc_cstr(e, s->adjacent_parent_shard_id);
    }
    sl_enc_key(e, "HashKeyRange");
    sl_enc_map(e, 2);
    sl_enc_key(e, "StartingHashKey");
    sl_enc_cstr(e, s->hash_key_range ? s->hash_key_range->starting_hash_key : "0");
    sl_enc_key(e, "EndingHashKey");
    sl_enc_cstr(e, s->hash_key_range ? s->hash_key_range->ending_hash_key : "0");
    sl_enc_end(e);
    sl_enc_key(e, "SequenceNumberRange");
    sl_enc_map(e, 1 + ending);
    sl_enc_key(e, "StartingSequenceNumber");
    sl_enc_cstr(e, s->sequence_number_range ? s->sequence_number_range->starting_sequence_number
                                            : "0");
    if (ending) {
        sl_enc_key(e, "EndingSequenceNumber");
        sl_enc_cstr(e, s->sequence_number_range->ending_sequence_number);
    }
    sl_enc_end(e);
    sl_enc_end(e);
}

static void enc_shards(struct sl_enc *e, Sluice__Shard *const *shards, size_t n)
{
    sl_enc_key(e, "Shards");
    sl_enc_array(e, n);
    for (size_t i = 0; i < n; i++) {
        enc_shard(e, shards[i]);
    }
    sl_enc_end(e);
}

static void enc_list_streams(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__ListStreamsResult *l = r->list_streams;
    sl_enc_map(e, 3 + (l->next_token != NULL));
    sl_enc_key(e, "StreamNames");
    sl_enc_array(e, l->n_stream_names);
    for (size_t i = 0; i < l->n_stream_names; i++) {
        sl_enc_cstr(e, l->stream_names[i]);
    }
    sl_enc_end(e);
    sl_enc_key(e, "HasMoreStreams");
    sl_enc_bool(e, l->has_more_streams);
    if (l->next_token) {
        sl_enc_key(e, "NextToken");
        sl_enc_cstr(e, l->next_token);
    }
    sl_enc_key(e, "StreamSummaries");
    sl_enc_array(e, l->n_stream_summaries);
    for (size_t i = 0; i < l->n_stream_summaries; i++) {
        const Sluice__StreamSummary *s = l->stream_summaries[i];
        sl_enc_map(e, 5);
        sl_enc_key(e, "StreamName");
        sl_enc_cstr(e, s->stream_name);
        sl_enc_key(e, "StreamARN");
        sl_enc_cstr(e, s->stream_arn);
        enc_status(e, s->stream_status);
        enc_mode(e, s->stream_mode);
        sl_enc_key(e, "StreamCreationTimestamp");
        sl_enc_time_ms(e, s->stream_creation_timestamp_ms);
        sl_enc_end(e);
    }
    sl_enc_end(e);
    sl_enc_end(e);
}

/* The members DescribeStream and DescribeStreamSummary share (8 of them). */
static void enc_stream_common(struct sl_enc *e, const char *name, const char *arn,
                              Sluice__StreamStatus status, Sluice__StreamMode mode,
                              uint32_t retention_hours, int64_t created_ms)
{
    sl_enc_key(e, "StreamName");
    sl_enc_cstr(e, name);
    sl_enc_key(e, "StreamARN");
    sl_enc_cstr(e, arn);
    enc_status(e, status);
    enc_mode(e, mode);
    sl_enc_key(e, "RetentionPeriodHours");
    sl_enc_int(e, retention_hours);
    sl_enc_key(e, "StreamCreationTimestamp");
    sl_enc_time_ms(e, created_ms);
    enc_no_monitoring(e);
    sl_enc_key(e, "EncryptionType");
    sl_enc_cstr(e, "NONE");
}

static void enc_describe_stream(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__StreamDescription *d = r->describe_stream;
    sl_enc_map(e, 1);
    sl_enc_key(e, "StreamDescription");
    sl_enc_map(e, 10);
    enc_stream_common(e, d->stream_name, d->stream_arn, d->stream_status, d->stream_mode,
                      d->retention_period_hours, d->stream_creation_timestamp_ms);
    enc_shards(e, d->shards, d->n_shards);
    sl_enc_key(e, "HasMoreShards");
    sl_enc_bool(e, d->has_more_shards);
    sl_enc_end(e);
    sl_enc_end(e);
}

static void enc_describe_stream_summary(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__StreamDescriptionSummary *d = r->describe_stream_summary;
    bool warm = d->has_warm_throughput_current_mibps;
    sl_enc_map(e, 1);
    sl_enc_key(e, "StreamDescriptionSummary");
    sl_enc_map(e, 11 + warm);
    enc_stream_common(e, d->stream_name, d->stream_arn, d->stream_status, d->stream_mode,
                      d->retention_period_hours, d->stream_creation_timestamp_ms);
    sl_enc_key(e, "OpenShardCount");
    sl_enc_int(e, d->open_shard_count);
    sl_enc_key(e, "ConsumerCount");
    sl_enc_int(e, d->consumer_count);
    sl_enc_key(e, "MaxRecordSizeInKiB");
    sl_enc_int(e, d->max_record_size_kib);
    if (warm) {
        enc_warm(e, d->has_warm_throughput_target_mibps, d->warm_throughput_target_mibps,
                 d->warm_throughput_current_mibps);
    }
    sl_enc_end(e);
    sl_enc_end(e);
}

static void enc_list_shards(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__ListShardsResult *l = r->list_shards;
    sl_enc_map(e, 1 + (l->next_token != NULL));
    enc_shards(e, l->shards, l->n_shards);
    if (l->next_token) {
        sl_enc_key(e, "NextToken");
        sl_enc_cstr(e, l->next_token);
    }
    sl_enc_end(e);
}

static void enc_describe_limits(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__DescribeLimitsResult *l = r->describe_limits;
    sl_enc_map(e, 4);
    sl_enc_key(e, "ShardLimit");
    sl_enc_int(e, l->shard_limit);
    sl_enc_key(e, "OpenShardCount");
    sl_enc_int(e, l->open_shard_count);
    sl_enc_key(e, "OnDemandStreamCount");
    sl_enc_int(e, l->on_demand_stream_count);
    sl_enc_key(e, "OnDemandStreamCountLimit");
    sl_enc_int(e, l->on_demand_stream_count_limit);
    sl_enc_end(e);
}

static void enc_put_record(struct sl_enc *e, const Sluice__Response *r)
{
    sl_enc_map(e, 3);
    sl_enc_key(e, "ShardId");
    sl_enc_cstr(e, r->put_record->shard_id);
    sl_enc_key(e, "SequenceNumber");
    sl_enc_cstr(e, r->put_record->sequence_number);
    sl_enc_key(e, "EncryptionType");
    sl_enc_cstr(e, "NONE");
    sl_enc_end(e);
}

static void enc_put_records(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__PutRecordsResult *p = r->put_records;
    sl_enc_map(e, 3);
    sl_enc_key(e, "FailedRecordCount");
    sl_enc_int(e, p->failed_record_count);
    sl_enc_key(e, "Records");
    sl_enc_array(e, p->n_records);
    for (size_t i = 0; i < p->n_records; i++) {
        const Sluice__PutRecordsResultEntry *x = p->records[i];
        sl_enc_map(e, 2);
        if (x->error_code) {
            sl_enc_key(e, "ErrorCode");
            sl_enc_cstr(e, x->error_code);
            sl_enc_key(e, "ErrorMessage");
            sl_enc_cstr(e, x->error_message ? x->error_message : "");
        } else {
            sl_enc_key(e, "SequenceNumber");
            sl_enc_cstr(e, x->sequence_number);
            sl_enc_key(e, "ShardId");
            sl_enc_cstr(e, x->shard_id);
        }
        sl_enc_end(e);
    }
    sl_enc_end(e);
    sl_enc_key(e, "EncryptionType");
    sl_enc_cstr(e, "NONE");
    sl_enc_end(e);
}

static void enc_get_shard_iterator(struct sl_enc *e, const Sluice__Response *r)
{
    sl_enc_map(e, 1);
    sl_enc_key(e, "ShardIterator");
    sl_enc_cstr(e, r->get_shard_iterator->shard_iterator);
    sl_enc_end(e);
}

static void enc_get_records(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__GetRecordsResult *g = r->get_records;
    sl_enc_map(e, 2 + (g->next_shard_iterator != NULL));
    sl_enc_key(e, "Records");
    sl_enc_array(e, g->n_records);
    for (size_t i = 0; i < g->n_records; i++) {
        const Sluice__Record *x = g->records[i];
        sl_enc_map(e, 4);
        sl_enc_key(e, "SequenceNumber");
        sl_enc_cstr(e, x->sequence_number);
        sl_enc_key(e, "ApproximateArrivalTimestamp");
        sl_enc_time_ms(e, x->approximate_arrival_timestamp_ms);
        sl_enc_key(e, "Data");
        sl_enc_bytes(e, x->data.data, x->data.len);
        sl_enc_key(e, "PartitionKey");
        sl_enc_cstr(e, x->partition_key);
        sl_enc_end(e);
    }
    sl_enc_end(e);
    if (g->next_shard_iterator) {
        sl_enc_key(e, "NextShardIterator");
        sl_enc_cstr(e, g->next_shard_iterator);
    }
    sl_enc_key(e, "MillisBehindLatest");
    sl_enc_int(e, g->millis_behind_latest);
    sl_enc_end(e);
}

static void enc_tags(struct sl_enc *e, Sluice__Tag *const *tags, size_t n)
{
    sl_enc_key(e, "Tags");
    sl_enc_array(e, n);
    for (size_t i = 0; i < n; i++) {
        sl_enc_map(e, 2);
        sl_enc_key(e, "Key");
        sl_enc_cstr(e, tags[i]->key);
        sl_enc_key(e, "Value");
        sl_enc_cstr(e, tags[i]->value ? tags[i]->value : "");
        sl_enc_end(e);
    }
    sl_enc_end(e);
}

static void enc_list_tags(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__ListTagsForStreamResult *l = r->list_tags_for_stream;
    sl_enc_map(e, 2);
    enc_tags(e, l->tags, l->n_tags);
    sl_enc_key(e, "HasMoreTags");
    sl_enc_bool(e, l->has_more_tags);
    sl_enc_end(e);
}

static void enc_list_tags_for_resource(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__ListTagsForStreamResult *l = r->list_tags_for_stream;
    sl_enc_map(e, 1);
    enc_tags(e, l->tags, l->n_tags);
    sl_enc_end(e);
}

static void enc_update_warm_throughput(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__UpdateStreamWarmThroughputResult *w = r->update_stream_warm_throughput;
    sl_enc_map(e, 3);
    sl_enc_key(e, "StreamARN");
    sl_enc_cstr(e, w->stream_arn);
    sl_enc_key(e, "StreamName");
    sl_enc_cstr(e, w->stream_name);
    enc_warm(e, true, w->target_mibps, w->current_mibps);
    sl_enc_end(e);
}

static void enc_get_resource_policy(struct sl_enc *e, const Sluice__Response *r)
{
    sl_enc_map(e, 1);
    sl_enc_key(e, "Policy");
    sl_enc_cstr(e, r->get_resource_policy->policy);
    sl_enc_end(e);
}

static void enc_account_settings(struct sl_enc *e, const Sluice__Response *r)
{
    const Sluice__AccountSettingsResult *a =
        r->result_case == SLUICE__RESPONSE__RESULT_UPDATE_ACCOUNT_SETTINGS
            ? r->update_account_settings
            : r->describe_account_settings;
    unsigned status = (unsigned)a->minimum_throughput_billing_commitment;
    sl_enc_map(e, 1);
    sl_enc_key(e, "MinimumThroughputBillingCommitment");
    sl_enc_map(e, 1);
    sl_enc_key(e, "Status");
    sl_enc_cstr(e, status < 2 ? billing_statuses[status] : "DISABLED");
    sl_enc_end(e);
    sl_enc_end(e);
}

/* X(Kinesis name, oneof case, decode, encode) */
#define SL_KINESIS_OPS(X)                                                                          \
    X("CreateStream", CREATE_STREAM, dec_create_stream, NULL)                                      \
    X("DeleteStream", DELETE_STREAM, dec_delete_stream, NULL)                                      \
    X("ListStreams", LIST_STREAMS, dec_list_streams, enc_list_streams)                             \
    X("DescribeStream", DESCRIBE_STREAM, dec_describe_stream, enc_describe_stream)                 \
    X("DescribeStreamSummary", DESCRIBE_STREAM_SUMMARY, dec_describe_stream_summary,               \
      enc_describe_stream_summary)                                                                 \
    X("ListShards", LIST_SHARDS, dec_list_shards, enc_list_shards)                                 \
    X("IncreaseStreamRetentionPeriod", INCREASE_STREAM_RETENTION_PERIOD, dec_increase_retention,   \
      NULL)                                                                                        \
    X("DecreaseStreamRetentionPeriod", DECREASE_STREAM_RETENTION_PERIOD, dec_decrease_retention,   \
      NULL)                                                                                        \
    X("DescribeLimits", DESCRIBE_LIMITS, dec_describe_limits, enc_describe_limits)                 \
    X("PutRecord", PUT_RECORD, dec_put_record, enc_put_record)                                     \
    X("PutRecords", PUT_RECORDS, dec_put_records, enc_put_records)                                 \
    X("GetShardIterator", GET_SHARD_ITERATOR, dec_get_shard_iterator, enc_get_shard_iterator)      \
    X("GetRecords", GET_RECORDS, dec_get_records, enc_get_records)                                 \
    X("AddTagsToStream", ADD_TAGS_TO_STREAM, dec_add_tags, NULL)                                   \
    X("RemoveTagsFromStream", REMOVE_TAGS_FROM_STREAM, dec_remove_tags, NULL)                      \
    X("ListTagsForStream", LIST_TAGS_FOR_STREAM, dec_list_tags, enc_list_tags)                     \
    X("TagResource", ADD_TAGS_TO_STREAM, dec_tag_resource, NULL)                                   \
    X("UntagResource", REMOVE_TAGS_FROM_STREAM, dec_untag_resource, NULL)                          \
    X("ListTagsForResource", LIST_TAGS_FOR_STREAM, dec_list_tags_for_resource,                     \
      enc_list_tags_for_resource)                                                                  \
    X("UpdateMaxRecordSize", UPDATE_MAX_RECORD_SIZE, dec_update_max_record_size, NULL)             \
    X("UpdateStreamWarmThroughput", UPDATE_STREAM_WARM_THROUGHPUT, dec_update_warm_throughput,     \
      enc_update_warm_throughput)                                                                  \
    X("GetResourcePolicy", GET_RESOURCE_POLICY, dec_get_resource_policy, enc_get_resource_policy)  \
    X("PutResourcePolicy", PUT_RESOURCE_POLICY, dec_put_resource_policy, NULL)                     \
    X("DeleteResourcePolicy", DELETE_RESOURCE_POLICY, dec_delete_resource_policy, NULL)            \
    X("DescribeAccountSettings", DESCRIBE_ACCOUNT_SETTINGS, dec_describe_account_settings,         \
      enc_account_settings)                                                                        \
    X("UpdateAccountSettings", UPDATE_ACCOUNT_SETTINGS, dec_update_account_settings,               \
      enc_account_settings)

static const struct kop kops[] = {
#define SL_KOP_ROW(name, which, dec, enc) {name, SLUICE__REQUEST__OP_##which, dec, enc},
    SL_KINESIS_OPS(SL_KOP_ROW)
#undef SL_KOP_ROW
};

/* ---- answering ---- */

static void kreq_unref(struct kreq *k)
{
    if (atomic_fetch_sub(&k->refs, 1) == 1) {
        atomic_fetch_sub(&k->n->http_in_flight, 1);
        sl_doc_close(&k->doc);
        sl_free(k);
    }
}

static bool client_gone(void *to)
{
    return sl_http_client_gone(((struct kreq *)to)->http);
}

/* Copies `in` into `out` (`cap` >= 4) as valid UTF-8: bytes that do not form a character
 * become '?', and the text is cut at a character boundary. Messages may quote what a client
 * sent; JSON and CBOR text must be UTF-8. */
static const char *utf8_safe(const char *in, char *out, size_t cap)
{
    size_t o = 0, n = strlen(in);
    for (size_t i = 0; i < n;) {
        size_t len = sl_utf8_decode((const unsigned char *)in + i, n - i, NULL);
        size_t take = len ? len : 1;
        if (o + take >= cap) {
            break;
        }
        if (len) {
            memcpy(out + o, in + i, len);
        } else {
            out[o] = '?';
        }
        o += take;
        i += take;
    }
    out[o] = '\0';
    return out;
}

/* Answers with the headers every Kinesis answer has, and x-amzn-ErrorType when `error_type`
 * is given (clients read it before the body's __type). */
static void respond_typed(struct kreq *k, int status, const char *error_type, const void *body,
                          size_t len)
{
    const char *ct = k->enc == SL_ENC_CBOR ? CT_CBOR : CT_JSON;
    struct sl_http_header h[4] = {
        {"content-type", 12, ct, strlen(ct)},
        {"x-amzn-requestid", 16, k->request_id, strlen(k->request_id)},
        {"x-amz-id-2", 10, k->id2, strlen(k->id2)},
    };
    size_t n = 3;
    if (error_type) {
        h[n++] = (struct sl_http_header){"x-amzn-errortype", 16, error_type, strlen(error_type)};
    }
    sl_http_respond(k->http, status, h, n, body, len);
}

static void respond(struct kreq *k, int status, const void *body, size_t len)
{
    respond_typed(k, status, NULL, body, len);
}

/* An error answer: 400, or 500 for InternalFailure; {"__type": ..., "message": ...}. */
static void respond_error(struct kreq *k, const char *type, const char *message)
{
    char safe[2 * ERR_MAX];
    struct sl_enc e;
    sl_enc_init(&e, k->enc);
    sl_enc_map(&e, 2);
    sl_enc_key(&e, "__type");
    sl_enc_cstr(&e, type);
    sl_enc_key(&e, "message");
    sl_enc_cstr(&e, utf8_safe(message, safe, sizeof(safe)));
    sl_enc_end(&e);
    unsigned char *body = NULL;
    size_t len = 0;
    int status = strcmp(type, "InternalFailure") == 0      ? 500
                 : strcmp(type, "ServiceUnavailable") == 0 ? 503
                                                           : 400;
    if (sl_enc_finish(&e, &body, &len) != 0) {
        respond_typed(k, 500, "InternalFailure", NULL, 0);
    } else {
        respond_typed(k, status, type, body, len);
    }
    sl_free(body);
    sl_enc_close(&e);
}

static void answer_http(void *to, const Sluice__Response *resp)
{
    struct kreq *k = to;
    if (!resp) {
        kreq_unref(k); /* dropped: the HTTP server frees the connection's side */
        return;
    }
    if (resp->has_error && resp->error != SLUICE__ERROR_CODE__OK) {
        respond_error(k, sl_err_kinesis_type(-(int)resp->error),
                      resp->error_message ? resp->error_message : "");
    } else if (!k->op->encode) {
        respond(k, 200, NULL, 0);
    } else {
        struct sl_enc e;
        sl_enc_init(&e, k->enc);
        k->op->encode(&e, resp);
        unsigned char *body = NULL;
        size_t len = 0;
        if (sl_enc_finish(&e, &body, &len) != 0) {
            respond_error(k, "InternalFailure", "out of memory while encoding the response");
        } else {
            respond(k, 200, body, len);
        }
        sl_free(body);
        sl_enc_close(&e);
    }
    kreq_unref(k);
}

static void handler_done(void *arg)
{
    kreq_unref(arg);
}

/* ---- receiving (loop thread) ---- */

static const struct sl_http_header *header(const struct sl_http_request *r, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < r->n_headers; i++) {
        if (r->headers[i].name_len == len && strncasecmp(r->headers[i].name, name, len) == 0) {
            return &r->headers[i];
        }
    }
    return NULL;
}

static bool header_is(const struct sl_http_header *h, const char *value)
{
    size_t len = strlen(value);
    /* "application/x-amz-json-1.1; charset=utf-8" counts too */
    return h && h->value_len >= len && strncasecmp(h->value, value, len) == 0 &&
           (h->value_len == len || h->value[len] == ';' || h->value[len] == ' ');
}

/* Kinesis Data Streams' other operations (KINESIS.md §3), so that a client calling one hears
 * that sluice lacks it rather than that it does not exist. */
static const char *const kinesis_ops_not_served[] = {
    "DeregisterStreamConsumer",  "DescribeStreamConsumer",
    "DisableEnhancedMonitoring", "EnableEnhancedMonitoring",
    "ListStreamConsumers",       "MergeShards",
    "RegisterStreamConsumer",    "SplitShard",
    "StartStreamEncryption",     "StopStreamEncryption",
    "SubscribeToShard",          "UpdateShardCount",
    "UpdateStreamMode",
};

static bool is_kinesis_op(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(kinesis_ops_not_served) / sizeof(kinesis_ops_not_served[0]);
         i++) {
        if (strlen(kinesis_ops_not_served[i]) == len &&
            memcmp(kinesis_ops_not_served[i], name, len) == 0) {
            return true;
        }
    }
    return false;
}

/* Both ids of a request's answer, from one draw of randomness. */
static void new_request_ids(struct kreq *k)
{
    uint8_t b[16 + 24];
    if (sl_random_bytes(b, sizeof(b)) != 0) {
        memset(b, 0, sizeof(b));
    }
    sl_base64_encode(b + 16, 24, k->id2);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(k->request_id, sizeof(k->request_id),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

/* Checks the request's SigV4 signature; false when it answered with the refusal. */
static bool authenticated(struct kreq *k, const struct sl_http_request *r)
{
    static const char *const must_sign[] = {"x-amz-target", "content-type"};
    struct sl_sigv4_request sr = {
        .method = r->method,
        .method_len = r->method_len,
        .path = r->path,
        .path_len = r->path_len,
        .query = r->query,
        .query_len = r->query_len,
        .headers = r->headers,
        .n_headers = r->n_headers,
        .host = r->authority,
        .host_len = r->authority_len,
        .body = r->body,
        .body_len = r->body_len,
        .must_sign = must_sign,
        .n_must_sign = 2,
    };
    char msg[ERR_MAX];
    enum sl_sigv4_result res = sl_sigv4_verify(&sr, sl_sigv4_creds_lookup, k->n->creds,
                                               (int64_t)sl_wall_ms(), NULL, msg, sizeof(msg));
    if (res == SL_SIGV4_OK) {
        return true;
    }
    respond_error(k, sl_sigv4_error_type(res), msg);
    return false;
}

static void on_http(void *arg, struct sl_http_req *http, const struct sl_http_request *r)
{
    struct node *n = arg;
    struct kreq *k = sl_calloc(1, sizeof(*k));
    if (!k) {
        sl_http_respond(http, 500, NULL, 0, NULL, 0);
        return;
    }
    atomic_init(&k->refs, 1);
    k->n = n;
    k->http = http;
    unsigned in_flight = atomic_fetch_add(&n->http_in_flight, 1);
    sl_doc_init(&k->doc);
    new_request_ids(k);
    const struct sl_http_header *ct = header(r, "content-type");
    k->enc = header_is(ct, CT_CBOR) ? SL_ENC_CBOR : SL_ENC_JSON;
    if (in_flight >= IN_FLIGHT_MAX) {
        respond_error(k, "ServiceUnavailable",
                      "The node has too many Kinesis requests in progress; retry shortly.");
        kreq_unref(k);
        return;
    }
    if (r->n_headers > HEADERS_MAX) {
        char msg[ERR_MAX];
        snprintf(msg, sizeof(msg), "The request has %zu headers; at most %d are accepted.",
                 r->n_headers, HEADERS_MAX);
        respond_error(k, "SerializationException", msg);
        kreq_unref(k);
        return;
    }

    /* The envelope. Kinesis answers a POST it cannot route with 404 (wrong Content-Type) or
     * UnknownOperationException (wrong target). */
    if (r->method_len != 4 || memcmp(r->method, "POST", 4) != 0 ||
        !(header_is(ct, CT_JSON) || header_is(ct, CT_CBOR) || header_is(ct, "application/json"))) {
        respond(k, 404, NULL, 0);
        kreq_unref(k);
        return;
    }
    const struct sl_http_header *target = header(r, "x-amz-target");
    size_t plen = strlen(TARGET_PREFIX);
    if (target && target->value_len > plen && memcmp(target->value, TARGET_PREFIX, plen) == 0) {
        for (size_t i = 0; i < sizeof(kops) / sizeof(kops[0]); i++) {
            size_t nlen = strlen(kops[i].name);
            if (target->value_len - plen == nlen &&
                memcmp(target->value + plen, kops[i].name, nlen) == 0) {
                k->op = &kops[i];
            }
        }
    }
    if (!k->op) {
        char msg[ERR_MAX];
        size_t name_len = target && target->value_len > plen ? target->value_len - plen : 0;
        const char *name = name_len ? target->value + plen : "";
        if (!target) {
            snprintf(msg, sizeof(msg), "The request has no X-Amz-Target header.");
        } else if (name_len && is_kinesis_op(name, name_len)) {
            snprintf(msg, sizeof(msg),
                     "sluice does not serve the Kinesis operation %.*s yet (see "
                     "docs/guarantees.md).",
                     (int)name_len, name);
        } else {
            snprintf(msg, sizeof(msg), "X-Amz-Target '%.*s' names no Kinesis operation.",
                     (int)(target->value_len > 200 ? 200 : target->value_len), target->value);
        }
        respond_error(k, "UnknownOperationException", msg);
        kreq_unref(k);
        return;
    }

    /* The signature, when the node has credentials. */
    if (n->creds && !authenticated(k, r)) {
        kreq_unref(k);
        return;
    }

    /* The body. */
    const struct sl_doc_value *root = NULL;
    int rc;
    if (r->body_len == 0) {
        snprintf(k->err, sizeof(k->err), "The request has no body.");
        rc = SL_ESERIAL;
    } else if (k->enc == SL_ENC_CBOR) {
        rc = sl_cbor_decode(&k->doc, r->body, r->body_len, NULL, &root, k->err, sizeof(k->err));
    } else {
        rc = sl_json_decode(&k->doc, r->body, r->body_len, NULL, &root, k->err, sizeof(k->err));
    }
    if (rc == 0 && root->type != SL_DOC_MAP) {
        snprintf(k->err, sizeof(k->err), "The request body must be an object.");
        rc = SL_ESERIAL;
    }
    k->rq = (Sluice__Request)SLUICE__REQUEST__INIT;
    if (rc == 0) {
        k->rq.op_case = k->op->op_case;
        rc = k->op->decode(k, root, &k->rq);
    }
    if (rc != 0) {
        respond_error(k, rc == SL_ENOMEM ? "InternalFailure" : sl_err_kinesis_type(rc),
                      rc == SL_ENOMEM ? "out of memory" : k->err);
        kreq_unref(k);
        return;
    }
    atomic_fetch_add(&k->refs, 1); /* the answer's (note 2) */
    sl_ops_submit(n, &k->rq, (struct sl_answer_to){answer_http, client_gone, k}, handler_done, k);
}

int sl_kinesis_start(struct node *n, char *err, size_t err_len)
{
    if (n->cfg.credentials_file[0]) {
        int rc = sl_sigv4_creds_load(n->cfg.credentials_file, &n->creds, err, err_len);
        if (rc != 0) {
            return rc;
        }
    }
    struct sl_http_options o = {
        .listen = n->cfg.http_listen,
        .body_bytes_max = BODY_BYTES_MAX,
        .idle_timeout_ms = IDLE_TIMEOUT_MS,
        .handler = on_http,
        .arg = n,
    };
    int rc = sl_http_server_start(&n->http, &o, err, err_len);
    if (rc != 0) {
        sl_sigv4_creds_free(n->creds);
        n->creds = NULL;
    }
    return rc;
}

void sl_kinesis_stop(struct node *n)
{
    sl_http_server_stop(n->http);
    n->http = NULL;
    sl_sigv4_creds_free(n->creds);
    n->creds = NULL;
}
