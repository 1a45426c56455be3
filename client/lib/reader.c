/* reader.c — a shard reader: GetShardIterator once, then GetRecords page after page.
 *
 * State: the current iterator (NULL once the end of a closed shard has been returned), the
 * sequence number of the last record handed out, and the start position. The iterator only
 * moves forward when a page has been handed to the caller, so the last record's sequence
 * number always marks exactly what the caller has seen: when an iterator expires, a new one
 * AFTER_SEQUENCE_NUMBER of it continues with nothing skipped and nothing repeated.
 *
 *   OPEN --next: page with NextShardIterator--> OPEN
 *   OPEN --next: ExpiredIterator--> (new iterator) --> OPEN
 *   OPEN --next: page without NextShardIterator--> AT_END --next--> AT_END (empty pages)
 */
#include "internal.h"

#include "core/alloc.h"

#include <string.h>

/* Fresh iterators taken within one sluice_reader_next when they keep expiring. */
#define SL_REOPENS_MAX 3

struct sluice_reader {
    struct sluice_client *c;
    char *stream;
    char *shard_id;
    struct sluice_position start;
    char *start_seq;
    uint32_t limit;
    char *iterator;
    bool at_end;
    int64_t millis_behind;
    char last_seq[SLUICE_SEQUENCE_NUMBER_MAX + 1];
};

void sluice_reader_close(struct sluice_reader *r)
{
    if (r) {
        sl_free(r->stream);
        sl_free(r->shard_id);
        sl_free(r->start_seq);
        sl_free(r->iterator);
        sl_free(r);
    }
}

/* Takes a new iterator: after the last record returned, else at the start position. */
static int reader_seek(struct sluice_reader *r)
{
    struct sluice_position pos = r->start;
    if (r->last_seq[0]) {
        pos.type = SLUICE_AFTER_SEQUENCE_NUMBER;
        pos.sequence_number = r->last_seq;
    }
    char *it = NULL;
    int rc = sl_get_shard_iterator(r->c, r->stream, r->shard_id, &pos, &it);
    if (rc != 0) {
        return rc;
    }
    sl_free(r->iterator);
    r->iterator = it;
    return 0;
}

int sluice_reader_open(struct sluice_client *c, const struct sluice_reader_options *options,
                       struct sluice_reader **out)
{
    *out = NULL;
    const struct sluice_reader_options *o = options;
    if (o == NULL || o->stream == NULL || o->shard_id == NULL) {
        return sl_fail(SLUICE_EINVAL, "a reader needs a stream and a shard id");
    }
    bool by_seq =
        o->start.type == SLUICE_AT_SEQUENCE_NUMBER || o->start.type == SLUICE_AFTER_SEQUENCE_NUMBER;
    if (by_seq && (o->start.sequence_number == NULL || o->start.sequence_number[0] == '\0')) {
        return sl_fail(SLUICE_EINVAL, "%s needs a starting sequence number",
                       sluice_iterator_type_name((int)o->start.type));
    }
    if (o->limit > SLUICE_GET_RECORDS_LIMIT_MAX) {
        return sl_fail(SLUICE_EINVAL, "limit %u is above %d", o->limit,
                       SLUICE_GET_RECORDS_LIMIT_MAX);
    }
    struct sluice_reader *r = sl_calloc(1, sizeof(*r));
    if (r == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    r->c = c;
    r->stream = sl_strdup(o->stream);
    r->shard_id = sl_strdup(o->shard_id);
    r->start = o->start;
    r->start_seq = by_seq ? sl_strdup(o->start.sequence_number) : NULL;
    r->start.sequence_number = r->start_seq;
    r->limit = o->limit;
    r->millis_behind = -1;
    if (!r->stream || !r->shard_id || (by_seq && !r->start_seq)) {
        sluice_reader_close(r);
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    int rc = reader_seek(r);
    if (rc != 0) {
        sluice_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int sluice_reader_next(struct sluice_reader *r, struct sluice_records **out)
{
    *out = NULL;
    if (r->at_end) {
        return sl_records_empty(true, 0, out);
    }
    struct sl_target t = {r->stream, r->shard_id, 0};
    struct sluice_records *page = NULL;
    int rc;
    for (int reopens = 0;; reopens++) {
        rc = sl_get_records(r->c, &t, r->iterator, r->limit, &page);
        if (rc != SLUICE_EEXPIRED || reopens >= SL_REOPENS_MAX) {
            break;
        }
        if ((rc = reader_seek(r)) != 0) {
            return rc;
        }
    }
    if (rc != 0) {
        return rc;
    }
    char *next = NULL;
    if (page->next_shard_iterator) {
        next = sl_strdup(page->next_shard_iterator);
        if (next == NULL) {
            sluice_records_free(page);
            return sl_fail(SLUICE_ENOMEM, "out of memory");
        }
    }
    if (page->n_records > 0) {
        const char *seq = page->records[page->n_records - 1].sequence_number;
        if (strlen(seq) > SLUICE_SEQUENCE_NUMBER_MAX) {
            sl_free(next);
            sluice_records_free(page);
            return sl_fail(SLUICE_EIO, "GetRecords: overlong sequence number in the answer");
        }
        strcpy(r->last_seq, seq);
    }
    sl_free(r->iterator);
    r->iterator = next;
    r->at_end = next == NULL;
    r->millis_behind = page->millis_behind_latest;
    *out = page;
    return 0;
}

int sluice_reader_at_end(const struct sluice_reader *r)
{
    return r->at_end;
}

int64_t sluice_reader_millis_behind(const struct sluice_reader *r)
{
    return r->millis_behind;
}

const char *sluice_reader_last_sequence_number(const struct sluice_reader *r)
{
    return r->last_seq;
}
