/* validate.c — Kinesis shape and semantic checks and their messages (see validate.h). */
#include "core/shard/validate.h"

#include "core/errors.h"
#include "core/utf8.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Appends to a fixed buffer, cutting what does not fit and keeping it NUL-terminated. */
struct writer {
    char *buf;
    size_t cap; /* bytes at buf, NUL included; 0 writes nothing at all */
    size_t len;
};

static void put_bytes(struct writer *w, const char *s, size_t n)
{
    if (w->cap == 0) {
        return;
    }
    size_t room = w->cap - 1 - w->len;
    if (n > room) {
        n = room;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void put_str(struct writer *w, const char *s)
{
    put_bytes(w, s, strlen(s));
}

/* Appends a client-supplied value: at most SL_VERR_VALUE_BYTES_MAX bytes, cut between
 * characters and followed by "..." when longer. NUL bytes (which would end the C string) and
 * bytes that are not part of valid UTF-8 (which JSON cannot carry) become '?'. */
static void put_value(struct writer *w, const char *value, size_t len)
{
    const unsigned char *p = (const unsigned char *)value;
    size_t off = 0, shown = 0;
    while (off < len) {
        size_t seq = p[off] == 0 ? 0 : sl_utf8_decode(p + off, len - off, NULL);
        size_t out = seq ? seq : 1;
        if (shown + out > SL_VERR_VALUE_BYTES_MAX) {
            break;
        }
        if (seq) {
            put_bytes(w, value + off, seq);
        } else {
            put_str(w, "?");
        }
        shown += out;
        off += out;
    }
    if (off < len) {
        put_str(w, "...");
    }
}

void sl_verr_init(struct sl_verr *v)
{
    v->n = 0;
    v->len = 0;
    v->text[0] = '\0';
}

void sl_verr_add(struct sl_verr *v, const char *field, const char *value, size_t value_len,
                 const char *constraint)
{
    if (v->n < UINT_MAX) {
        v->n++;
    }
    if (v->n > SL_VERR_KEPT_MAX) {
        return;
    }
    struct writer w = {v->text, sizeof(v->text), v->len};
    if (v->n > 1) {
        put_str(&w, "; ");
    }
    if (value) {
        put_str(&w, "Value '");
        put_value(&w, value, value_len);
        put_str(&w, "'");
    } else {
        put_str(&w, "Value null");
    }
    put_str(&w, " at '");
    put_str(&w, field);
    put_str(&w, "' failed to satisfy constraint: ");
    put_str(&w, constraint);
    v->len = w.len;
}

int sl_verr_finish(const struct sl_verr *v, char *msg, size_t msg_len)
{
    if (v->n == 0) {
        if (msg_len > 0) {
            msg[0] = '\0';
        }
        return SL_OK;
    }
    snprintf(msg, msg_len, "%u validation error%s detected: %s", v->n, v->n == 1 ? "" : "s",
             v->text);
    return SL_EVALIDATION;
}

static void add_length_min(struct sl_verr *v, const char *field, const char *s, size_t len,
                           uint64_t min)
{
    char constraint[80];
    snprintf(constraint, sizeof(constraint),
             "Member must have length greater than or equal to %" PRIu64, min);
    sl_verr_add(v, field, s, len, constraint);
}

static void add_length_max(struct sl_verr *v, const char *field, const char *s, size_t len,
                           uint64_t max)
{
    char constraint[80];
    snprintf(constraint, sizeof(constraint),
             "Member must have length less than or equal to %" PRIu64, max);
    sl_verr_add(v, field, s, len, constraint);
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* [a-zA-Z0-9_.-]+ and 1..max bytes, in that order, as Kinesis reports them. */
static bool check_name_shape(struct sl_verr *v, const char *field, const char *s, size_t len,
                             size_t max)
{
    bool ok = len >= 1;
    for (size_t i = 0; i < len && ok; i++) {
        ok = is_name_char(s[i]);
    }
    if (!ok) {
        sl_verr_add(v, field, s, len,
                    "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    }
    if (len < 1) {
        add_length_min(v, field, s, len, 1);
    }
    if (len > max) {
        add_length_max(v, field, s, len, max);
        ok = false;
    }
    return ok;
}

bool sl_check_stream_name(struct sl_verr *v, const char *field, const char *s, size_t len)
{
    return check_name_shape(v, field, s, len, SL_STREAM_NAME_MAX);
}

bool sl_check_shard_id_shape(struct sl_verr *v, const char *field, const char *s, size_t len)
{
    return check_name_shape(v, field, s, len, SL_SHARD_ID_SHAPE_MAX);
}

/* Valid UTF-8 of min..max code points. */
static bool check_chars(struct sl_verr *v, const char *field, const char *s, size_t len, size_t min,
                        size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;
    for (size_t off = 0; off < len; chars++) {
        size_t seq = sl_utf8_decode(p + off, len - off, NULL);
        if (seq == 0) {
            sl_verr_add(v, field, s, len, "Member must be valid UTF-8");
            return false;
        }
        off += seq;
    }
    if (chars < min) {
        add_length_min(v, field, s, len, min);
        return false;
    }
    if (chars > max) {
        add_length_max(v, field, s, len, max);
        return false;
    }
    return true;
}

bool sl_check_partition_key(struct sl_verr *v, const char *field, const char *s, size_t len)
{
    return check_chars(v, field, s, len, 1, SL_PARTITION_KEY_CHARS_MAX);
}

bool sl_check_tag_key(struct sl_verr *v, const char *field, const char *s, size_t len)
{
    return check_chars(v, field, s, len, 1, SL_TAG_KEY_CHARS_MAX);
}

bool sl_check_tag_value(struct sl_verr *v, const char *field, const char *s, size_t len)
{
    return check_chars(v, field, s, len, 0, SL_TAG_VALUE_CHARS_MAX);
}

bool sl_tag_text_allowed(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || strchr(" _.:/=+-@", c) != NULL;
        if (!ok || c == '\0') {
            return false;
        }
    }
    return true;
}

bool sl_tag_key_reserved(const char *s, size_t len)
{
    return len >= 4 && strncasecmp(s, "aws:", 4) == 0;
}

bool sl_check_u64_range(struct sl_verr *v, const char *field, uint64_t value, uint64_t min,
                        uint64_t max)
{
    if (value >= min && value <= max) {
        return true;
    }
    char text[24], constraint[80];
    int len = snprintf(text, sizeof(text), "%" PRIu64, value);
    if (value < min) {
        snprintf(constraint, sizeof(constraint),
                 "Member must have value greater than or equal to %" PRIu64, min);
    } else {
        snprintf(constraint, sizeof(constraint),
                 "Member must have value less than or equal to %" PRIu64, max);
    }
    sl_verr_add(v, field, text, (size_t)len, constraint);
    return false;
}

bool sl_check_data_size(struct sl_verr *v, const char *field, size_t data_len, size_t key_len)
{
    if (data_len <= SL_RECORD_BYTES_MAX && key_len <= SL_RECORD_BYTES_MAX - data_len) {
        return true;
    }
    /* What the Java service shows for a blob value. */
    char text[96];
    int len = snprintf(text, sizeof(text), "java.nio.HeapByteBuffer[pos=0 lim=%zu cap=%zu]",
                       data_len, data_len);
    add_length_max(v, field, text, (size_t)len, SL_RECORD_BYTES_MAX);
    return false;
}

/* 0|([1-9][0-9]{0,max_digits-1}) */
static bool matches_decimal(const char *s, size_t len, size_t max_digits)
{
    if (len == 0 || len > max_digits || (s[0] == '0' && len > 1)) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

bool sl_check_hash_key_shape(struct sl_verr *v, const char *field, const char *s, size_t len)
{
    if (matches_decimal(s, len, 39)) {
        return true;
    }
    sl_verr_add(v, field, s, len,
                "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
    return false;
}

bool sl_check_seqno_shape(struct sl_verr *v, const char *field, const char *s, size_t len)
{
    if (matches_decimal(s, len, 129)) {
        return true;
    }
    sl_verr_add(v, field, s, len,
                "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})");
    return false;
}

int sl_check_explicit_hash_key(const char *s, size_t len, sl_u128 *out, char *msg, size_t msg_len)
{
    if (sl_u128_parse(s, len, out) == SL_OK) {
        return SL_OK;
    }
    struct writer w = {msg, msg_len, 0};
    if (msg_len > 0) {
        msg[0] = '\0';
    }
    put_str(&w, "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                "Specified value was ");
    put_value(&w, s, len);
    return SL_EINVAL;
}

int sl_check_retention_hours(uint64_t hours, char *msg, size_t msg_len)
{
    if (hours < SL_RETENTION_HOURS_MIN) {
        snprintf(
            msg, msg_len,
            "Minimum allowed retention period is %d hours. Requested retention period (%" PRIu64
            " hours) is too short.",
            SL_RETENTION_HOURS_MIN, hours);
        return SL_EINVAL;
    }
    if (hours > SL_RETENTION_HOURS_MAX) {
        snprintf(
            msg, msg_len,
            "Maximum allowed retention period is %d hours. Requested retention period (%" PRIu64
            " hours) is too long.",
            SL_RETENTION_HOURS_MAX, hours);
        return SL_EINVAL;
    }
    return SL_OK;
}
