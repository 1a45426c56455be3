/* util.c — error codes and messages, allocation glue, clocks and backoff for libsluice. */
#include "internal.h"

#include "core/alloc.h"
#include "core/errors.h"
#include "core/shard/validate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The public codes are the server's codes, and the wire codes their negation. */
#define SL_CHECK_CODE(name, value, msg, kinesis)                                                   \
    _Static_assert(SLUICE_##name == SL_##name, "SLUICE_" #name " differs from SL_" #name);
SL_ERRORS(SL_CHECK_CODE)
#undef SL_CHECK_CODE

_Static_assert(SLUICE__ERROR_CODE__INTERNAL_FAILURE == -SL_ENOMEM, "wire code");
_Static_assert(SLUICE__ERROR_CODE__INVALID_ARGUMENT == -SL_EINVAL, "wire code");
_Static_assert(SLUICE__ERROR_CODE__NOT_LEADER == -SL_ENOTLEADER, "wire code");
_Static_assert(SLUICE__ERROR_CODE__BUSY == -SL_EBUSY, "wire code");
_Static_assert(SLUICE__ERROR_CODE__LIMIT_EXCEEDED == -SL_ELIMIT, "wire code");
_Static_assert(SLUICE__ERROR_CODE__RESOURCE_NOT_FOUND == -SL_ENOTFOUND, "wire code");
_Static_assert(SLUICE__ERROR_CODE__STALE == -SL_ESTALE, "wire code");
_Static_assert(SLUICE__ERROR_CODE__NOT_CAUGHT_UP == -SL_ENOTCAUGHTUP, "wire code");
_Static_assert(SLUICE__ERROR_CODE__IO_ERROR == -SL_EIO, "wire code");
_Static_assert(SLUICE__ERROR_CODE__CORRUPT == -SL_ECORRUPT, "wire code");
_Static_assert(SLUICE__ERROR_CODE__RESOURCE_IN_USE == -SL_EINUSE, "wire code");
_Static_assert(SLUICE__ERROR_CODE__EXPIRED_ITERATOR == -SL_EEXPIRED, "wire code");
_Static_assert(SLUICE__ERROR_CODE__VALIDATION == -SL_EVALIDATION, "wire code");
_Static_assert(SLUICE__ERROR_CODE__SERIALIZATION == -SL_ESERIAL, "wire code");
_Static_assert(SLUICE__ERROR_CODE__THROUGHPUT_EXCEEDED == -SL_ETHROTTLED, "wire code");
_Static_assert(SLUICE__ERROR_CODE__EXPIRED_NEXT_TOKEN == -SL_ETOKEN, "wire code");
_Static_assert(SLUICE__ERROR_CODE__UNKNOWN_OPERATION == -SL_EUNKNOWNOP, "wire code");

/* The public enums are the wire enums. */
_Static_assert((int)SLUICE_PROVISIONED == (int)SLUICE__STREAM_MODE__PROVISIONED, "mode");
_Static_assert((int)SLUICE_ON_DEMAND == (int)SLUICE__STREAM_MODE__ON_DEMAND, "mode");
_Static_assert((int)SLUICE_CREATING == (int)SLUICE__STREAM_STATUS__CREATING, "status");
_Static_assert((int)SLUICE_DELETING == (int)SLUICE__STREAM_STATUS__DELETING, "status");
_Static_assert((int)SLUICE_ACTIVE == (int)SLUICE__STREAM_STATUS__ACTIVE, "status");
_Static_assert((int)SLUICE_UPDATING == (int)SLUICE__STREAM_STATUS__UPDATING, "status");
_Static_assert((int)SLUICE_AT_SEQUENCE_NUMBER ==
                   (int)SLUICE__SHARD_ITERATOR_TYPE__AT_SEQUENCE_NUMBER,
               "it");
_Static_assert((int)SLUICE_AFTER_SEQUENCE_NUMBER ==
                   (int)SLUICE__SHARD_ITERATOR_TYPE__AFTER_SEQUENCE_NUMBER,
               "it");
_Static_assert((int)SLUICE_TRIM_HORIZON == (int)SLUICE__SHARD_ITERATOR_TYPE__TRIM_HORIZON, "it");
_Static_assert((int)SLUICE_LATEST == (int)SLUICE__SHARD_ITERATOR_TYPE__LATEST, "it");
_Static_assert((int)SLUICE_AT_TIMESTAMP == (int)SLUICE__SHARD_ITERATOR_TYPE__AT_TIMESTAMP, "it");

static _Thread_local char sl_errmsg_buf[SL_ERRMSG_MAX];

const char *sluice_errmsg(void)
{
    return sl_errmsg_buf;
}

int sl_fail(int err, const char *fmt, ...)
{
    char tmp[SL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    /* Formatting into a copy lets callers pass sluice_errmsg() itself as an argument. */
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    memcpy(sl_errmsg_buf, tmp, sizeof(tmp));
    return err;
}

const char *sluice_strerror(int err)
{
    return sl_strerror(err);
}

const char *sluice_errname(int err)
{
    switch (err) {
    case SLUICE_OK:
        return "OK";
    case SLUICE_ENOTLEADER:
        return "NotLeader";
    case SLUICE_ESTALE:
        return "Stale";
    case SLUICE_ENOTCAUGHTUP:
        return "NotCaughtUp";
    case SLUICE_ECORRUPT:
        return "Corrupt";
    case SLUICE_ETIMEDOUT:
        return "Timeout";
    case SLUICE_EUNAVAILABLE:
        return "Unavailable";
    default:
        return sl_err_kinesis_type(err);
    }
}

bool sl_retryable(int err)
{
    switch (err) {
    case SLUICE_ENOTLEADER:
    case SLUICE_EBUSY:
    case SLUICE_ETHROTTLED:
    case SLUICE_EIO:
    case SLUICE_ENOTCAUGHTUP:
    case SLUICE_ETIMEDOUT:
    case SLUICE_EUNAVAILABLE:
        return true;
    default:
        return false;
    }
}

int sl_err_from_wire(int wire)
{
    if (wire == SLUICE__ERROR_CODE__INTERNAL_FAILURE) {
        return SLUICE_EIO; /* the server's own memory trouble: an internal failure to us */
    }
    if (wire < 0 || wire > SLUICE__ERROR_CODE__UNKNOWN_OPERATION) {
        return SLUICE_EIO;
    }
    return -wire;
}

int sl_err_from_kinesis_name(const char *name)
{
    static const struct {
        const char *name;
        int err;
    } names[] = {
        {"ProvisionedThroughputExceededException", SLUICE_ETHROTTLED},
        {"InternalFailure", SLUICE_EIO},
        {"ServiceUnavailable", SLUICE_EIO},
        {"LimitExceededException", SLUICE_EBUSY},
        {"ResourceNotFoundException", SLUICE_ENOTFOUND},
        {"InvalidArgumentException", SLUICE_EINVAL},
        {"ValidationException", SLUICE_EVALIDATION},
        {"ResourceInUseException", SLUICE_EINUSE},
        {"NotLeader", SLUICE_ENOTLEADER},
    };
    if (name == NULL) {
        return SLUICE_EIO;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(names[i].name, name) == 0) {
            return names[i].err;
        }
    }
    return SLUICE_EIO;
}

static void *pb_alloc(void *data, size_t size)
{
    (void)data;
    return sl_malloc(size);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    sl_free(p);
}

ProtobufCAllocator sl_pb_alloc = {pb_alloc, pb_free, NULL};

char *sl_strdup(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *d = sl_malloc(n);
    if (d) {
        memcpy(d, s, n);
    }
    return d;
}

void sluice_free(void *p)
{
    sl_free(p);
}

uint64_t sl_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t sl_now_ms(void)
{
    return sl_now_us() / 1000u;
}

void sl_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

uint32_t sl_backoff_ms(uint32_t base_ms, uint32_t max_ms, uint32_t retry, uint64_t rnd)
{
    uint64_t d = base_ms;
    for (uint32_t i = 0; i < retry && d < max_ms; i++) {
        d *= 2;
    }
    if (d > max_ms) {
        d = max_ms;
    }
    /* "Equal jitter": at least half the delay, so that backoff still backs off. */
    uint64_t half = d / 2;
    return (uint32_t)(d - half + (half ? rnd % (half + 1) : 0));
}

const char *sluice_stream_mode_name(int mode)
{
    switch (mode) {
    case SLUICE_PROVISIONED:
        return "PROVISIONED";
    case SLUICE_ON_DEMAND:
        return "ON_DEMAND";
    default:
        return "UNKNOWN";
    }
}

const char *sluice_stream_status_name(int status)
{
    switch (status) {
    case SLUICE_CREATING:
        return "CREATING";
    case SLUICE_DELETING:
        return "DELETING";
    case SLUICE_ACTIVE:
        return "ACTIVE";
    case SLUICE_UPDATING:
        return "UPDATING";
    default:
        return "UNKNOWN";
    }
}

static const char *const sl_iterator_names[] = {
    "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP",
};

const char *sluice_iterator_type_name(int type)
{
    if (type < 0 || type >= (int)(sizeof(sl_iterator_names) / sizeof(sl_iterator_names[0]))) {
        return "UNKNOWN";
    }
    return sl_iterator_names[type];
}

int sluice_iterator_type_parse(const char *s, enum sluice_iterator_type *out)
{
    for (int i = 0; i < (int)(sizeof(sl_iterator_names) / sizeof(sl_iterator_names[0])); i++) {
        if (s && strcmp(s, sl_iterator_names[i]) == 0) {
            *out = (enum sluice_iterator_type)i;
            return 0;
        }
    }
    return sl_fail(SLUICE_EINVAL,
                   "unknown iterator type '%s' (expected TRIM_HORIZON, LATEST, "
                   "AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER or AT_TIMESTAMP)",
                   s ? s : "(null)");
}

int sl_check_records(const struct sluice_record_in *recs, size_t n, bool many)
{
    struct sl_verr *v = sl_malloc(sizeof(*v));
    if (v == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    sl_verr_init(v);
    for (size_t i = 0; i < n; i++) {
        const struct sluice_record_in *r = &recs[i];
        if (r->data == NULL && r->data_len > 0) {
            sl_free(v);
            return sl_fail(SLUICE_EINVAL, "record %zu has a length but no data", i);
        }
        char prefix[48] = "";
        if (many) {
            snprintf(prefix, sizeof(prefix), "records.%zu.member.", i + 1);
        }
        char field[96];
        const char *key = r->partition_key;
        size_t key_len = key ? strlen(key) : 0;
        snprintf(field, sizeof(field), "%sdata", prefix);
        sl_check_data_size(v, field, r->data_len, key_len);
        snprintf(field, sizeof(field), "%spartitionKey", prefix);
        if (key == NULL) {
            sl_verr_add(v, field, NULL, 0, "Member must not be null");
        } else {
            sl_check_partition_key(v, field, key, key_len);
        }
        if (r->explicit_hash_key) {
            snprintf(field, sizeof(field), "%sexplicitHashKey", prefix);
            sl_check_hash_key_shape(v, field, r->explicit_hash_key, strlen(r->explicit_hash_key));
        }
    }
    char msg[SL_ERRMSG_MAX];
    int rc = sl_verr_finish(v, msg, sizeof(msg));
    sl_free(v);
    if (rc != 0) {
        return sl_fail(SLUICE_EVALIDATION, "%s", msg);
    }
    for (size_t i = 0; i < n; i++) {
        sl_u128 key;
        if (recs[i].explicit_hash_key &&
            (rc = sl_record_hash_key(recs[i].partition_key, recs[i].explicit_hash_key, &key))) {
            return rc;
        }
    }
    return 0;
}
