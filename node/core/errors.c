/* errors.c — lookups generated from the SL_ERRORS table. */
#include "core/errors.h"

#include <stddef.h>

struct sl_err_row {
    int code;
    const char *name;
    const char *msg;
    const char *kinesis;
};

static const struct sl_err_row sl_err_rows[] = {
#define SL_ERR_ROW(name, value, msg, kinesis) {(value), #name, (msg), (kinesis)},
    SL_ERRORS(SL_ERR_ROW)
#undef SL_ERR_ROW
};

static const struct sl_err_row *sl_err_find(int err)
{
    for (size_t i = 0; i < sizeof(sl_err_rows) / sizeof(sl_err_rows[0]); i++) {
        if (sl_err_rows[i].code == err) {
            return &sl_err_rows[i];
        }
    }
    return NULL;
}

const char *sl_strerror(int err)
{
    const struct sl_err_row *row = sl_err_find(err);
    return row ? row->msg : "unknown error";
}

const char *sl_errname(int err)
{
    const struct sl_err_row *row = sl_err_find(err);
    return row ? row->name : "EUNKNOWN";
}

const char *sl_err_kinesis_type(int err)
{
    const struct sl_err_row *row = sl_err_find(err);
    return row ? row->kinesis : "InternalFailure";
}
