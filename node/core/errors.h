/* errors.h — the one table of sluice error codes, their messages and their wire names.
 *
 * Every fallible function in sluice returns an `int`: 0 (SL_OK) on success or one of the
 * negative codes below. The table is an X-macro so that the enum, sl_strerror(), sl_errname()
 * and the mapping to Kinesis error types all come from one place: add a code here and nowhere
 * else.
 *
 * Columns: X(NAME, value, message, kinesis_type). `kinesis_type` is the `__type` a Kinesis
 * client sees when this error ends a request ("InternalFailure" for codes that should never
 * reach a client). The protobuf API's ErrorCode (proto/sluice.proto) carries the same
 * numbers, negated; the server and libsluice check that they agree at compile time.
 */
#ifndef SL_ERRORS_H
#define SL_ERRORS_H

#define SL_ERRORS(X)                                                                               \
    X(OK, 0, "success", "")                                                                        \
    X(ENOMEM, -1, "out of memory", "InternalFailure")                                              \
    X(EINVAL, -2, "invalid argument", "InvalidArgumentException")                                  \
    X(ENOTLEADER, -3, "not the leader of this group", "InternalFailure")                           \
    X(EBUSY, -4, "busy: a bounded queue or window is full, retry later", "LimitExceededException") \
    X(ELIMIT, -5, "a configured limit would be exceeded", "LimitExceededException")                \
    X(ENOTFOUND, -6, "not found", "ResourceNotFoundException")                                     \
    X(ESTALE, -7, "stale: the request refers to an outdated state", "InvalidArgumentException")    \
    X(ENOTCAUGHTUP, -8, "the member has not caught up with the leader's log", "InternalFailure")   \
    X(EIO, -9, "input/output error", "InternalFailure")                                            \
    X(ECORRUPT, -10, "stored data failed a consistency check", "InternalFailure")                 \
    X(EINUSE, -11, "the resource is in use or in the wrong state", "ResourceInUseException")      \
    X(EEXPIRED, -12, "the iterator has expired", "ExpiredIteratorException")                      \
    X(EVALIDATION, -13, "a field fails its constraints", "ValidationException")                   \
    X(ESERIAL, -14, "the request could not be decoded", "SerializationException")                 \
    X(ETHROTTLED, -15, "rate exceeded", "ProvisionedThroughputExceededException")                 \
    X(ETOKEN, -16, "the pagination token has expired", "ExpiredNextTokenException")              \
    X(EUNKNOWNOP, -17, "unknown operation", "UnknownOperationException")                          \
    X(ETIMEDOUT, -18, "timed out", "InternalFailure")                                             \
    X(EUNAVAILABLE, -19, "no node could be reached", "InternalFailure")

enum sl_err {
#define SL_ERR_ENUM(name, value, msg, kinesis) SL_##name = (value),
    SL_ERRORS(SL_ERR_ENUM)
#undef SL_ERR_ENUM
};

/* Human-readable message for `err` ("unknown error" for a value not in the table). Never NULL. */
const char *sl_strerror(int err);

/* Symbolic name for `err` ("ENOTLEADER"), or "EUNKNOWN". Never NULL. */
const char *sl_errname(int err);

/* Kinesis `__type` for `err` ("" for SL_OK, "InternalFailure" for unknown values). Never NULL. */
const char *sl_err_kinesis_type(int err);

#endif
