/* producer.c — the batching producer: what the KPL calls collection, in C.
 *
 * Records are copied into a per-stream open batch. A batch is sealed (moved to the send queue)
 * when the next record would push it past batch_records_max or batch_bytes_max, when it is
 * full, when its oldest record has waited linger_ms (the timer thread), or on flush. Sender
 * threads (in_flight_max of them) take sealed batches in FIFO order and send each with one
 * sluice_put_records call; the client retries the call as a whole. Entries that fail with a
 * retryable error (throttling, internal failure) go back into the queue as a smaller batch,
 * in their original relative order, due after a backoff, until attempts_max calls have
 * carried them. Every record ends in exactly one callback.
 *
 * Order per partition key. Batches of one stream may be in flight at once, so a later batch
 * could overtake an earlier one holding the same key. To keep each key's records in put order
 * (as far as PutRecords allows: within one call, a failed entry may be retried after a later
 * entry of the same key succeeded), a batch is not sent while a record with one of its keys
 * (by 64-bit hash; a collision only delays) is in flight or waiting for a retry, nor while an
 * earlier queued batch holding one of its keys is itself held back. Keys count as in flight
 * from a batch's first send until each record completes. With distinct keys nothing waits;
 * with one key for everything, batches go one at a time, in order.
 *
 * Invariants (under p->mu):
 *  - pending_bytes is the sum of `bytes` over records put and not yet completed; put waits or
 *    says EBUSY rather than take it past buffered_bytes_max (except into an empty producer).
 *  - every record not yet completed counts once in the `outstanding` of the generation it was
 *    put in; generations form a list oldest first, the last one open. flush closes the open
 *    generation and waits until it and all older ones have left the list (a generation leaves
 *    when it is not the last and its count is 0), which bounds its wait even while other
 *    threads keep putting.
 *
 *   record: put --> open batch --seal--> queue --sender--> PutRecords --ok/final error-->
 *           callback --> completed;  retryable entry error --> queue (due later)
 */
#include "internal.h"

#include "core/alloc.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define SL_SENDERS_MAX 64

struct sl_pgen {
    struct sl_pgen *next;
    uint64_t id;
    size_t outstanding;
};

struct sl_prec {
    struct sl_pgen *gen;
    uint64_t key_hash; /* FNV-1a of the partition key, never 0 */
    void *user_ctx;
    uint64_t put_us;
    size_t bytes;      /* data + partition key */
    uint32_t attempts; /* PutRecords calls that carried it */
    bool done;         /* completed by the last call (send_batch only) */
    const char *key;
    const char *ehk;
    const void *data;
    size_t data_len;
    /* then: key, NUL, explicit hash key, NUL, data */
};

struct sl_pstream;

struct sl_pbatch {
    struct sl_pbatch *next;
    struct sl_pstream *stream;
    struct sl_prec **recs; /* room for batch_records_max */
    size_t n;
    size_t bytes;
    uint64_t due_ms; /* not before (monotonic); 0: now */
    bool dispatched; /* its keys are counted in p->in_flight_keys */
};

/* A multiset of key hashes: open addressing, linear probing; a slot whose count drops to 0
 * stays until the next rehash. */
struct sl_keyset {
    uint64_t *hash; /* 0: empty slot */
    uint32_t *count;
    size_t cap;  /* power of two, or 0 */
    size_t used; /* slots with a hash, counted or not */
};

struct sl_pstream {
    struct sl_pstream *next;
    char *name;
    struct sl_pbatch *open; /* being filled, or NULL */
    uint64_t oldest_ms;     /* when `open` got its first record */
};

struct sluice_producer {
    struct sluice_client *c;
    struct sluice_producer_options o;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* senders: the queue changed, or closing */
    pthread_cond_t timer_cv; /* timer: an open batch got its first record, or closing */
    pthread_cond_t room_cv;  /* put: pending_bytes went down */
    pthread_cond_t done_cv;  /* flush: a generation left the list */
    pthread_mutex_t cb_mu;   /* one callback at a time */
    struct sl_pstream *streams;
    struct sl_pbatch *q_head, *q_tail;
    size_t pending_bytes;
    struct sl_keyset in_flight_keys;
    struct sl_pgen *gen_head, *gen_tail;
    bool closing;
    pthread_t timer;
    pthread_t senders[SL_SENDERS_MAX];
    uint32_t n_senders;
    bool timer_started;
};

static _Thread_local bool sl_in_callback;

void sluice_producer_options_init(struct sluice_producer_options *o)
{
    memset(o, 0, sizeof(*o));
    o->batch_records_max = SLUICE_PUT_RECORDS_MAX;
    o->batch_bytes_max = SLUICE_PUT_RECORDS_BYTES_MAX;
    o->linger_ms = 100;
    o->buffered_bytes_max = (size_t)64 << 20;
    o->in_flight_max = 4;
    o->attempts_max = 8;
    o->put_block_ms = 0;
}

/* ---- time ---- */

static void abs_deadline_ms(struct timespec *ts, uint64_t at_ms)
{
    ts->tv_sec = (time_t)(at_ms / 1000u);
    ts->tv_nsec = (long)(at_ms % 1000u) * 1000000L;
}

/* sl_now_ms() is CLOCK_MONOTONIC, as are the condition variables. */
static void cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t at_ms)
{
    if (at_ms == UINT64_MAX) {
        pthread_cond_wait(cv, mu);
        return;
    }
    struct timespec ts;
    abs_deadline_ms(&ts, at_ms);
    (void)pthread_cond_timedwait(cv, mu, &ts);
}

/* ---- key sets ---- */

static uint64_t key_hash(const char *key)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
        h = (h ^ *k) * UINT64_C(0x100000001b3);
    }
    return h ? h : 1;
}

static size_t keyset_slot(const struct sl_keyset *s, uint64_t h)
{
    size_t i = (size_t)(h ^ (h >> 29)) & (s->cap - 1);
    while (s->hash[i] != 0 && s->hash[i] != h) {
        i = (i + 1) & (s->cap - 1);
    }
    return i;
}

static bool keyset_has(const struct sl_keyset *s, uint64_t h)
{
    if (s->cap == 0) {
        return false;
    }
    size_t i = keyset_slot(s, h);
    return s->hash[i] == h && s->count[i] > 0;
}

/* Rehashes into at least `want` slots, dropping uncounted ones. */
static int keyset_resize(struct sl_keyset *s, size_t want)
{
    size_t cap = 64;
    while (cap < want) {
        cap *= 2;
    }
    struct sl_keyset n = {sl_calloc(cap, sizeof(uint64_t)), sl_calloc(cap, sizeof(uint32_t)), cap,
                          0};
    if (n.hash == NULL || n.count == NULL) {
        sl_free(n.hash);
        sl_free(n.count);
        return SLUICE_ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (s->hash[i] != 0 && s->count[i] > 0) {
            size_t j = keyset_slot(&n, s->hash[i]);
            n.hash[j] = s->hash[i];
            n.count[j] = s->count[i];
            n.used++;
        }
    }
    sl_free(s->hash);
    sl_free(s->count);
    *s = n;
    return 0;
}

/* Counts `h` once more. On out of memory the key is not counted: order becomes best effort. */
static void keyset_add(struct sl_keyset *s, uint64_t h)
{
    if ((s->used + 1) * 2 > s->cap && keyset_resize(s, (s->used + 1) * 4) != 0) {
        return;
    }
    size_t i = keyset_slot(s, h);
    if (s->hash[i] == 0) {
        s->hash[i] = h;
        s->count[i] = 0;
        s->used++;
    }
    s->count[i]++;
}

static void keyset_del(struct sl_keyset *s, uint64_t h)
{
    if (s->cap == 0) {
        return;
    }
    size_t i = keyset_slot(s, h);
    if (s->hash[i] == h && s->count[i] > 0) {
        s->count[i]--;
    }
}

static void keyset_free(struct sl_keyset *s)
{
    sl_free(s->hash);
    sl_free(s->count);
    memset(s, 0, sizeof(*s));
}

/* ---- batches and generations (all under p->mu) ---- */

static struct sl_pbatch *batch_new(struct sluice_producer *p, struct sl_pstream *s)
{
    struct sl_pbatch *b = sl_calloc(1, sizeof(*b));
    if (b == NULL) {
        return NULL;
    }
    b->recs = sl_calloc(p->o.batch_records_max, sizeof(*b->recs));
    if (b->recs == NULL) {
        sl_free(b);
        return NULL;
    }
    b->stream = s;
    return b;
}

static void batch_free(struct sl_pbatch *b)
{
    if (b) {
        sl_free(b->recs);
        sl_free(b);
    }
}

static void enqueue(struct sluice_producer *p, struct sl_pbatch *b)
{
    b->next = NULL;
    if (p->q_tail) {
        p->q_tail->next = b;
    } else {
        p->q_head = b;
    }
    p->q_tail = b;
    pthread_cond_signal(&p->work_cv);
}

static void seal(struct sluice_producer *p, struct sl_pstream *s)
{
    if (s->open && s->open->n > 0) {
        s->open->due_ms = 0;
        enqueue(p, s->open);
        s->open = NULL;
    }
}

static void gens_prune(struct sluice_producer *p)
{
    bool pruned = false;
    while (p->gen_head != p->gen_tail && p->gen_head->outstanding == 0) {
        struct sl_pgen *g = p->gen_head;
        p->gen_head = g->next;
        sl_free(g);
        pruned = true;
    }
    if (pruned) {
        pthread_cond_broadcast(&p->done_cv);
    }
}

static struct sl_pstream *stream_find(struct sluice_producer *p, const char *name, bool create)
{
    for (struct sl_pstream *s = p->streams; s; s = s->next) {
        if (strcmp(s->name, name) == 0) {
            return s;
        }
    }
    if (!create) {
        return NULL;
    }
    struct sl_pstream *s = sl_calloc(1, sizeof(*s));
    if (s == NULL || (s->name = sl_strdup(name)) == NULL) {
        sl_free(s);
        return NULL;
    }
    s->next = p->streams;
    p->streams = s;
    return s;
}

/* ---- put ---- */

int sluice_producer_put(struct sluice_producer *p, const char *stream,
                        const struct sluice_record_in *r, void *user_ctx)
{
    if (stream == NULL || stream[0] == '\0') {
        return sl_fail(SLUICE_EINVAL, "a stream name is required");
    }
    /* A record the server would refuse fails here, alone, rather than fail its whole batch. */
    int rc = sl_check_records(r, 1, false);
    if (rc != 0) {
        return rc;
    }
    size_t key_len = strlen(r->partition_key);
    size_t ehk_len = r->explicit_hash_key ? strlen(r->explicit_hash_key) : 0;

    struct sl_prec *rec = sl_malloc(sizeof(*rec) + key_len + 1 + ehk_len + 1 + r->data_len);
    if (rec == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory for a %zu-byte record", r->data_len);
    }
    char *tail = (char *)(rec + 1);
    memcpy(tail, r->partition_key, key_len + 1);
    rec->key = tail;
    tail += key_len + 1;
    rec->ehk = NULL;
    if (r->explicit_hash_key) {
        memcpy(tail, r->explicit_hash_key, ehk_len + 1);
        rec->ehk = tail;
    }
    tail += ehk_len + 1;
    if (r->data_len) {
        memcpy(tail, r->data, r->data_len);
    }
    rec->data = tail;
    rec->data_len = r->data_len;
    rec->bytes = r->data_len + key_len;
    rec->attempts = 0;
    rec->user_ctx = user_ctx;
    rec->put_us = sl_now_us();
    rec->key_hash = key_hash(rec->key);

    pthread_mutex_lock(&p->mu);
    if (p->closing) {
        rc = sl_fail(SLUICE_EINVAL, "the producer is closing");
        goto fail;
    }
    if (p->pending_bytes > 0 && p->pending_bytes + rec->bytes > p->o.buffered_bytes_max) {
        uint64_t until = sl_now_ms() + p->o.put_block_ms;
        while (p->pending_bytes > 0 && p->pending_bytes + rec->bytes > p->o.buffered_bytes_max) {
            if (sl_in_callback || p->o.put_block_ms == 0 || sl_now_ms() >= until || p->closing) {
                rc = sl_fail(SLUICE_EBUSY, "%zu bytes are buffered, the limit is %zu",
                             p->pending_bytes, p->o.buffered_bytes_max);
                goto fail;
            }
            cond_wait_until(&p->room_cv, &p->mu, until);
        }
    }
    struct sl_pstream *s = stream_find(p, stream, true);
    if (s == NULL) {
        rc = sl_fail(SLUICE_ENOMEM, "out of memory");
        goto fail;
    }
    if (s->open && (s->open->n + 1 > p->o.batch_records_max ||
                    s->open->bytes + rec->bytes > p->o.batch_bytes_max)) {
        seal(p, s);
    }
    if (s->open == NULL && (s->open = batch_new(p, s)) == NULL) {
        rc = sl_fail(SLUICE_ENOMEM, "out of memory");
        goto fail;
    }
    if (s->open->n == 0) {
        s->oldest_ms = sl_now_ms();
        pthread_cond_signal(&p->timer_cv);
    }
    s->open->recs[s->open->n++] = rec;
    s->open->bytes += rec->bytes;
    rec->gen = p->gen_tail;
    rec->gen->outstanding++;
    p->pending_bytes += rec->bytes;
    if (s->open->n >= p->o.batch_records_max || s->open->bytes >= p->o.batch_bytes_max) {
        seal(p, s);
    }
    pthread_mutex_unlock(&p->mu);
    return 0;

fail:
    pthread_mutex_unlock(&p->mu);
    sl_free(rec);
    return rc;
}

/* ---- sending ---- */

static void report(struct sluice_producer *p, struct sl_pbatch *b, struct sl_prec *rec, int err,
                   const char *shard_id, const char *seq, const char *error_name,
                   const char *error_message)
{
    if (p->o.callback == NULL) {
        return;
    }
    struct sluice_producer_result res = {
        .user_ctx = rec->user_ctx,
        .stream = b->stream->name,
        .partition_key = rec->key,
        .error = err,
        .shard_id = shard_id,
        .sequence_number = seq,
        .error_name = error_name,
        .error_message = error_message,
        .attempts = rec->attempts,
        .latency_us = sl_now_us() - rec->put_us,
    };
    p->o.callback(p->o.callback_arg, &res);
}

/* Sends batch `b` once; completes or requeues each of its records; frees or reuses `b`. */
static void send_batch(struct sluice_producer *p, struct sl_pbatch *b)
{
    struct sluice_record_in *in = sl_calloc(b->n, sizeof(*in));
    struct sluice_put_records_result *res = NULL;
    int rc;
    if (in == NULL) {
        rc = sl_fail(SLUICE_ENOMEM, "out of memory");
    } else {
        for (size_t i = 0; i < b->n; i++) {
            in[i].partition_key = b->recs[i]->key;
            in[i].explicit_hash_key = b->recs[i]->ehk;
            in[i].data = b->recs[i]->data;
            in[i].data_len = b->recs[i]->data_len;
            b->recs[i]->attempts++;
        }
        rc = sluice_put_records(p->c, b->stream->name, in, b->n, &res);
    }
    sl_free(in);

    /* Outcomes, in batch order. Completion needs p->mu, which is never held around callbacks,
     * so records are marked here and accounted for below. */
    uint32_t attempts = 0;
    size_t done_bytes = 0;
    pthread_mutex_lock(&p->cb_mu);
    sl_in_callback = true;
    for (size_t i = 0; i < b->n; i++) {
        struct sl_prec *rec = b->recs[i];
        const struct sluice_put_records_entry *e = res ? &res->records[i] : NULL;
        int err = e ? e->error : rc;
        rec->done = !(e && err != 0 && sl_retryable(err) && rec->attempts < p->o.attempts_max);
        if (!rec->done) {
            attempts = rec->attempts > attempts ? rec->attempts : attempts;
            continue;
        }
        done_bytes += rec->bytes;
        if (err == 0) {
            report(p, b, rec, 0, e->shard_id, e->sequence_number, NULL, NULL);
        } else if (e) {
            report(p, b, rec, err, NULL, NULL, e->error_code, e->error_message);
        } else {
            report(p, b, rec, err, NULL, NULL, sluice_errname(err), sluice_errmsg());
        }
    }
    sl_in_callback = false;
    pthread_mutex_unlock(&p->cb_mu);
    sluice_put_records_result_free(res);

    /* Records to retry keep their relative order at the front of b->recs. */
    pthread_mutex_lock(&p->mu);
    size_t kept = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct sl_prec *rec = b->recs[i];
        if (rec->done) {
            rec->gen->outstanding--;
            keyset_del(&p->in_flight_keys, rec->key_hash);
            sl_free(rec);
        } else {
            b->recs[kept++] = rec;
        }
    }
    p->pending_bytes -= done_bytes;
    b->n = kept;
    if (done_bytes > 0) {
        pthread_cond_broadcast(&p->room_cv);
        pthread_cond_broadcast(&p->work_cv); /* batches held back by these keys may go */
    }
    gens_prune(p);
    if (kept > 0) {
        b->bytes = 0;
        for (size_t i = 0; i < kept; i++) {
            b->bytes += b->recs[i]->bytes;
        }
        uint32_t pause = sl_backoff_ms(p->c->opt.backoff_base_ms, p->c->opt.backoff_max_ms,
                                       attempts - 1, sl_client_random(p->c));
        b->due_ms = sl_now_ms() + pause;
        enqueue(p, b);
        b = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    batch_free(b);
}

/* True when batch `b` may not go yet because of a key in flight or held back by an earlier
 * queued batch (`held`, keys of the batches held back so far in this scan). */
static bool held_back(struct sluice_producer *p, const struct sl_pbatch *b,
                      const struct sl_keyset *held)
{
    if (b->dispatched) {
        return false; /* a retry: its keys are its own */
    }
    for (size_t i = 0; i < b->n; i++) {
        uint64_t h = b->recs[i]->key_hash;
        if (keyset_has(&p->in_flight_keys, h) || keyset_has(held, h)) {
            return true;
        }
    }
    return false;
}

/* Removes and returns the first batch that may go now, or NULL with `*next_due` set to when a
 * waiting retry becomes due. Caller holds p->mu. */
static struct sl_pbatch *take_batch(struct sluice_producer *p, uint64_t *next_due)
{
    uint64_t now = sl_now_ms();
    struct sl_keyset held = {0};
    struct sl_pbatch *prev = NULL, *b = p->q_head;
    *next_due = UINT64_MAX;
    for (; b; prev = b, b = b->next) {
        if (b->due_ms > now) {
            *next_due = b->due_ms < *next_due ? b->due_ms : *next_due;
            continue; /* a retry: its keys are counted in flight already */
        }
        if (!held_back(p, b, &held)) {
            break;
        }
        for (size_t i = 0; i < b->n; i++) {
            keyset_add(&held, b->recs[i]->key_hash);
        }
    }
    keyset_free(&held);
    if (b == NULL) {
        return NULL;
    }
    if (prev) {
        prev->next = b->next;
    } else {
        p->q_head = b->next;
    }
    if (p->q_tail == b) {
        p->q_tail = prev;
    }
    if (!b->dispatched) {
        b->dispatched = true;
        for (size_t i = 0; i < b->n; i++) {
            keyset_add(&p->in_flight_keys, b->recs[i]->key_hash);
        }
    }
    return b;
}

static void *sender_main(void *arg)
{
    struct sluice_producer *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        uint64_t next_due;
        struct sl_pbatch *b = take_batch(p, &next_due);
        if (b) {
            pthread_mutex_unlock(&p->mu);
            send_batch(p, b);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (p->closing && p->q_head == NULL) {
            break;
        }
        cond_wait_until(&p->work_cv, &p->mu, next_due);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void *timer_main(void *arg)
{
    struct sluice_producer *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->closing) {
        uint64_t now = sl_now_ms();
        uint64_t next = UINT64_MAX;
        for (struct sl_pstream *s = p->streams; s; s = s->next) {
            if (s->open == NULL || s->open->n == 0) {
                continue;
            }
            uint64_t at = s->oldest_ms + p->o.linger_ms;
            if (at <= now) {
                seal(p, s);
            } else if (at < next) {
                next = at;
            }
        }
        cond_wait_until(&p->timer_cv, &p->mu, next);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- life cycle ---- */

static void producer_free(struct sluice_producer *p)
{
    while (p->streams) {
        struct sl_pstream *s = p->streams;
        p->streams = s->next;
        batch_free(s->open);
        sl_free(s->name);
        sl_free(s);
    }
    while (p->gen_head) {
        struct sl_pgen *g = p->gen_head;
        p->gen_head = g->next;
        sl_free(g);
    }
    keyset_free(&p->in_flight_keys);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->timer_cv);
    pthread_cond_destroy(&p->room_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->cb_mu);
    pthread_mutex_destroy(&p->mu);
    sl_free(p);
}

static void stop_threads(struct sluice_producer *p)
{
    pthread_mutex_lock(&p->mu);
    for (struct sl_pstream *s = p->streams; s; s = s->next) {
        seal(p, s); /* the senders drain the queue before they stop */
    }
    p->closing = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_cond_broadcast(&p->timer_cv);
    pthread_cond_broadcast(&p->room_cv);
    pthread_mutex_unlock(&p->mu);
    if (p->timer_started) {
        pthread_join(p->timer, NULL);
    }
    for (uint32_t i = 0; i < p->n_senders; i++) {
        pthread_join(p->senders[i], NULL);
    }
}

int sluice_producer_new(struct sluice_client *c, const struct sluice_producer_options *options,
                        struct sluice_producer **out)
{
    *out = NULL;
    struct sluice_producer *p = sl_calloc(1, sizeof(*p));
    if (p == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    p->c = c;
    if (options) {
        p->o = *options;
    } else {
        sluice_producer_options_init(&p->o);
    }
    struct sluice_producer_options *o = &p->o;
    if (o->batch_records_max == 0 || o->batch_records_max > SLUICE_PUT_RECORDS_MAX) {
        o->batch_records_max = SLUICE_PUT_RECORDS_MAX;
    }
    if (o->batch_bytes_max == 0 || o->batch_bytes_max > SLUICE_PUT_RECORDS_BYTES_MAX) {
        o->batch_bytes_max = SLUICE_PUT_RECORDS_BYTES_MAX;
    }
    if (o->buffered_bytes_max == 0) {
        o->buffered_bytes_max = (size_t)64 << 20;
    }
    if (o->in_flight_max == 0) {
        o->in_flight_max = 1;
    }
    if (o->in_flight_max > SL_SENDERS_MAX) {
        o->in_flight_max = SL_SENDERS_MAX;
    }
    if (o->attempts_max == 0) {
        o->attempts_max = 1;
    }

    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->cb_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->work_cv, &ca);
    pthread_cond_init(&p->timer_cv, &ca);
    pthread_cond_init(&p->room_cv, &ca);
    pthread_cond_init(&p->done_cv, &ca);
    pthread_condattr_destroy(&ca);

    p->gen_head = p->gen_tail = sl_calloc(1, sizeof(*p->gen_head));
    if (p->gen_head == NULL) {
        producer_free(p);
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    int err = pthread_create(&p->timer, NULL, timer_main, p);
    p->timer_started = err == 0;
    for (uint32_t i = 0; err == 0 && i < o->in_flight_max; i++) {
        err = pthread_create(&p->senders[i], NULL, sender_main, p);
        if (err == 0) {
            p->n_senders++;
        }
    }
    if (err != 0) {
        stop_threads(p);
        producer_free(p);
        return sl_fail(err == ENOMEM || err == EAGAIN ? SLUICE_ENOMEM : SLUICE_EIO,
                       "cannot start the producer's threads: %s", strerror(err));
    }
    *out = p;
    return 0;
}

int sluice_producer_flush(struct sluice_producer *p)
{
    if (sl_in_callback) {
        return sl_fail(SLUICE_EINVAL, "sluice_producer_flush called from a producer callback");
    }
    struct sl_pgen *g = sl_calloc(1, sizeof(*g));
    if (g == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&p->mu);
    uint64_t mine = p->gen_tail->id;
    g->id = mine + 1;
    p->gen_tail->next = g;
    p->gen_tail = g;
    for (struct sl_pstream *s = p->streams; s; s = s->next) {
        seal(p, s);
    }
    gens_prune(p);
    while (p->gen_head->id <= mine) {
        pthread_cond_wait(&p->done_cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int sluice_producer_close(struct sluice_producer *p)
{
    if (p == NULL) {
        return 0;
    }
    int rc = sluice_producer_flush(p);
    stop_threads(p);
    /* A failed flush (out of memory) may leave batches behind: complete them as failed. */
    while (p->q_head) {
        struct sl_pbatch *b = p->q_head;
        p->q_head = b->next;
        for (size_t i = 0; i < b->n; i++) {
            sl_free(b->recs[i]);
        }
        batch_free(b);
    }
    for (struct sl_pstream *s = p->streams; s; s = s->next) {
        if (s->open) {
            for (size_t i = 0; i < s->open->n; i++) {
                sl_free(s->open->recs[i]);
            }
        }
    }
    producer_free(p);
    return rc;
}
