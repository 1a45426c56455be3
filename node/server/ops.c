/* ops.c — the operation table and one handler per operation of proto/sluice.proto.
 *
 * A handler validates its request (shape errors first, as one ValidationException naming every
 * bad field, then semantic errors), takes n->mu to read the controller's table and to propose,
 * and answers either at once or, for writes, when the entry it proposed is applied (from the
 * writer thread). Reads of records go to RocksDB without the lock.
 */
#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"
#include "core/shard/batch.h"
#include "core/shard/hashkey.h"
#include "core/shard/seqno.h"
#include "core/shard/validate.h"
#include "io/clock.h"
#include "server/iterator.h"
#include "server/node.h"
#include "io/workq.h"

#include "sluice.pb-c.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The protobuf ErrorCode values are the negated SL_ codes (errors.h). */
_Static_assert(SLUICE__ERROR_CODE__RESOURCE_NOT_FOUND == -SL_ENOTFOUND, "error codes");
_Static_assert(SLUICE__ERROR_CODE__UNKNOWN_OPERATION == -SL_EUNKNOWNOP, "error codes");
_Static_assert(SLUICE__ERROR_CODE__VALIDATION == -SL_EVALIDATION, "error codes");
_Static_assert(SLUICE__ERROR_CODE__SERIALIZATION == -SL_ESERIAL, "error codes");
_Static_assert((int)SLUICE__STREAM_STATUS__UPDATING == (int)SL_STREAM_UPDATING, "stream status");
_Static_assert((int)SLUICE__STREAM_MODE__ON_DEMAND == (int)SL_STREAM_ON_DEMAND, "stream mode");

#define MSG_MAX               1024
#define ARN_MAX               768
#define ON_DEMAND_STREAMS_MAX 50
#define ON_DEMAND_SHARDS      4

struct call {
    struct node *n;
    struct sl_answer_to to;
    uint64_t request_id;
};

/* ---- answering ------------------------------------------------------------------------------ */

static void send_response(const struct call *c, Sluice__Response *resp)
{
    resp->has_request_id = true;
    resp->request_id = c->request_id;
    c->to.send(c->to.to, resp);
}

/* The NNG front end's answers: the packed envelope. */
static void answer_nng(void *to, const Sluice__Response *resp)
{
    struct sl_net_req *req = to;
    if (!resp) {
        return; /* dropped: sl_net_server_stop frees the context */
    }
    size_t len = sluice__response__get_packed_size(resp);
    uint8_t stack[4096];
    uint8_t *buf = len <= sizeof(stack) ? stack : malloc(len);
    if (!buf) {
        /* No memory for the answer: say so in a short one. */
        Sluice__Response small = SLUICE__RESPONSE__INIT;
        small.has_request_id = true;
        small.request_id = resp->request_id;
        small.has_error = true;
        small.error = SLUICE__ERROR_CODE__INTERNAL_FAILURE;
        small.error_message = "out of memory while encoding the response";
        len = sluice__response__pack(&small, stack);
        sl_net_reply(req, stack, len);
        return;
    }
    sluice__response__pack(resp, buf);
    sl_net_reply(req, buf, len);
    if (buf != stack) {
        free(buf);
    }
}

static void reply_error_msg(const struct call *c, int err, const char *msg)
{
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.has_error = true;
    resp.error = (Sluice__ErrorCode)(-err);
    resp.error_message = (char *)msg;
    send_response(c, &resp);
}

__attribute__((format(printf, 3, 4))) static void reply_error(const struct call *c, int err,
                                                              const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_error_msg(c, err, msg);
}

static void reply_empty(const struct call *c)
{
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    Sluice__Empty empty = SLUICE__EMPTY__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_EMPTY;
    resp.empty = &empty;
    send_response(c, &resp);
}

/* Answers a ValidationException when `v` collected any shape error; true if it did. */
static bool reply_verr(const struct call *c, const struct sl_verr *v)
{
    char msg[SL_VERR_MSG_MAX];
    int rv = sl_verr_finish(v, msg, sizeof(msg));
    if (rv != 0) {
        reply_error_msg(c, rv, msg);
        return true;
    }
    return false;
}

static void require(struct sl_verr *v, const char *field, const void *p)
{
    if (!p) {
        sl_verr_add(v, field, NULL, 0, "Member must not be null");
    }
}

/* The required StreamName member. */
static void check_stream_name(struct sl_verr *v, const char *name)
{
    require(v, "streamName", name);
    if (name) {
        sl_check_stream_name(v, "streamName", name, strlen(name));
    }
}

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* ---- streams ------------------------------------------------------------------------------ */

static void reply_not_found(const struct call *c, const char *name)
{
    reply_error(c, SL_ENOTFOUND, "Stream %s under account %s not found.", name, c->n->cfg.account);
}

/* The stream named `name` in any state, or NULL after answering ResourceNotFoundException.
 * Under mu. */
static struct sl_stream *find_stream(const struct call *c, const char *name)
{
    struct sl_stream *s = sl_control_find(&c->n->control, name, strlen(name));
    if (!s) {
        reply_not_found(c, name);
    }
    return s;
}

/* The stream named `name` for a data call (ACTIVE or UPDATING), or NULL after answering
 * ResourceNotFoundException. Under mu. */
static struct sl_stream *data_stream(const struct call *c, const char *name)
{
    struct sl_stream *s = sl_control_find(&c->n->control, name, strlen(name));
    if (!s || s->status == SL_STREAM_CREATING || s->status == SL_STREAM_DELETING) {
        reply_not_found(c, name);
        return NULL;
    }
    return s;
}

static void stream_arn(const struct node *n, const struct sl_stream *s, char *out, size_t len)
{
    snprintf(out, len, "arn:aws:kinesis:%s:%s:stream/%s", n->cfg.region, n->cfg.account, s->name);
}

static void reply_tags_limit(const struct call *c, const char *name)
{
    reply_error(c, SL_EINVAL,
                "Failed to add tags to stream %s under account %s because a given stream cannot "
                "have more than %d tags associated with it.",
                name, c->n->cfg.account, SL_TAGS_MAX);
}

/* Controller proposals answer when applied: with `ok` (under mu, the stream found again by
 * name), or an empty answer when it is NULL. */
struct control_call {
    struct call c;
    struct sl_control_cmd cmd; /* its tags are not kept: they pointed into the request */
    void (*ok)(const struct call *c, const struct sl_stream *s);
};

static void on_control_applied(struct node *n, void *arg, int err, int result, uint64_t index)
{
    struct control_call *cc = arg;
    const struct call *c = &cc->c;
    const struct sl_control_cmd *cmd = &cc->cmd;
    if (n->stopping) {
        c->to.send(c->to.to, NULL); /* not answered: the server is going away */
    } else if (err != 0) {
        reply_error(c, SL_ENOTLEADER, "the request was interrupted (%s); retry it",
                    sl_strerror(err));
    } else if (result == SL_EINUSE) {
        reply_error(c, result, "Stream %s under account %s already exists.", cmd->name,
                    n->cfg.account);
    } else if (result == SL_ELIMIT && cmd->op == SL_CONTROL_ADD_TAGS) {
        reply_tags_limit(c, cmd->name);
    } else if (result == SL_ELIMIT) {
        reply_error(c, result,
                    "This request would exceed the shard limit for the account %s in %s. "
                    "Current limit of shards is %u. Number of additional shards that would "
                    "have resulted from this request: %u.",
                    n->cfg.account, n->cfg.region, cmd->shard_limit, cmd->shard_count);
    } else if (result == SL_ENOTFOUND) {
        reply_not_found(c, cmd->name);
    } else if (result == SL_EINVAL && cmd->op >= SL_CONTROL_SET_RETENTION) {
        /* a settings change that met a stream DELETING by then */
        reply_error(c, SL_EINUSE, "Stream %s under account %s is being deleted.", cmd->name,
                    n->cfg.account);
    } else if (result != 0) {
        reply_error(c, SL_EINUSE, "Stream %s under account %s cannot change now: %s.", cmd->name,
                    n->cfg.account, sl_strerror(result));
    } else if (cc->ok) {
        cc->ok(c, sl_control_find(&n->control, cmd->name, cmd->name_len));
    } else {
        reply_empty(c);
    }
    sl_free(cc);
}

/* Proposes `cmd` and answers when it is applied, with `ok` (may be NULL: an empty answer).
 * Under mu. */
static void propose_control_then(const struct call *c, const struct sl_control_cmd *cmd,
                                 void (*ok)(const struct call *c, const struct sl_stream *s))
{
    struct control_call *cc = sl_malloc(sizeof(*cc));
    if (!cc) {
        reply_error(c, SL_ENOMEM, "out of memory");
        return;
    }
    cc->c = *c;
    cc->cmd = *cmd;
    cc->cmd.n_tags = 0;
    cc->ok = ok;
    int rv =
        c->n->stopping ? SL_ENOTLEADER : sl_node_propose_control(c->n, cmd, on_control_applied, cc);
    if (rv != 0) {
        sl_free(cc);
        reply_error(c, rv == SL_ENOTLEADER ? SL_ENOTLEADER : SL_EBUSY,
                    "the controller cannot take the change now (%s); retry", sl_strerror(rv));
    }
}

static void propose_control(const struct call *c, const struct sl_control_cmd *cmd)
{
    propose_control_then(c, cmd, NULL);
}

/* The stream a change that needs ACTIVE applies to, or NULL after answering. Under mu. */
static struct sl_stream *active_stream(const struct call *c, const char *name)
{
    struct sl_stream *s = find_stream(c, name);
    if (s && s->status != SL_STREAM_ACTIVE) {
        reply_error(c, SL_EINUSE, "Stream %s under account %s not ACTIVE, instead in state %s.",
                    s->name, c->n->cfg.account,
                    sluice__stream_status__descriptor.values[s->status].name);
        return NULL;
    }
    return s;
}

/* ---- tags ------------------------------------------------------------------------------------ */

/* A list member's length: min..max entries ("Member must have length ..."), the value shown as
 * "N <what>". */
static void check_count(struct sl_verr *v, const char *field, size_t n, size_t min, size_t max,
                        const char *what)
{
    if (n < min || n > max) {
        char count[32], constraint[64];
        int len = snprintf(count, sizeof(count), "%zu %s", n, what);
        snprintf(constraint, sizeof(constraint), "Member must have length %s %zu",
                 n < min ? "greater than or equal to" : "less than or equal to",
                 n < min ? min : max);
        sl_verr_add(v, field, count, (size_t)len, constraint);
    }
}

/* The Tags member of CreateStream or AddTagsToStream (1..200 entries, as Kinesis' TagMap):
 * shape errors go to `v` ("tags.N.member.key" and ".value", as Kinesis names list members); the
 * rest is left to check_tags. */
static void shape_tags(struct sl_verr *v, Sluice__Tag *const *tags, size_t n)
{
    check_count(v, "tags", n, 1, SL_TAGS_PER_CALL_MAX, "tags");
    char field[64];
    for (size_t i = 0; i < n && i < SL_TAGS_PER_CALL_MAX; i++) {
        snprintf(field, sizeof(field), "tags.%zu.member.key", i + 1);
        require(v, field, tags[i]->key);
        if (tags[i]->key) {
            sl_check_tag_key(v, field, tags[i]->key, strlen(tags[i]->key));
        }
        if (tags[i]->value) {
            snprintf(field, sizeof(field), "tags.%zu.member.value", i + 1);
            sl_check_tag_value(v, field, tags[i]->value, strlen(tags[i]->value));
        }
    }
}

/* What Kinesis refuses in tags that pass the shape checks: characters outside the allowed set,
 * keys with the reserved "aws:" prefix. Fills cmd's tags (pointing into the request) and
 * returns true; false after answering InvalidArgumentException. */
static bool check_tags(const struct call *c, const char *stream, Sluice__Tag *const *tags, size_t n,
                       struct sl_control_cmd *cmd)
{
    for (size_t i = 0; i < n; i++) {
        const char *key = tags[i]->key, *value = tags[i]->value ? tags[i]->value : "";
        size_t key_len = strlen(key), value_len = strlen(value);
        if (sl_tag_key_reserved(key, key_len)) {
            reply_error(c, SL_EINVAL,
                        "Failed to add tags to stream %s under account %s because the tag key "
                        "'%s' starts with aws:, a prefix reserved for AWS.",
                        stream, c->n->cfg.account, key);
            return false;
        }
        if (!sl_tag_text_allowed(key, key_len) || !sl_tag_text_allowed(value, value_len)) {
            reply_error(c, SL_EINVAL,
                        "Failed to add tags to stream %s under account %s because some tags "
                        "contained illegal characters. The allowed characters are Unicode "
                        "letters, digits, spaces, '_', '.', ':', '/', '=', '+', '-', '@'.",
                        stream, c->n->cfg.account);
            return false;
        }
        cmd->tags[i] = (struct sl_tag){key, value, (uint16_t)key_len, (uint16_t)value_len};
    }
    cmd->n_tags = (uint32_t)n;
    return true;
}

/* The stream a settings change applies to: any state but DELETING. NULL after answering.
 * Under mu. */
static struct sl_stream *changeable_stream(const struct call *c, const char *name)
{
    struct sl_stream *s = find_stream(c, name);
    if (s && s->status == SL_STREAM_DELETING) {
        reply_error(c, SL_EINUSE, "Stream %s under account %s is being deleted.", s->name,
                    c->n->cfg.account);
        return NULL;
    }
    return s;
}

static void op_add_tags(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__AddTagsToStreamRequest *r = rq->add_tags_to_stream;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    shape_tags(&v, r->tags, r->n_tags);
    if (reply_verr(c, &v)) {
        return;
    }
    struct sl_control_cmd cmd = {.op = SL_CONTROL_ADD_TAGS};
    if (!check_tags(c, r->stream_name, r->tags, r->n_tags, &cmd)) {
        return;
    }
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = changeable_stream(c, r->stream_name);
    if (s && sl_stream_tags_after_add(s, cmd.tags, cmd.n_tags) > SL_TAGS_MAX) {
        reply_tags_limit(c, s->name);
    } else if (s) {
        sl_control_cmd_target(&cmd, s);
        propose_control(c, &cmd);
    }
    pthread_mutex_unlock(&n->mu);
}

static void op_remove_tags(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__RemoveTagsFromStreamRequest *r = rq->remove_tags_from_stream;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    check_count(&v, "tagKeys", r->n_tag_keys, 1, SL_TAG_KEYS_PER_CALL_MAX, "keys");
    for (size_t i = 0; i < r->n_tag_keys && i < SL_TAG_KEYS_PER_CALL_MAX; i++) {
        char field[48];
        snprintf(field, sizeof(field), "tagKeys.%zu.member", i + 1);
        sl_check_tag_key(&v, field, r->tag_keys[i], strlen(r->tag_keys[i]));
    }
    if (reply_verr(c, &v)) {
        return;
    }
    struct sl_control_cmd cmd = {.op = SL_CONTROL_REMOVE_TAGS, .n_tags = (uint32_t)r->n_tag_keys};
    for (size_t i = 0; i < r->n_tag_keys; i++) {
        cmd.tags[i] = (struct sl_tag){r->tag_keys[i], "", (uint16_t)strlen(r->tag_keys[i]), 0};
    }
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = changeable_stream(c, r->stream_name);
    if (s) {
        sl_control_cmd_target(&cmd, s);
        propose_control(c, &cmd);
    }
    pthread_mutex_unlock(&n->mu);
}

static void op_list_tags(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__ListTagsForStreamRequest *r = rq->list_tags_for_stream;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (r->exclusive_start_tag_key) {
        sl_check_tag_key(&v, "exclusiveStartTagKey", r->exclusive_start_tag_key,
                         strlen(r->exclusive_start_tag_key));
    }
    if (r->has_limit) {
        sl_check_u64_range(&v, "limit", r->limit, 1, SL_LIST_TAGS_LIMIT_MAX);
    }
    if (reply_verr(c, &v)) {
        return;
    }
    uint32_t limit = r->has_limit ? r->limit : SL_LIST_TAGS_LIMIT_MAX;
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = find_stream(c, r->stream_name);
    if (!s) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    const char *after = r->exclusive_start_tag_key;
    uint32_t from = after ? sl_stream_tags_after(s, after, strlen(after)) : 0;
    uint32_t count = s->n_tags - from < limit ? s->n_tags - from : limit;
    Sluice__Tag tags[SL_TAGS_MAX];
    Sluice__Tag *ptrs[SL_TAGS_MAX];
    for (uint32_t i = 0; i < count; i++) {
        tags[i] = (Sluice__Tag)SLUICE__TAG__INIT;
        tags[i].key = (char *)s->tags[from + i].key;
        tags[i].value = (char *)s->tags[from + i].value;
        ptrs[i] = &tags[i];
    }
    Sluice__ListTagsForStreamResult res = SLUICE__LIST_TAGS_FOR_STREAM_RESULT__INIT;
    res.n_tags = count;
    res.tags = ptrs;
    res.has_has_more_tags = true;
    res.has_more_tags = from + count < s->n_tags;
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_LIST_TAGS_FOR_STREAM;
    resp.list_tags_for_stream = &res;
    send_response(c, &resp);
    pthread_mutex_unlock(&n->mu);
}

/* ---- settings sluice answers without acting on them -------------------------------------------
 *
 * Kinesis has a few knobs sluice has no machinery behind yet. Each is answered with what holds
 * (records of up to 1 MiB, no resource policy, no billing commitment), and a request to turn
 * one on is refused with a message that says why, so nothing looks set that is not. */

#define RECORD_KIB (SL_RECORD_BYTES_MAX / 1024)

/* MaxRecordSizeInKiB, past its shape check: the one value sluice takes. False after answering. */
static bool max_record_supported(const struct call *c, bool has, uint32_t kib)
{
    if (has && kib != RECORD_KIB) {
        reply_error(c, SL_EINVAL,
                    "sluice takes records of up to %d KiB; MaxRecordSizeInKiB %u is not "
                    "supported.",
                    RECORD_KIB, kib);
        return false;
    }
    return true;
}

static void op_update_max_record_size(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__UpdateMaxRecordSizeRequest *r = rq->update_max_record_size;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (!r->has_max_record_size_kib) {
        require(&v, "maxRecordSizeInKiB", NULL);
    } else {
        sl_check_u64_range(&v, "maxRecordSizeInKiB", r->max_record_size_kib, 1024, 10240);
    }
    if (reply_verr(c, &v) || !max_record_supported(c, true, r->max_record_size_kib)) {
        return;
    }
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    if (changeable_stream(c, r->stream_name)) {
        reply_empty(c); /* it is 1024 KiB already */
    }
    pthread_mutex_unlock(&n->mu);
}

/* Warm throughput: what the open shards of an ON_DEMAND stream take now, 1 MiB/s each. */
static uint32_t warm_current_mibps(const struct sl_stream *s)
{
    return s->n_shards;
}

static void reply_warm(const struct call *c, const struct sl_stream *s)
{
    SL_ASSERT(s != NULL); /* answered under mu right after the command applied */
    char arn[ARN_MAX];
    stream_arn(c->n, s, arn, sizeof(arn));
    Sluice__UpdateStreamWarmThroughputResult res =
        SLUICE__UPDATE_STREAM_WARM_THROUGHPUT_RESULT__INIT;
    res.stream_name = (char *)s->name;
    res.stream_arn = arn;
    res.has_target_mibps = res.has_current_mibps = true;
    res.target_mibps = s->warm_mibps;
    res.current_mibps = warm_current_mibps(s);
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_UPDATE_STREAM_WARM_THROUGHPUT;
    resp.update_stream_warm_throughput = &res;
    send_response(c, &resp);
}

/* A warm-throughput target for stream mode `on_demand`: false after answering. */
static bool check_warm(const struct call *c, const char *name, bool on_demand, uint32_t mibps)
{
    if (!on_demand) {
        reply_error(c, SL_EINVAL,
                    "Warm throughput applies to ON_DEMAND streams; stream %s under account %s is "
                    "PROVISIONED.",
                    name, c->n->cfg.account);
        return false;
    }
    if (mibps > c->n->cfg.shard_limit) {
        reply_error(c, SL_ELIMIT,
                    "WarmThroughputMiBps %u would need more shards (1 MiB/s each) than the "
                    "account's shard limit of %llu allows.",
                    mibps, (unsigned long long)c->n->cfg.shard_limit);
        return false;
    }
    return true;
}

static void op_update_warm_throughput(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__UpdateStreamWarmThroughputRequest *r = rq->update_stream_warm_throughput;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (!r->has_warm_throughput_mibps) {
        require(&v, "warmThroughputMiBps", NULL);
    }
    if (reply_verr(c, &v)) {
        return;
    }
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = active_stream(c, r->stream_name);
    if (s && check_warm(c, s->name, s->mode == SL_STREAM_ON_DEMAND, r->warm_throughput_mibps)) {
        struct sl_control_cmd cmd = {.op = SL_CONTROL_SET_WARM_THROUGHPUT,
                                     .warm_mibps = r->warm_throughput_mibps};
        sl_control_cmd_target(&cmd, s);
        propose_control_then(c, &cmd, reply_warm);
    }
    pthread_mutex_unlock(&n->mu);
}

/* Resource policies: sluice enforces none; who may call what is set by the credentials file. */
static const struct sl_stream *policy_stream(const struct call *c,
                                             const Sluice__ResourcePolicyRequest *r)
{
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (reply_verr(c, &v)) {
        return NULL;
    }
    return find_stream(c, r->stream_name);
}

static void op_get_resource_policy(const struct call *c, const Sluice__Request *rq)
{
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    if (policy_stream(c, rq->get_resource_policy)) {
        Sluice__ResourcePolicyResult res = SLUICE__RESOURCE_POLICY_RESULT__INIT;
        res.policy = "{}";
        Sluice__Response resp = SLUICE__RESPONSE__INIT;
        resp.result_case = SLUICE__RESPONSE__RESULT_GET_RESOURCE_POLICY;
        resp.get_resource_policy = &res;
        send_response(c, &resp);
    }
    pthread_mutex_unlock(&n->mu);
}

static void op_put_resource_policy(const struct call *c, const Sluice__Request *rq)
{
    struct node *n = c->n;
    const Sluice__ResourcePolicyRequest *r = rq->put_resource_policy;
    if (!r->policy) {
        struct sl_verr v;
        sl_verr_init(&v);
        require(&v, "policy", NULL);
        reply_verr(c, &v);
        return;
    }
    pthread_mutex_lock(&n->mu);
    if (policy_stream(c, r)) {
        reply_error(c, SL_EINVAL,
                    "sluice does not enforce resource policies: who may call what is set by the "
                    "node's credentials file. The policy was not stored, so that nothing looks "
                    "protected by it.");
    }
    pthread_mutex_unlock(&n->mu);
}

static void op_delete_resource_policy(const struct call *c, const Sluice__Request *rq)
{
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    if (policy_stream(c, rq->delete_resource_policy)) {
        reply_empty(c); /* there is none */
    }
    pthread_mutex_unlock(&n->mu);
}

/* Account settings: sluice bills nothing, so there is no minimum throughput commitment. */
static void reply_account_settings(const struct call *c, bool update)
{
    Sluice__AccountSettingsResult res = SLUICE__ACCOUNT_SETTINGS_RESULT__INIT;
    res.has_minimum_throughput_billing_commitment = true;
    res.minimum_throughput_billing_commitment = SLUICE__BILLING_COMMITMENT_STATUS__DISABLED;
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    if (update) {
        resp.result_case = SLUICE__RESPONSE__RESULT_UPDATE_ACCOUNT_SETTINGS;
        resp.update_account_settings = &res;
    } else {
        resp.result_case = SLUICE__RESPONSE__RESULT_DESCRIBE_ACCOUNT_SETTINGS;
        resp.describe_account_settings = &res;
    }
    send_response(c, &resp);
}

static void op_describe_account_settings(const struct call *c, const Sluice__Request *rq)
{
    (void)rq;
    reply_account_settings(c, false);
}

static void op_update_account_settings(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__UpdateAccountSettingsRequest *r = rq->update_account_settings;
    if (!r->has_minimum_throughput_billing_commitment) {
        struct sl_verr v;
        sl_verr_init(&v);
        require(&v, "minimumThroughputBillingCommitment", NULL);
        reply_verr(c, &v);
    } else if (r->minimum_throughput_billing_commitment !=
               SLUICE__BILLING_COMMITMENT_STATUS__DISABLED) {
        reply_error(c, SL_EINVAL,
                    "sluice bills nothing: a minimum throughput billing commitment cannot be "
                    "enabled.");
    } else {
        reply_account_settings(c, true);
    }
}

static void op_create_stream(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__CreateStreamRequest *r = rq->create_stream;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (r->has_shard_count) {
        sl_check_u64_range(&v, "shardCount", r->shard_count, 1, SL_SHARD_COUNT_MAX);
    }
    if (r->has_stream_mode && r->stream_mode != SLUICE__STREAM_MODE__PROVISIONED &&
        r->stream_mode != SLUICE__STREAM_MODE__ON_DEMAND) {
        char mode[16];
        int len = snprintf(mode, sizeof(mode), "%d", (int)r->stream_mode);
        sl_verr_add(&v, "streamModeDetails.streamMode", mode, (size_t)len,
                    "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]");
    }
    if (r->n_tags > 0) { /* Kinesis refuses an empty Tags map too; protobuf cannot send one */
        shape_tags(&v, r->tags, r->n_tags);
    }
    if (r->has_max_record_size_kib) {
        sl_check_u64_range(&v, "maxRecordSizeInKiB", r->max_record_size_kib, 1024, 10240);
    }
    if (reply_verr(c, &v)) {
        return;
    }
    bool on_demand = r->has_stream_mode && r->stream_mode == SLUICE__STREAM_MODE__ON_DEMAND;
    if (on_demand && r->has_shard_count) {
        reply_error(c, SL_EVALIDATION, "ShardCount is not expected when StreamMode=ON_DEMAND");
        return;
    }
    struct sl_control_cmd cmd = {.op = SL_CONTROL_CREATE_STREAM};
    if (!max_record_supported(c, r->has_max_record_size_kib, r->max_record_size_kib) ||
        (r->has_warm_throughput_mibps &&
         !check_warm(c, r->stream_name, on_demand, r->warm_throughput_mibps)) ||
        !check_tags(c, r->stream_name, r->tags, r->n_tags, &cmd)) {
        return;
    }
    cmd.warm_mibps = r->has_warm_throughput_mibps ? r->warm_throughput_mibps : 0;
    cmd.name_len = (uint32_t)strlen(r->stream_name);
    memcpy(cmd.name, r->stream_name, cmd.name_len + 1);
    cmd.created_ms = sl_wall_ms();
    cmd.mode = on_demand ? SL_STREAM_ON_DEMAND : SL_STREAM_PROVISIONED;
    cmd.retention_hours = SL_RETENTION_HOURS_DEFAULT;
    cmd.shard_count = r->has_shard_count ? r->shard_count : ON_DEMAND_SHARDS;
    cmd.shard_limit = (uint32_t)c->n->cfg.shard_limit;

    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = sl_control_find(&n->control, cmd.name, cmd.name_len);
    if (s) {
        reply_error(c, SL_EINUSE, "Stream %s under account %s already exists.", cmd.name,
                    n->cfg.account);
    } else if (on_demand && sl_control_on_demand_streams(&n->control) >= ON_DEMAND_STREAMS_MAX) {
        reply_error(c, SL_ELIMIT,
                    "This request would exceed the limit of %d ON_DEMAND streams for the "
                    "account %s.",
                    ON_DEMAND_STREAMS_MAX, n->cfg.account);
    } else if (sl_control_open_shards(&n->control) + cmd.shard_count > cmd.shard_limit) {
        reply_error(c, SL_ELIMIT,
                    "This request would exceed the shard limit for the account %s in %s. "
                    "Current limit of shards is %u, open shards: %llu, requested: %u.",
                    n->cfg.account, n->cfg.region, cmd.shard_limit,
                    (unsigned long long)sl_control_open_shards(&n->control), cmd.shard_count);
    } else {
        propose_control(c, &cmd);
    }
    pthread_mutex_unlock(&n->mu);
}

static void op_delete_stream(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__DeleteStreamRequest *r = rq->delete_stream;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (reply_verr(c, &v)) {
        return;
    }
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = find_stream(c, r->stream_name);
    if (s && s->status == SL_STREAM_DELETING) {
        reply_empty(c); /* already on its way out */
    } else if (s) {
        struct sl_control_cmd cmd = {.op = SL_CONTROL_SET_STATUS, .status = SL_STREAM_DELETING};
        sl_control_cmd_target(&cmd, s);
        propose_control(c, &cmd);
    }
    pthread_mutex_unlock(&n->mu);
}

static void op_retention(const struct call *c, const Sluice__RetentionRequest *r, bool increase)
{
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (!r->has_retention_period_hours) {
        require(&v, "retentionPeriodHours", NULL);
    } else {
        sl_check_u64_range(&v, "retentionPeriodHours", r->retention_period_hours, 1, 1000000);
    }
    if (reply_verr(c, &v)) {
        return;
    }
    char msg[MSG_MAX];
    int rv = sl_check_retention_hours(r->retention_period_hours, msg, sizeof(msg));
    if (rv != 0) {
        reply_error_msg(c, rv, msg);
        return;
    }
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = active_stream(c, r->stream_name);
    uint32_t hours = r->retention_period_hours;
    if (!s) {
        /* answered */
    } else if (increase && hours < s->retention_hours) {
        reply_error(c, SL_EINVAL,
                    "Requested retention period (%u hours) for stream %s can not be shorter than "
                    "existing retention period (%u hours). Use DecreaseRetentionPeriod API.",
                    hours, s->name, s->retention_hours);
    } else if (!increase && hours > s->retention_hours) {
        reply_error(c, SL_EINVAL,
                    "Requested retention period (%u hours) for stream %s can not be longer than "
                    "existing retention period (%u hours). Use IncreaseRetentionPeriod API.",
                    hours, s->name, s->retention_hours);
    } else {
        struct sl_control_cmd cmd = {.op = SL_CONTROL_SET_RETENTION, .retention_hours = hours};
        sl_control_cmd_target(&cmd, s);
        propose_control(c, &cmd);
    }
    pthread_mutex_unlock(&n->mu);
}

static void op_increase_retention(const struct call *c, const Sluice__Request *rq)
{
    op_retention(c, rq->increase_stream_retention_period, true);
}

static void op_decrease_retention(const struct call *c, const Sluice__Request *rq)
{
    op_retention(c, rq->decrease_stream_retention_period, false);
}

static void op_list_streams(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__ListStreamsRequest *r = rq->list_streams;
    struct sl_verr v;
    sl_verr_init(&v);
    if (r->has_limit) {
        sl_check_u64_range(&v, "limit", r->limit, 1, SL_LIST_STREAMS_LIMIT_MAX);
    }
    if (r->exclusive_start_stream_name) {
        sl_check_stream_name(&v, "exclusiveStartStreamName", r->exclusive_start_stream_name,
                             strlen(r->exclusive_start_stream_name));
    }
    if (reply_verr(c, &v)) {
        return;
    }
    /* NextToken is the last name returned (no state to expire). */
    const char *after = r->next_token ? r->next_token : r->exclusive_start_stream_name;
    uint32_t limit = r->has_limit ? r->limit : SL_LIST_STREAMS_LIMIT_MAX;
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    size_t from = after ? sl_control_after(&n->control, after, strlen(after)) : 0;
    size_t count = n->control.n_streams - from;
    if (count > limit) {
        count = limit;
    }
    Sluice__ListStreamsResult res = SLUICE__LIST_STREAMS_RESULT__INIT;
    char **names = sl_calloc(count + 1, sizeof(*names));
    Sluice__StreamSummary *sums = sl_calloc(count + 1, sizeof(*sums));
    Sluice__StreamSummary **sump = sl_calloc(count + 1, sizeof(*sump));
    char(*arns)[ARN_MAX] = sl_calloc(count + 1, sizeof(*arns));
    if (!names || !sums || !sump || !arns) {
        reply_error(c, SL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        const struct sl_stream *s = n->control.streams[from + i];
        names[i] = (char *)s->name;
        Sluice__StreamSummary init = SLUICE__STREAM_SUMMARY__INIT;
        sums[i] = init;
        sums[i].stream_name = (char *)s->name;
        stream_arn(n, s, arns[i], sizeof(arns[i]));
        sums[i].stream_arn = arns[i];
        sums[i].has_stream_status = sums[i].has_stream_mode = true;
        sums[i].stream_status = (Sluice__StreamStatus)s->status;
        sums[i].stream_mode = (Sluice__StreamMode)s->mode;
        sums[i].has_stream_creation_timestamp_ms = true;
        sums[i].stream_creation_timestamp_ms = (int64_t)s->created_ms;
        sump[i] = &sums[i];
    }
    res.n_stream_names = count;
    res.stream_names = names;
    res.n_stream_summaries = count;
    res.stream_summaries = sump;
    res.has_has_more_streams = true;
    res.has_more_streams = from + count < n->control.n_streams;
    if (res.has_more_streams && count > 0) {
        res.next_token = names[count - 1];
    }
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_LIST_STREAMS;
    resp.list_streams = &res;
    send_response(c, &resp);
done:
    pthread_mutex_unlock(&n->mu);
    sl_free(names);
    sl_free(sums);
    sl_free(sump);
    sl_free(arns);
}

/* One Shard message with its strings, for describe/list answers. */
struct shard_out {
    Sluice__Shard shard;
    Sluice__HashKeyRange range;
    Sluice__SequenceNumberRange seqs;
    char id[SL_SHARD_ID_MAX];
    char start[SL_U128_DIGITS_MAX];
    char end[SL_U128_DIGITS_MAX];
    char first_seq[SL_SEQNO_STR_MAX];
};

static void fill_shard(struct shard_out *o, const struct sl_shard_meta *m)
{
    Sluice__Shard shard = SLUICE__SHARD__INIT;
    Sluice__HashKeyRange range = SLUICE__HASH_KEY_RANGE__INIT;
    Sluice__SequenceNumberRange seqs = SLUICE__SEQUENCE_NUMBER_RANGE__INIT;
    o->shard = shard;
    o->range = range;
    o->seqs = seqs;
    sl_shard_id_format(m->index, o->id);
    sl_u128_format(m->start, o->start);
    sl_u128_format(m->end, o->end);
    struct sl_seqno sn = {m->created_ms / 1000, m->index, 0, m->created_ms / 1000};
    sl_seqno_format(&sn, o->first_seq);
    o->shard.shard_id = o->id;
    o->range.starting_hash_key = o->start;
    o->range.ending_hash_key = o->end;
    o->seqs.starting_sequence_number = o->first_seq;
    o->shard.hash_key_range = &o->range;
    o->shard.sequence_number_range = &o->seqs;
}

/* Shards [from, from + count) of `s` as messages; NULL when out of memory. */
static struct shard_out *shards_out(const struct sl_stream *s, uint32_t from, uint32_t count,
                                    Sluice__Shard ***ptrs)
{
    struct shard_out *o = sl_calloc(count + 1, sizeof(*o));
    *ptrs = sl_calloc(count + 1, sizeof(**ptrs));
    if (!o || !*ptrs) {
        sl_free(o);
        sl_free(*ptrs);
        return NULL;
    }
    for (uint32_t i = 0; i < count; i++) {
        fill_shard(&o[i], &s->shards[from + i]);
        (*ptrs)[i] = &o[i].shard;
    }
    return o;
}

/* Index of the first shard after ExclusiveStartShardId `id` (0 without one); -1 after answering
 * an error. */
static long shard_after(const struct call *c, const char *id)
{
    if (!id) {
        return 0;
    }
    uint32_t index;
    if (sl_shard_id_parse(id, strlen(id), &index) != 0) {
        reply_error(c, SL_EINVAL, "ExclusiveStartShardId %s is not a shard id of this service.",
                    id);
        return -1;
    }
    return (long)index + 1;
}

static void op_describe_stream(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__DescribeStreamRequest *r = rq->describe_stream;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (r->has_limit) {
        sl_check_u64_range(&v, "limit", r->limit, 1, SL_DESCRIBE_STREAM_LIMIT_MAX);
    }
    if (r->exclusive_start_shard_id) {
        sl_check_shard_id_shape(&v, "exclusiveStartShardId", r->exclusive_start_shard_id,
                                strlen(r->exclusive_start_shard_id));
    }
    if (reply_verr(c, &v)) {
        return;
    }
    long from = shard_after(c, r->exclusive_start_shard_id);
    if (from < 0) {
        return;
    }
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = find_stream(c, r->stream_name);
    if (!s) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    uint32_t limit = r->has_limit ? r->limit : SL_DESCRIBE_STREAM_LIMIT_MAX;
    uint32_t start = (uint32_t)(from < (long)s->n_shards ? from : (long)s->n_shards);
    uint32_t count = s->n_shards - start < limit ? s->n_shards - start : limit;
    Sluice__Shard **ptrs;
    struct shard_out *o = shards_out(s, start, count, &ptrs);
    if (!o) {
        reply_error(c, SL_ENOMEM, "out of memory");
        pthread_mutex_unlock(&n->mu);
        return;
    }
    char arn[ARN_MAX];
    stream_arn(n, s, arn, sizeof(arn));
    Sluice__StreamDescription d = SLUICE__STREAM_DESCRIPTION__INIT;
    d.stream_name = (char *)s->name;
    d.stream_arn = arn;
    d.has_stream_status = d.has_stream_mode = d.has_has_more_shards = true;
    d.stream_status = (Sluice__StreamStatus)s->status;
    d.stream_mode = (Sluice__StreamMode)s->mode;
    d.n_shards = count;
    d.shards = ptrs;
    d.has_more_shards = start + count < s->n_shards;
    d.has_retention_period_hours = d.has_stream_creation_timestamp_ms = true;
    d.retention_period_hours = s->retention_hours;
    d.stream_creation_timestamp_ms = (int64_t)s->created_ms;
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_DESCRIBE_STREAM;
    resp.describe_stream = &d;
    send_response(c, &resp);
    pthread_mutex_unlock(&n->mu);
    sl_free(o);
    sl_free(ptrs);
}

static void op_describe_stream_summary(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__DescribeStreamSummaryRequest *r = rq->describe_stream_summary;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (reply_verr(c, &v)) {
        return;
    }
    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = find_stream(c, r->stream_name);
    if (!s) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    char arn[ARN_MAX];
    stream_arn(n, s, arn, sizeof(arn));
    Sluice__StreamDescriptionSummary d = SLUICE__STREAM_DESCRIPTION_SUMMARY__INIT;
    d.stream_name = (char *)s->name;
    d.stream_arn = arn;
    d.has_stream_status = d.has_stream_mode = true;
    d.stream_status = (Sluice__StreamStatus)s->status;
    d.stream_mode = (Sluice__StreamMode)s->mode;
    d.has_retention_period_hours = d.has_stream_creation_timestamp_ms = true;
    d.retention_period_hours = s->retention_hours;
    d.stream_creation_timestamp_ms = (int64_t)s->created_ms;
    d.has_open_shard_count = d.has_consumer_count = d.has_max_record_size_kib = true;
    d.open_shard_count = s->n_shards;
    d.consumer_count = 0;
    d.max_record_size_kib = RECORD_KIB;
    if (s->mode == SL_STREAM_ON_DEMAND) {
        d.has_warm_throughput_current_mibps = true;
        d.has_warm_throughput_target_mibps = s->warm_mibps > 0; /* 0: none set */
        d.warm_throughput_target_mibps = s->warm_mibps;
        d.warm_throughput_current_mibps = warm_current_mibps(s);
    }
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_DESCRIBE_STREAM_SUMMARY;
    resp.describe_stream_summary = &d;
    send_response(c, &resp);
    pthread_mutex_unlock(&n->mu);
}

static void op_list_shards(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__ListShardsRequest *r = rq->list_shards;
    struct sl_verr v;
    sl_verr_init(&v);
    if (r->stream_name) {
        sl_check_stream_name(&v, "streamName", r->stream_name, strlen(r->stream_name));
    }
    if (r->has_max_results) {
        sl_check_u64_range(&v, "maxResults", r->max_results, 1, SL_LIST_SHARDS_MAX_RESULTS_MAX);
    }
    if (r->exclusive_start_shard_id) {
        sl_check_shard_id_shape(&v, "exclusiveStartShardId", r->exclusive_start_shard_id,
                                strlen(r->exclusive_start_shard_id));
    }
    if (reply_verr(c, &v)) {
        return;
    }
    struct node *n = c->n;
    if (r->stream_name && r->next_token) {
        reply_error(c, SL_EINVAL, "NextToken and StreamName cannot be provided together.");
        return;
    }
    if (r->exclusive_start_shard_id && r->next_token) {
        reply_error(c, SL_EINVAL,
                    "NextToken and ExclusiveStartShardId cannot be provided together.");
        return;
    }
    if (!r->stream_name && !r->next_token) {
        reply_error(c, SL_EINVAL, "Either NextToken or StreamName should be provided.");
        return;
    }
    struct sl_token tok = {0};
    uint32_t max = r->has_max_results ? r->max_results : SL_LIST_SHARDS_DEFAULT;
    long from;
    const char *name;
    if (r->next_token) {
        int rv = sl_token_decode(r->next_token, strlen(r->next_token), SL_TOKEN_LIST_SHARDS,
                                 n->identity.secret, sl_wall_ms(), n->cfg.iterator_ttl_ms, &tok);
        if (rv == SL_EEXPIRED) {
            reply_error(c, SL_ETOKEN, "The timestamp on the NextToken has expired.");
            return;
        }
        if (rv != 0) {
            reply_error(c, SL_EINVAL, "Invalid NextToken.");
            return;
        }
        from = tok.shard_index;
        name = tok.stream;
        if (!r->has_max_results) {
            max = (uint32_t)tok.position;
        }
    } else {
        from = shard_after(c, r->exclusive_start_shard_id);
        if (from < 0) {
            return;
        }
        name = r->stream_name;
    }
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = sl_control_find(&n->control, name, strlen(name));
    if (!s || (r->next_token && s->created_ms != tok.stream_created_ms)) {
        reply_not_found(c, name);
        pthread_mutex_unlock(&n->mu);
        return;
    }
    uint32_t start = (uint32_t)(from < (long)s->n_shards ? from : (long)s->n_shards);
    uint32_t count = s->n_shards - start < max ? s->n_shards - start : max;
    Sluice__Shard **ptrs;
    struct shard_out *o = shards_out(s, start, count, &ptrs);
    if (!o) {
        reply_error(c, SL_ENOMEM, "out of memory");
        pthread_mutex_unlock(&n->mu);
        return;
    }
    Sluice__ListShardsResult res = SLUICE__LIST_SHARDS_RESULT__INIT;
    res.n_shards = count;
    res.shards = ptrs;
    char token[SL_TOKEN_STR_MAX];
    if (start + count < s->n_shards) {
        struct sl_token next = {.kind = SL_TOKEN_LIST_SHARDS,
                                .stream_len = s->name_len,
                                .stream_created_ms = s->created_ms,
                                .shard_index = start + count,
                                .position = max,
                                .issued_ms = sl_wall_ms()};
        memcpy(next.stream, s->name, s->name_len);
        sl_token_encode(&next, n->identity.secret, token);
        res.next_token = token;
    }
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_LIST_SHARDS;
    resp.list_shards = &res;
    send_response(c, &resp);
    pthread_mutex_unlock(&n->mu);
    sl_free(o);
    sl_free(ptrs);
}

static void op_describe_limits(const struct call *c, const Sluice__Request *rq)
{
    struct node *n = c->n;
    Sluice__DescribeLimitsResult res = SLUICE__DESCRIBE_LIMITS_RESULT__INIT;
    pthread_mutex_lock(&n->mu);
    res.has_shard_limit = res.has_open_shard_count = true;
    res.has_on_demand_stream_count = res.has_on_demand_stream_count_limit = true;
    res.shard_limit = (uint32_t)n->cfg.shard_limit;
    res.open_shard_count = (uint32_t)sl_control_open_shards(&n->control);
    res.on_demand_stream_count = sl_control_on_demand_streams(&n->control);
    res.on_demand_stream_count_limit = ON_DEMAND_STREAMS_MAX;
    pthread_mutex_unlock(&n->mu);
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_DESCRIBE_LIMITS;
    resp.describe_limits = &res;
    send_response(c, &resp);
}

/* ---- writes -----------------------------------------------------------------------------------
 */

/* One record of a put, and what became of it. */
struct put_slot {
    sl_u128 hash;
    uint32_t shard;     /* index into the stream's shards */
    uint64_t created_s; /* the shard's creation time, part of its sequence numbers */
    int err;            /* 0 or why it failed */
    uint64_t seq_ix;
    uint64_t arrival_ms;
};

struct put_call {
    struct call c;
    bool single; /* PutRecord (else PutRecords) */
    char stream[SL_STREAM_NAME_BYTES_MAX + 1];
    uint32_t n_records;
    uint32_t parts_pending;
    struct put_slot *slots;
};

/* The records of one put that went to one shard: one log entry. */
struct put_part {
    struct put_call *put;
    uint32_t n;
    uint32_t *records; /* slot indexes, in entry order */
    uint64_t arrival_ms;
};

static const char *put_err_name(int err)
{
    return err == SL_ETHROTTLED ? "ProvisionedThroughputExceededException" : "InternalFailure";
}

static void put_err_message(const struct put_call *p, const struct put_slot *s, char *msg,
                            size_t len)
{
    char shard_id[SL_SHARD_ID_MAX];
    sl_shard_id_format(s->shard, shard_id);
    if (s->err == SL_ETHROTTLED) {
        snprintf(msg, len, "Rate exceeded for shard %s in stream %s under account %s.", shard_id,
                 p->stream, p->c.n->cfg.account);
    } else {
        snprintf(msg, len,
                 "Internal service failure: shard %s in stream %s could not take the "
                 "record now (%s); retry it.",
                 shard_id, p->stream, sl_strerror(s->err));
    }
}

static void put_finish(struct put_call *p)
{
    struct node *n = p->c.n;
    if (n->stopping) {
        p->c.to.send(p->c.to.to, NULL); /* not answered: the server is going away */
        goto done;
    }
    if (p->single) {
        struct put_slot *s = &p->slots[0];
        char msg[MSG_MAX];
        if (s->err != 0) {
            put_err_message(p, s, msg, sizeof(msg));
            reply_error_msg(&p->c, s->err == SL_ETHROTTLED ? SL_ETHROTTLED : SL_ENOTLEADER, msg);
            goto done;
        }
        char shard_id[SL_SHARD_ID_MAX], seq[SL_SEQNO_STR_MAX];
        sl_shard_id_format(s->shard, shard_id);
        struct sl_seqno sn = {s->created_s, s->shard, s->seq_ix, s->arrival_ms / 1000};
        sl_seqno_format(&sn, seq);
        Sluice__PutRecordResult res = SLUICE__PUT_RECORD_RESULT__INIT;
        res.shard_id = shard_id;
        res.sequence_number = seq;
        Sluice__Response resp = SLUICE__RESPONSE__INIT;
        resp.result_case = SLUICE__RESPONSE__RESULT_PUT_RECORD;
        resp.put_record = &res;
        send_response(&p->c, &resp);
        goto done;
    }
    /* PutRecords: one result per record, in request order. */
    struct entry_out {
        Sluice__PutRecordsResultEntry e;
        char shard_id[SL_SHARD_ID_MAX];
        char seq[SL_SEQNO_STR_MAX];
        char msg[256];
    };
    struct entry_out *o = sl_calloc(p->n_records, sizeof(*o));
    Sluice__PutRecordsResultEntry **ptrs = sl_calloc(p->n_records, sizeof(*ptrs));
    if (!o || !ptrs) {
        reply_error(&p->c, SL_ENOMEM, "out of memory");
        sl_free(o);
        sl_free(ptrs);
        goto done;
    }
    Sluice__PutRecordsResult res = SLUICE__PUT_RECORDS_RESULT__INIT;
    res.has_failed_record_count = true;
    for (uint32_t i = 0; i < p->n_records; i++) {
        const struct put_slot *s = &p->slots[i];
        Sluice__PutRecordsResultEntry init = SLUICE__PUT_RECORDS_RESULT_ENTRY__INIT;
        o[i].e = init;
        if (s->err != 0) {
            res.failed_record_count++;
            o[i].e.error_code = (char *)put_err_name(s->err);
            put_err_message(p, s, o[i].msg, sizeof(o[i].msg));
            o[i].e.error_message = o[i].msg;
        } else {
            sl_shard_id_format(s->shard, o[i].shard_id);
            struct sl_seqno sn = {s->created_s, s->shard, s->seq_ix, s->arrival_ms / 1000};
            sl_seqno_format(&sn, o[i].seq);
            o[i].e.shard_id = o[i].shard_id;
            o[i].e.sequence_number = o[i].seq;
        }
        ptrs[i] = &o[i].e;
    }
    res.n_records = p->n_records;
    res.records = ptrs;
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_PUT_RECORDS;
    resp.put_records = &res;
    send_response(&p->c, &resp);
    sl_free(o);
    sl_free(ptrs);
done:
    sl_free(p->slots);
    sl_free(p);
}

static void on_put_applied(struct node *n, void *arg, int err, int result, uint64_t index)
{
    struct put_part *part = arg;
    struct put_call *p = part->put;
    for (uint32_t k = 0; k < part->n; k++) {
        struct put_slot *s = &p->slots[part->records[k]];
        s->err = err == 0 ? 0 : SL_ENOTLEADER;
        s->seq_ix = sl_seqix(index, k);
        s->arrival_ms = part->arrival_ms;
    }
    sl_free(part->records);
    sl_free(part);
    if (--p->parts_pending == 0) {
        put_finish(p);
    }
}

/* The shard of `s` whose range holds `hash` (the shards tile the key space in order). */
static uint32_t route(const struct sl_stream *s, sl_u128 hash)
{
    uint32_t lo = 0, hi = s->n_shards - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->shards[mid].end < hash) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Proposes the records of `p` that route to shard `k` as one entry. Under mu. */
static void put_propose_shard(struct put_call *p, const struct sl_stream *s, uint32_t k,
                              const struct sl_batch_record *recs)
{
    struct node *n = p->c.n;
    uint32_t count = 0;
    for (uint32_t i = 0; i < p->n_records; i++) {
        count += p->slots[i].shard == k;
    }
    struct put_part *part = sl_calloc(1, sizeof(*part));
    struct sl_batch_record *br = sl_calloc(count, sizeof(*br));
    uint32_t *idx = sl_calloc(count, sizeof(*idx));
    struct group *g = sl_node_group(n, s->shards[k].group);
    int rv = SL_ENOMEM;
    struct sl_buf *b = NULL;
    if (!part || !br || !idx) {
        goto fail;
    }
    for (uint32_t i = 0, j = 0; i < p->n_records; i++) {
        if (p->slots[i].shard == k) {
            idx[j] = i;
            br[j++] = recs[i];
        }
    }
    rv = SL_ENOTLEADER;
    if (!g) {
        goto fail;
    }
    uint64_t now = sl_wall_ms();
    part->arrival_ms = now > g->last_arrival_ms ? now : g->last_arrival_ms;
    part->put = p;
    part->n = count;
    part->records = idx;
    size_t size = sl_batch_size(br, count);
    rv = SL_ENOMEM;
    b = sl_buf_new(size);
    if (!b) {
        goto fail;
    }
    sl_batch_encode(b->data, size, part->arrival_ms, br, count);
    p->parts_pending++;
    rv = sl_node_propose(n, g, b, on_put_applied, part, NULL);
    sl_buf_unref(b);
    if (rv != 0) {
        p->parts_pending--;
        goto fail;
    }
    g->last_arrival_ms = part->arrival_ms;
    sl_free(br);
    return;
fail:
    for (uint32_t i = 0; i < p->n_records; i++) {
        if (p->slots[i].shard == k) {
            p->slots[i].err = rv == SL_EBUSY ? SL_ETHROTTLED : rv;
        }
    }
    sl_free(part);
    sl_free(br);
    sl_free(idx);
}

/* Routes, proposes and (later) answers a put of `count` validated records. */
static void put(const struct call *c, bool single, const char *stream,
                const struct sl_batch_record *recs, const sl_u128 *hashes, uint32_t count,
                const char *seq_for_ordering)
{
    struct node *n = c->n;
    struct put_call *p = sl_calloc(1, sizeof(*p));
    struct put_slot *slots = sl_calloc(count, sizeof(*slots));
    if (!p || !slots) {
        sl_free(p);
        sl_free(slots);
        reply_error(c, SL_ENOMEM, "out of memory");
        return;
    }
    p->c = *c;
    p->single = single;
    p->n_records = count;
    p->slots = slots;
    snprintf(p->stream, sizeof(p->stream), "%s", stream);

    pthread_mutex_lock(&n->mu);
    bool stopping = n->stopping;
    const struct sl_stream *s = stopping ? NULL : data_stream(c, stream);
    if (!s) {
        pthread_mutex_unlock(&n->mu);
        if (stopping) {
            c->to.send(c->to.to, NULL); /* not answered: the server is going away */
        }
        sl_free(slots);
        sl_free(p);
        return;
    }
    for (uint32_t i = 0; i < count; i++) {
        slots[i].shard = route(s, hashes[i]);
        slots[i].created_s = s->shards[slots[i].shard].created_ms / 1000;
    }
    if (seq_for_ordering) {
        struct sl_seqno sn;
        struct group *g = sl_node_group(n, s->shards[slots[0].shard].group);
        if (sl_seqno_parse(seq_for_ordering, strlen(seq_for_ordering), &sn) != 0 ||
            (sn.shard_index == slots[0].shard && g &&
             sl_seqix_index(sn.seq_ix) > sl_raft_last_index(g->raft))) {
            reply_error(c, SL_EINVAL,
                        "ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under "
                        "account %s is invalid.",
                        seq_for_ordering, stream, n->cfg.account);
            pthread_mutex_unlock(&n->mu);
            sl_free(slots);
            sl_free(p);
            return;
        }
    }
    /* One entry per shard touched, each shard once, in first-appearance order. */
    p->parts_pending = 1; /* held until every part is proposed */
    for (uint32_t i = 0; i < count; i++) {
        bool first = true;
        for (uint32_t j = 0; j < i && first; j++) {
            first = slots[j].shard != slots[i].shard;
        }
        if (first) {
            put_propose_shard(p, s, slots[i].shard, recs);
        }
    }
    if (--p->parts_pending == 0) {
        put_finish(p);
    }
    pthread_mutex_unlock(&n->mu);
}

/* Validates one record's key, data and explicit hash key into `v`; fills `rec` and `*hash`.
 * Returns SL_EINVAL (answered) for a hash key out of range. */
static int check_record(const struct call *c, struct sl_verr *v, const char *prefix,
                        const char *key, const ProtobufCBinaryData *data, bool has_data,
                        const char *ehk, struct sl_batch_record *rec, sl_u128 *hash)
{
    char field[64];
    snprintf(field, sizeof(field), "%spartitionKey", prefix);
    require(v, field, key);
    if (key) {
        sl_check_partition_key(v, field, key, strlen(key));
    }
    snprintf(field, sizeof(field), "%sdata", prefix);
    if (!has_data) {
        require(v, field, NULL);
    } else {
        sl_check_data_size(v, field, data->len, slen(key));
    }
    if (ehk) {
        snprintf(field, sizeof(field), "%sexplicitHashKey", prefix);
        sl_check_hash_key_shape(v, field, ehk, strlen(ehk));
    }
    if (v->n > 0 || !key) {
        return 0;
    }
    rec->key = key;
    rec->key_len = (uint16_t)strlen(key);
    rec->data = has_data ? data->data : NULL;
    rec->data_len = has_data ? (uint32_t)data->len : 0;
    if (ehk) {
        char msg[MSG_MAX];
        int rv = sl_check_explicit_hash_key(ehk, strlen(ehk), hash, msg, sizeof(msg));
        if (rv != 0) {
            reply_error_msg(c, rv, msg);
            return rv;
        }
    } else {
        *hash = sl_hashkey_of(key, rec->key_len);
    }
    return 0;
}

static void op_put_record(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__PutRecordRequest *r = rq->put_record;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (r->sequence_number_for_ordering) {
        sl_check_seqno_shape(&v, "sequenceNumberForOrdering", r->sequence_number_for_ordering,
                             strlen(r->sequence_number_for_ordering));
    }
    struct sl_batch_record rec;
    sl_u128 hash;
    if (check_record(c, &v, "", r->partition_key, &r->data, r->has_data, r->explicit_hash_key, &rec,
                     &hash) != 0 ||
        reply_verr(c, &v)) {
        return;
    }
    put(c, true, r->stream_name, &rec, &hash, 1, r->sequence_number_for_ordering);
}

static void op_put_records(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__PutRecordsRequest *r = rq->put_records;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    if (r->n_records < 1 || r->n_records > SL_PUT_RECORDS_MAX) {
        char count[24];
        int len = snprintf(count, sizeof(count), "%zu records", r->n_records);
        sl_verr_add(&v, "records", count, (size_t)len,
                    r->n_records < 1 ? "Member must have length greater than or equal to 1"
                                     : "Member must have length less than or equal to 500");
    }
    if (reply_verr(c, &v)) {
        return;
    }
    struct sl_batch_record *recs = sl_calloc(r->n_records, sizeof(*recs));
    sl_u128 *hashes = sl_calloc(r->n_records, sizeof(*hashes));
    if (!recs || !hashes) {
        reply_error(c, SL_ENOMEM, "out of memory");
        goto done;
    }
    size_t total = 0;
    for (size_t i = 0; i < r->n_records; i++) {
        const Sluice__PutRecordsRequestEntry *e = r->records[i];
        char prefix[40];
        snprintf(prefix, sizeof(prefix), "records.%zu.member.", i + 1);
        if (check_record(c, &v, prefix, e->partition_key, &e->data, e->has_data,
                         e->explicit_hash_key, &recs[i], &hashes[i]) != 0) {
            goto done;
        }
        total += e->data.len + slen(e->partition_key);
    }
    if (reply_verr(c, &v)) {
        goto done;
    }
    if (total > SL_PUT_RECORDS_BYTES_MAX) {
        reply_error(c, SL_EINVAL,
                    "Records total size %zu bytes (data and partition keys) exceeds the limit of "
                    "%d bytes per PutRecords request.",
                    total, SL_PUT_RECORDS_BYTES_MAX);
        goto done;
    }
    put(c, false, r->stream_name, recs, hashes, (uint32_t)r->n_records, NULL);
done:
    sl_free(recs);
    sl_free(hashes);
}

/* ---- reads ------------------------------------------------------------------------------------
 */

static const char *iterator_type_name(int t)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&sluice__shard_iterator_type__descriptor, t);
    return v ? v->name : "?";
}

static void op_get_shard_iterator(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__GetShardIteratorRequest *r = rq->get_shard_iterator;
    struct sl_verr v;
    sl_verr_init(&v);
    check_stream_name(&v, r->stream_name);
    require(&v, "shardId", r->shard_id);
    if (r->shard_id) {
        sl_check_shard_id_shape(&v, "shardId", r->shard_id, strlen(r->shard_id));
    }
    if (!r->has_shard_iterator_type) {
        require(&v, "shardIteratorType", NULL);
    } else if (!protobuf_c_enum_descriptor_get_value(&sluice__shard_iterator_type__descriptor,
                                                     r->shard_iterator_type)) {
        char t[16];
        int len = snprintf(t, sizeof(t), "%d", (int)r->shard_iterator_type);
        sl_verr_add(
            &v, "shardIteratorType", t, (size_t)len,
            "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, "
            "AT_TIMESTAMP, TRIM_HORIZON, LATEST]");
    }
    if (r->starting_sequence_number) {
        sl_check_seqno_shape(&v, "startingSequenceNumber", r->starting_sequence_number,
                             strlen(r->starting_sequence_number));
    }
    if (reply_verr(c, &v)) {
        return;
    }
    int type = r->shard_iterator_type;
    bool by_seq = type == SLUICE__SHARD_ITERATOR_TYPE__AT_SEQUENCE_NUMBER ||
                  type == SLUICE__SHARD_ITERATOR_TYPE__AFTER_SEQUENCE_NUMBER;
    bool by_time = type == SLUICE__SHARD_ITERATOR_TYPE__AT_TIMESTAMP;
    if (by_seq != (r->starting_sequence_number != NULL)) {
        reply_error(c, SL_EINVAL,
                    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                    "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
                    "StartingSequenceNumber. Request specified %s and %s StartingSequenceNumber.",
                    iterator_type_name(type), r->starting_sequence_number ? "a" : "no");
        return;
    }
    if (by_time != r->has_timestamp_ms) {
        reply_error(c, SL_EINVAL,
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP, "
                    "and only for it. Request specified %s %s a timestamp.",
                    iterator_type_name(type), r->has_timestamp_ms ? "with" : "without");
        return;
    }
    uint64_t now = sl_wall_ms();
    if (by_time && r->timestamp_ms > 0 && (uint64_t)r->timestamp_ms > now) {
        reply_error(c, SL_EINVAL,
                    "The timestampInMillis parameter cannot be greater than the "
                    "currentTimestampInMillis. timestampInMillis: %lld, currentTimestampInMillis: "
                    "%llu",
                    (long long)r->timestamp_ms, (unsigned long long)now);
        return;
    }
    uint32_t shard;
    if (sl_shard_id_parse(r->shard_id, strlen(r->shard_id), &shard) != 0) {
        reply_error(c, SL_ENOTFOUND, "Shard %s in stream %s under account %s does not exist",
                    r->shard_id, r->stream_name, c->n->cfg.account);
        return;
    }
    struct sl_seqno sn = {0};
    if (by_seq && sl_seqno_parse(r->starting_sequence_number, strlen(r->starting_sequence_number),
                                 &sn) != 0) {
        reply_error(c, SL_EINVAL,
                    "StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s "
                    "under account %s is invalid.",
                    r->starting_sequence_number, r->shard_id, r->stream_name, c->n->cfg.account);
        return;
    }

    struct node *n = c->n;
    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = data_stream(c, r->stream_name);
    if (!s) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    if (shard >= s->n_shards) {
        reply_error(c, SL_ENOTFOUND, "Shard %s in stream %s under account %s does not exist",
                    r->shard_id, r->stream_name, n->cfg.account);
        pthread_mutex_unlock(&n->mu);
        return;
    }
    struct group *g = sl_node_group(n, s->shards[shard].group);
    struct sl_token t = {.kind = SL_TOKEN_SHARD_ITERATOR,
                         .stream_len = s->name_len,
                         .stream_created_ms = s->created_ms,
                         .shard_index = shard,
                         .issued_ms = now};
    memcpy(t.stream, s->name, s->name_len);
    uint64_t first = g ? g->first_index : 1, applied = g ? g->applied : 0;
    uint64_t last = g ? sl_raft_last_index(g->raft) : 0;
    uint64_t group = s->shards[shard].group;
    uint64_t shard_created_s = s->shards[shard].created_ms / 1000;
    pthread_mutex_unlock(&n->mu);

    if (by_seq) {
        if (sn.shard_index != shard) {
            char other[SL_SHARD_ID_MAX];
            sl_shard_id_format(sn.shard_index, other);
            reply_error(c, SL_EINVAL,
                        "Invalid StartingSequenceNumber. It encodes %s, while it was used in a "
                        "call to a shard with %s",
                        other, r->shard_id);
            return;
        }
        if (sn.shard_created_s != shard_created_s) {
            reply_error(c, SL_EINVAL,
                        "StartingSequenceNumber %s used in GetShardIterator on shard %s in stream "
                        "%s under account %s did not come from this stream.",
                        r->starting_sequence_number, r->shard_id, r->stream_name, n->cfg.account);
            return;
        }
        if (sl_seqix_index(sn.seq_ix) > last) {
            /* Never issued: it lies beyond the shard's log. */
            reply_error(c, SL_EINVAL,
                        "StartingSequenceNumber %s used in GetShardIterator on shard %s in stream "
                        "%s under account %s is invalid because it did not come from this "
                        "shard's log.",
                        r->starting_sequence_number, r->shard_id, r->stream_name, n->cfg.account);
            return;
        }
        t.position = sn.seq_ix + (type == SLUICE__SHARD_ITERATOR_TYPE__AFTER_SEQUENCE_NUMBER);
    } else if (type == SLUICE__SHARD_ITERATOR_TYPE__TRIM_HORIZON) {
        t.position = 0; /* reading starts at the first retained record, wherever it is then */
    } else if (type == SLUICE__SHARD_ITERATOR_TYPE__LATEST) {
        t.position = sl_seqix(applied + 1, 0);
    } else {
        /* A time before the epoch is simply before every record. */
        uint64_t ms = r->timestamp_ms > 0 ? (uint64_t)r->timestamp_ms : 0;
        uint64_t at =
            first <= applied ? sl_node_find_arrival(n, group, first, applied, ms) : applied + 1;
        t.position = sl_seqix(at, 0);
    }
    char text[SL_TOKEN_STR_MAX];
    sl_token_encode(&t, n->identity.secret, text);
    Sluice__GetShardIteratorResult res = SLUICE__GET_SHARD_ITERATOR_RESULT__INIT;
    res.shard_iterator = text;
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_GET_SHARD_ITERATOR;
    resp.get_shard_iterator = &res;
    send_response(c, &resp);
}

/* Records read for one GetRecords answer; payload buffers stay referenced until it is sent. */
struct rec_out {
    Sluice__Record rec;
    char seq[SL_SEQNO_STR_MAX];
    char *key; /* NUL-terminated copy: keys in a batch are not */
};

struct read_out {
    struct rec_out *recs;
    size_t n, cap;
    Sluice__Record **ptrs; /* filled once `recs` stops moving */
    struct sl_buf **bufs;
    size_t n_bufs, bufs_cap;
};

static void read_out_free(struct read_out *o)
{
    for (size_t i = 0; i < o->n; i++) {
        sl_free(o->recs[i].key);
    }
    for (size_t i = 0; i < o->n_bufs; i++) {
        sl_buf_unref(o->bufs[i]);
    }
    sl_free(o->recs);
    sl_free(o->ptrs);
    sl_free(o->bufs);
}

static void op_get_records(const struct call *c, const Sluice__Request *rq)
{
    const Sluice__GetRecordsRequest *r = rq->get_records;
    struct node *n = c->n;
    struct sl_verr v;
    sl_verr_init(&v);
    require(&v, "shardIterator", r->shard_iterator);
    if (r->shard_iterator && (strlen(r->shard_iterator) < 1 || strlen(r->shard_iterator) > 512)) {
        sl_verr_add(&v, "shardIterator", r->shard_iterator, strlen(r->shard_iterator),
                    strlen(r->shard_iterator) < 1
                        ? "Member must have length greater than or equal to 1"
                        : "Member must have length less than or equal to 512");
    }
    if (r->has_limit) {
        sl_check_u64_range(&v, "limit", r->limit, 1, SL_GET_RECORDS_LIMIT_MAX);
    }
    if (reply_verr(c, &v)) {
        return;
    }
    uint64_t now = sl_wall_ms();
    struct sl_token t;
    int rv = sl_token_decode(r->shard_iterator, strlen(r->shard_iterator), SL_TOKEN_SHARD_ITERATOR,
                             n->identity.secret, now, n->cfg.iterator_ttl_ms, &t);
    if (rv == SL_EEXPIRED) {
        reply_error(c, SL_EEXPIRED,
                    "Iterator expired. The iterator was created at time %llu while right now it "
                    "is %llu which is further in the future than the tolerated delay of %llu "
                    "milliseconds.",
                    (unsigned long long)t.issued_ms, (unsigned long long)now,
                    (unsigned long long)n->cfg.iterator_ttl_ms);
        return;
    }
    if (rv != 0) {
        reply_error(c, SL_EINVAL, "Invalid ShardIterator.");
        return;
    }
    uint32_t limit = r->has_limit ? r->limit : SL_GET_RECORDS_LIMIT_MAX;

    pthread_mutex_lock(&n->mu);
    const struct sl_stream *s = sl_control_find(&n->control, t.stream, t.stream_len);
    if (!s || s->created_ms != t.stream_created_ms || t.shard_index >= s->n_shards ||
        s->status == SL_STREAM_DELETING) {
        pthread_mutex_unlock(&n->mu);
        reply_error(c, SL_ENOTFOUND,
                    "Shard shardId-%012u in stream %s under account %s does not exist",
                    t.shard_index, t.stream, n->cfg.account);
        return;
    }
    uint64_t group = s->shards[t.shard_index].group;
    uint64_t created_s = s->shards[t.shard_index].created_ms / 1000;
    struct group *g = sl_node_group(n, group);
    uint64_t first = g ? g->first_index : 1, applied = g ? g->applied : 0;
    uint64_t tip_ms = g ? g->tip_arrival_ms : 0;
    pthread_mutex_unlock(&n->mu);

    /* Read from the iterator's position up to the applied tip, within the call's limits. */
    uint64_t idx = sl_seqix_index(t.position);
    uint32_t pos = sl_seqix_pos(t.position);
    if (idx < first) {
        idx = first; /* trimmed meanwhile, or TRIM_HORIZON: the oldest retained record */
        pos = 0;
    }
    struct read_out o = {0};
    size_t bytes = 0;
    uint64_t last_arrival = 0;
    bool full = false;
    rv = 0;
    while (idx <= applied && !full) {
        struct sl_raft_entry e[16];
        size_t got = 0;
        rv = sl_store_read(n->store, group, idx, applied, SL_GET_RECORDS_BYTES_MAX, e, 16, &got);
        if (rv != 0 || got == 0) {
            break;
        }
        size_t used = 0;
        for (; used < got && !full; used++) {
            struct sl_batch_reader rd;
            if (e[used].index != idx) {
                break; /* a gap: trimmed while we read */
            }
            if (e[used].type != SL_RAFT_ENTRY_NORMAL || !e[used].data ||
                sl_batch_open(&rd, e[used].data->data, e[used].data->len) != 0) {
                idx++;
                pos = 0;
                continue;
            }
            struct sl_batch_record br;
            uint32_t k = 0;
            bool took = false;
            while (sl_batch_next(&rd, &br)) {
                if (k++ < pos) {
                    continue;
                }
                size_t size = br.data_len + br.key_len;
                if (o.n >= limit || (o.n > 0 && bytes + size > SL_GET_RECORDS_BYTES_MAX)) {
                    full = true;
                    break;
                }
                char *key = sl_malloc(br.key_len + 1u);
                if (!key || (o.n == o.cap &&
                             sl_grow((void **)&o.recs, &o.cap, o.n + 1, sizeof(*o.recs)) != 0)) {
                    sl_free(key);
                    rv = SL_ENOMEM;
                    full = true;
                    break;
                }
                memcpy(key, br.key, br.key_len);
                key[br.key_len] = '\0';
                struct rec_out *out = &o.recs[o.n];
                Sluice__Record init = SLUICE__RECORD__INIT;
                Sluice__Record *rec = &out->rec;
                *rec = init;
                out->key = key;
                struct sl_seqno sn = {created_s, t.shard_index, sl_seqix(idx, k - 1),
                                      sl_batch_arrival_ms(&rd) / 1000};
                sl_seqno_format(&sn, out->seq);

                rec->has_approximate_arrival_timestamp_ms = true;
                rec->approximate_arrival_timestamp_ms = (int64_t)sl_batch_arrival_ms(&rd);
                rec->has_data = true;
                rec->data.data = (uint8_t *)br.data;
                rec->data.len = br.data_len;
                o.n++;
                bytes += size;
                took = true;
                last_arrival = sl_batch_arrival_ms(&rd);
                pos = k;
            }
            if (took) {
                if (o.n_bufs == o.bufs_cap &&
                    sl_grow((void **)&o.bufs, &o.bufs_cap, o.n_bufs + 1, sizeof(*o.bufs)) != 0) {
                    rv = SL_ENOMEM;
                    full = true;
                    break;
                }
                o.bufs[o.n_bufs++] = sl_buf_ref(e[used].data);
            }
            if (!full) {
                idx++;
                pos = 0;
            }
        }
        for (size_t i = 0; i < got; i++) {
            sl_buf_unref(e[i].data);
        }
        if (used < got && !full) {
            break; /* stopped at a gap */
        }
    }
    o.ptrs = rv == 0 ? sl_calloc(o.n + 1, sizeof(*o.ptrs)) : NULL;
    if (rv == 0 && !o.ptrs) {
        rv = SL_ENOMEM;
    }
    if (rv != 0) {
        reply_error(c, rv, "reading shard shardId-%012u of stream %s failed: %s", t.shard_index,
                    t.stream, sl_strerror(rv));
        read_out_free(&o);
        return;
    }
    /* The array moved as it grew: point into it only now. */
    for (size_t i = 0; i < o.n; i++) {
        o.recs[i].rec.sequence_number = o.recs[i].seq;
        o.recs[i].rec.partition_key = o.recs[i].key;
        o.ptrs[i] = &o.recs[i].rec;
    }
    Sluice__GetRecordsResult res = SLUICE__GET_RECORDS_RESULT__INIT;
    res.n_records = o.n;
    res.records = o.ptrs;
    t.position = sl_seqix(idx, pos);
    t.issued_ms = now;
    char next[SL_TOKEN_STR_MAX];
    sl_token_encode(&t, n->identity.secret, next);
    res.next_shard_iterator = next;
    res.has_millis_behind_latest = true;
    bool caught_up = idx > applied;
    if (!caught_up && o.n == 0) {
        /* Nothing returned short of the tip (trimmed while reading): measure from the record
         * the next call starts at. */
        uint64_t at;
        if (!sl_node_first_record(n, group, idx, applied, &at, &last_arrival)) {
            last_arrival = tip_ms;
        }
    }
    res.millis_behind_latest =
        caught_up || tip_ms < last_arrival ? 0 : (int64_t)(tip_ms - last_arrival);
    Sluice__Response resp = SLUICE__RESPONSE__INIT;
    resp.result_case = SLUICE__RESPONSE__RESULT_GET_RECORDS;
    resp.get_records = &res;
    send_response(c, &resp);
    read_out_free(&o);
}

/* ---- the operation table ------------------------------------------------------------------- */

/* X(oneof case, handler, Kinesis operation name) */
#define SL_OPS(X)                                                                                  \
    X(CREATE_STREAM, op_create_stream, "CreateStream")                                             \
    X(DELETE_STREAM, op_delete_stream, "DeleteStream")                                             \
    X(LIST_STREAMS, op_list_streams, "ListStreams")                                                \
    X(DESCRIBE_STREAM, op_describe_stream, "DescribeStream")                                       \
    X(DESCRIBE_STREAM_SUMMARY, op_describe_stream_summary, "DescribeStreamSummary")                \
    X(LIST_SHARDS, op_list_shards, "ListShards")                                                   \
    X(INCREASE_STREAM_RETENTION_PERIOD, op_increase_retention, "IncreaseStreamRetentionPeriod")    \
    X(DECREASE_STREAM_RETENTION_PERIOD, op_decrease_retention, "DecreaseStreamRetentionPeriod")    \
    X(DESCRIBE_LIMITS, op_describe_limits, "DescribeLimits")                                       \
    X(PUT_RECORD, op_put_record, "PutRecord")                                                      \
    X(PUT_RECORDS, op_put_records, "PutRecords")                                                   \
    X(GET_SHARD_ITERATOR, op_get_shard_iterator, "GetShardIterator")                               \
    X(GET_RECORDS, op_get_records, "GetRecords")                                                   \
    X(ADD_TAGS_TO_STREAM, op_add_tags, "AddTagsToStream")                                          \
    X(REMOVE_TAGS_FROM_STREAM, op_remove_tags, "RemoveTagsFromStream")                             \
    X(LIST_TAGS_FOR_STREAM, op_list_tags, "ListTagsForStream")                                     \
    X(UPDATE_MAX_RECORD_SIZE, op_update_max_record_size, "UpdateMaxRecordSize")                    \
    X(UPDATE_STREAM_WARM_THROUGHPUT, op_update_warm_throughput, "UpdateStreamWarmThroughput")      \
    X(GET_RESOURCE_POLICY, op_get_resource_policy, "GetResourcePolicy")                            \
    X(PUT_RESOURCE_POLICY, op_put_resource_policy, "PutResourcePolicy")                            \
    X(DELETE_RESOURCE_POLICY, op_delete_resource_policy, "DeleteResourcePolicy")                   \
    X(DESCRIBE_ACCOUNT_SETTINGS, op_describe_account_settings, "DescribeAccountSettings")          \
    X(UPDATE_ACCOUNT_SETTINGS, op_update_account_settings, "UpdateAccountSettings")

struct op {
    Sluice__Request__OpCase which;
    void (*handler)(const struct call *c, const Sluice__Request *rq);
    const char *name;
};

static const struct op ops[] = {
#define SL_OP_ROW(which, handler, name) {SLUICE__REQUEST__OP_##which, handler, name},
    SL_OPS(SL_OP_ROW)
#undef SL_OP_ROW
};

/* Handles `rq` now: the operation it names, or an error answer. */
static void dispatch(const struct call *c, const Sluice__Request *rq)
{
    const struct op *op = NULL;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (ops[i].which == rq->op_case) {
            op = &ops[i];
        }
    }
    if (!op) {
        reply_error(c, SL_EUNKNOWNOP,
                    "the request names no operation this node knows (its operation field is "
                    "empty or newer than this node)");
    } else if (c->n->stopping) {
        reply_error(c, SL_ENOTLEADER, "the node is shutting down; retry on another node");
    } else {
        op->handler(c, rq);
    }
}

/* Writes never block on the disk (they wait for the writer thread): a front end's network
 * thread may handle them itself. */
static bool is_write(const Sluice__Request *rq)
{
    return rq->op_case == SLUICE__REQUEST__OP_PUT_RECORD ||
           rq->op_case == SLUICE__REQUEST__OP_PUT_RECORDS;
}

/* Writes are handled on the NNG thread that received them; every other request goes to a
 * worker with its decoded form. */
bool sl_ops_handle_fast(void *arg, struct sl_net_req *req, const void *data, size_t len,
                        void **carry)
{
    struct call c = {.n = arg, .to = {answer_nng, NULL, req}, .request_id = 0};
    Sluice__Request *rq = sluice__request__unpack(NULL, len, data);
    if (!rq) {
        return false; /* the worker answers SerializationException */
    }
    if (c.n->stopping || !is_write(rq)) {
        *carry = rq;
        return false;
    }
    c.request_id = rq->request_id;
    dispatch(&c, rq);
    sluice__request__free_unpacked(rq, NULL);
    return true;
}

void sl_ops_free_request(void *rq)
{
    sluice__request__free_unpacked(rq, NULL);
}

void sl_ops_handle(void *arg, struct sl_net_req *req, const void *data, size_t len, void *carry)
{
    struct call c = {.n = arg, .to = {answer_nng, NULL, req}, .request_id = 0};
    Sluice__Request *rq = carry ? carry : sluice__request__unpack(NULL, len, data);
    if (!rq) {
        reply_error(&c, SL_ESERIAL,
                    "the request (%zu bytes) is not a valid sluice.Request protobuf message", len);
        return;
    }
    c.request_id = rq->request_id;
    dispatch(&c, rq);
    sluice__request__free_unpacked(rq, NULL);
}

/* A request submitted by a front end other than NNG, waiting for a worker. */
struct submitted {
    struct sl_workq_job job;
    struct call c;
    const Sluice__Request *rq;
    void (*done)(void *arg);
    void *done_arg;
};

static void run_submitted(struct sl_workq_job *job)
{
    struct submitted *sub = (struct submitted *)job;
    if (sub->c.to.gone && sub->c.to.gone(sub->c.to.to)) {
        sub->c.to.send(sub->c.to.to, NULL); /* its client left while it waited */
    } else {
        dispatch(&sub->c, sub->rq);
    }
    sub->done(sub->done_arg);
    sl_free(sub);
}

static void drop_submitted(struct sl_workq_job *job)
{
    struct submitted *sub = (struct submitted *)job;
    sub->c.to.send(sub->c.to.to, NULL);
    sub->done(sub->done_arg);
    sl_free(sub);
}

void sl_ops_submit(struct node *n, const Sluice__Request *rq, struct sl_answer_to to,
                   void (*done)(void *arg), void *done_arg)
{
    struct call c = {.n = n, .to = to, .request_id = rq->request_id};
    if (!n->stopping && is_write(rq)) {
        dispatch(&c, rq);
        done(done_arg);
        return;
    }
    struct submitted *sub = sl_malloc(sizeof(*sub));
    if (!sub) {
        reply_error(&c, SL_ENOMEM, "out of memory");
        done(done_arg);
        return;
    }
    *sub = (struct submitted){.job = {.run = run_submitted, .drop = drop_submitted},
                              .c = c,
                              .rq = rq,
                              .done = done,
                              .done_arg = done_arg};
    sl_workq_push(n->workq, &sub->job);
}
