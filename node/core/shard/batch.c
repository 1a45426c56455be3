/* batch.c — encoding and checked decoding of record batches (see batch.h). */
#include "core/shard/batch.h"

#include "core/assert.h"
#include "core/crc32c.h"
#include "core/errors.h"

#include <string.h>

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

size_t sl_batch_size(const struct sl_batch_record *r, size_t n)
{
    size_t size = SL_BATCH_HEADER_BYTES + SL_BATCH_TRAILER_BYTES;
    for (size_t i = 0; i < n; i++) {
        size += SL_BATCH_RECORD_HEADER_BYTES + (size_t)r[i].key_len + (size_t)r[i].data_len;
    }
    return size;
}

void sl_batch_encode(void *out, size_t out_len, uint64_t arrival_ms,
                     const struct sl_batch_record *r, size_t n)
{
    SL_ASSERT(n >= 1 && n <= SL_BATCH_RECORDS_MAX);
    SL_ASSERT(out_len == sl_batch_size(r, n));
    uint8_t *p = out;
    p[0] = SL_BATCH_VERSION;
    p[1] = SL_BATCH_KIND_RECORDS;
    put_be16(p + 2, 0);
    put_be32(p + 4, (uint32_t)n);
    put_be64(p + 8, arrival_ms);
    size_t off = SL_BATCH_HEADER_BYTES;
    for (size_t i = 0; i < n; i++) {
        SL_ASSERT(r[i].key_len >= 1 && r[i].key_len <= SL_BATCH_KEY_BYTES_MAX);
        SL_ASSERT(r[i].data != NULL || r[i].data_len == 0);
        put_be16(p + off, r[i].key_len);
        put_be32(p + off + 2, r[i].data_len);
        off += SL_BATCH_RECORD_HEADER_BYTES;
        memcpy(p + off, r[i].key, r[i].key_len);
        off += r[i].key_len;
        if (r[i].data_len > 0) {
            memcpy(p + off, r[i].data, r[i].data_len);
            off += r[i].data_len;
        }
    }
    SL_ASSERT(off + SL_BATCH_TRAILER_BYTES == out_len);
    put_be32(p + off, sl_crc32c(0, p, off));
}

/* The header checks sl_batch_peek and sl_batch_open share. */
static int check_header(const uint8_t *p, size_t len)
{
    if (len < SL_BATCH_HEADER_BYTES + SL_BATCH_TRAILER_BYTES || p[0] != SL_BATCH_VERSION ||
        p[1] != SL_BATCH_KIND_RECORDS || get_be16(p + 2) != 0) {
        return SL_ECORRUPT;
    }
    uint32_t count = get_be32(p + 4);
    if (count < 1 || count > SL_BATCH_RECORDS_MAX) {
        return SL_ECORRUPT;
    }
    return SL_OK;
}

int sl_batch_peek(const void *payload, size_t len, uint32_t *count, uint64_t *arrival_ms)
{
    const uint8_t *p = payload;
    int rc = check_header(p, len);
    if (rc != SL_OK) {
        return rc;
    }
    *count = get_be32(p + 4);
    *arrival_ms = get_be64(p + 8);
    return SL_OK;
}

int sl_batch_open(struct sl_batch_reader *rd, const void *payload, size_t len)
{
    const uint8_t *p = payload;
    int rc = check_header(p, len);
    if (rc != SL_OK) {
        return rc;
    }
    size_t body_end = len - SL_BATCH_TRAILER_BYTES;
    if (sl_crc32c(0, p, body_end) != get_be32(p + body_end)) {
        return SL_ECORRUPT;
    }
    /* Walk every record now so that sl_batch_next can trust the lengths. Comparisons are
     * against the bytes left, so no sum can overflow. */
    uint32_t count = get_be32(p + 4);
    size_t off = SL_BATCH_HEADER_BYTES;
    for (uint32_t i = 0; i < count; i++) {
        if (body_end - off < SL_BATCH_RECORD_HEADER_BYTES) {
            return SL_ECORRUPT;
        }
        size_t key_len = get_be16(p + off);
        size_t data_len = get_be32(p + off + 2);
        off += SL_BATCH_RECORD_HEADER_BYTES;
        if (key_len < 1 || key_len > SL_BATCH_KEY_BYTES_MAX || body_end - off < key_len ||
            body_end - off - key_len < data_len) {
            return SL_ECORRUPT;
        }
        off += key_len + data_len;
    }
    if (off != body_end) {
        return SL_ECORRUPT;
    }
    rd->payload = p;
    rd->off = SL_BATCH_HEADER_BYTES;
    rd->count = count;
    rd->next = 0;
    rd->arrival_ms = get_be64(p + 8);
    return SL_OK;
}

bool sl_batch_next(struct sl_batch_reader *rd, struct sl_batch_record *out)
{
    if (rd->next == rd->count) {
        return false;
    }
    const uint8_t *p = rd->payload + rd->off;
    out->key_len = get_be16(p);
    out->data_len = get_be32(p + 2);
    out->key = (const char *)(p + SL_BATCH_RECORD_HEADER_BYTES);
    out->data = p + SL_BATCH_RECORD_HEADER_BYTES + out->key_len;
    rd->off += SL_BATCH_RECORD_HEADER_BYTES + (size_t)out->key_len + out->data_len;
    rd->next++;
    return true;
}

uint32_t sl_batch_count(const struct sl_batch_reader *rd)
{
    return rd->count;
}

uint64_t sl_batch_arrival_ms(const struct sl_batch_reader *rd)
{
    return rd->arrival_ms;
}

bool sl_batch_entry_arrival(const struct sl_raft_entry *e, uint64_t *arrival_ms)
{
    uint32_t count;
    return e->type == SL_RAFT_ENTRY_NORMAL && e->data &&
           sl_batch_peek(e->data->data, e->data->len, &count, arrival_ms) == 0;
}
