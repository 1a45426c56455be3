/* sluice-bench.c — throughput and latency of a sluice cluster, measured through libsluice.
 *
 *   sluice-bench put  direct PutRecords (or PutRecord with --batch 1) from --concurrency
 *                     threads, or the producer (--producer, --concurrency requests in flight);
 *                     optional --rate cap in records/s, for latency at a given load
 *   sluice-bench get  reads every shard of a stream from TRIM_HORIZON to its end with
 *                     GetRecords, one reader thread per shard up to --concurrency
 *
 * With --kinesis URL, put goes through a Kinesis HTTP/JSON endpoint instead (sluiced's
 * --http-listen, or any Kinesis emulator), one keep-alive HTTP/1.1 connection per thread, so
 * that the same load can be compared between endpoints.
 *
 * Prints one JSON object of results on stdout and a human summary on stderr. Every loop ends
 * by --duration-s (the producer's final flush is bounded by the client's retry budget). MB are
 * 10^6 bytes of record data (keys not counted). Latency is per call (per record with
 * --producer: from put to acknowledgement), measured from the call's start, not from its slot
 * in the --rate schedule.
 */
#include "../cli/tool.h"
#include "kinesis_http.h"
#include "sluice/sluice.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    O_HELP = 'h',
    O_NODES = 1000,
    O_STREAM,
    O_CREATE,
    O_SHARDS,
    O_RECORD_BYTES,
    O_DURATION,
    O_CONCURRENCY,
    O_BATCH,
    O_RATE,
    O_PRODUCER,
    O_LIMIT,
    O_TIMEOUT,
    O_KINESIS,
};

static const struct tool_opt opts[] = {
    {"nodes", true, O_NODES},
    {"stream", true, O_STREAM},
    {"create", false, O_CREATE},
    {"shards", true, O_SHARDS},
    {"record-bytes", true, O_RECORD_BYTES},
    {"duration-s", true, O_DURATION},
    {"concurrency", true, O_CONCURRENCY},
    {"batch", true, O_BATCH},
    {"rate", true, O_RATE},
    {"producer", false, O_PRODUCER},
    {"limit", true, O_LIMIT},
    {"timeout-ms", true, O_TIMEOUT},
    {"kinesis", true, O_KINESIS},
    {NULL, false, 0},
};

static const char usage[] =
    "usage: sluice-bench put|get [OPTIONS]\n"
    "\n"
    "  --nodes ADDR[,ADDR...]  cluster (default: $SLUICE_NODES, else tcp://127.0.0.1:4510)\n"
    "  --stream NAME           stream to use (required unless --create)\n"
    "  --create                put: create the stream first (--shards N, default 1) and\n"
    "                          delete it at the end\n"
    "  --duration-s N          how long to run (default 10)\n"
    "  --concurrency N         put: threads (or producer requests in flight); get: reader\n"
    "                          threads (default 4)\n"
    "put:\n"
    "  --record-bytes N        data bytes per record (default 100)\n"
    "  --batch N               records per PutRecords; 1 uses PutRecord (default 500)\n"
    "  --rate N                records/s cap over all threads; 0 = unlimited (default 0)\n"
    "  --producer              put through the batching producer\n"
    "  --kinesis URL           put through a Kinesis HTTP/JSON endpoint (http://IPv4:PORT)\n"
    "                          instead of libsluice: sluiced's --http-listen, or another\n"
    "                          Kinesis implementation to compare with\n"
    "get:\n"
    "  --limit N               records per GetRecords (default 10000)\n"
    "\n"
    "  --timeout-ms N          per-request timeout (default 10000)\n"
    "Results: one JSON line on stdout; a summary on stderr.\n";

struct bench {
    struct sluice_client *c;
    const char *kinesis; /* --kinesis endpoint, or NULL */
    const char *stream;
    uint64_t record_bytes, duration_s, concurrency, batch, rate, limit, shards;
    bool producer;
    uint64_t start_us, deadline_us;
    /* --rate: the next free send slot, in microseconds on the monotonic clock */
    pthread_mutex_t rate_mu;
    double next_slot_us;
    /* totals, merged under mu */
    pthread_mutex_t mu;
    struct tool_hist hist;
    uint64_t records, failed, bytes, calls, call_errors;
    int first_error;
    char first_msg[512];
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    nanosleep(&ts, NULL);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Waits for the slot of `n` records under --rate; false when it lies past the deadline. */
static bool rate_wait(struct bench *b, uint64_t n)
{
    if (b->rate == 0) {
        return true;
    }
    pthread_mutex_lock(&b->rate_mu);
    double now = (double)now_us();
    /* At most 2 ms of idle time is banked: a late sender gets no burst to catch up with. */
    if (b->next_slot_us < now - 2000.0) {
        b->next_slot_us = now - 2000.0;
    }
    double slot = b->next_slot_us;
    b->next_slot_us += (double)n * 1e6 / (double)b->rate;
    pthread_mutex_unlock(&b->rate_mu);
    if (slot >= (double)b->deadline_us) {
        return false;
    }
    if (slot > now) {
        sleep_us((uint64_t)(slot - now));
    }
    return true;
}

static void note_error(struct bench *b, int rc, const char *msg)
{
    pthread_mutex_lock(&b->mu);
    if (b->first_error == 0) {
        b->first_error = rc;
        snprintf(b->first_msg, sizeof(b->first_msg), "%s", msg);
    }
    pthread_mutex_unlock(&b->mu);
}

/* Adds one put thread's counts and latencies to the run's. */
static void merge_totals(struct bench *b, const struct tool_hist *h, uint64_t records,
                         uint64_t failed, uint64_t calls, uint64_t errors)
{
    pthread_mutex_lock(&b->mu);
    tool_hist_merge(&b->hist, h);
    b->records += records;
    b->failed += failed;
    b->bytes += records * b->record_bytes;
    b->calls += calls;
    b->call_errors += errors;
    pthread_mutex_unlock(&b->mu);
}

/* ---- put: direct calls ---- */

static void *put_worker(void *arg)
{
    struct bench *b = arg;
    uint64_t seed = now_us() ^ (uint64_t)(uintptr_t)&seed;
    size_t n = (size_t)b->batch;
    unsigned char *data = malloc(b->record_bytes ? b->record_bytes : 1);
    struct sluice_record_in *recs = calloc(n, sizeof(*recs));
    char(*keys)[24] = calloc(n, sizeof(*keys));
    struct tool_hist *h = calloc(1, sizeof(*h));
    if (!data || !recs || !keys || !h) {
        fputs("sluice-bench: out of memory\n", stderr);
        exit(1);
    }
    for (size_t i = 0; i < b->record_bytes; i++) {
        data[i] = (unsigned char)('a' + xorshift(&seed) % 26);
    }
    uint64_t records = 0, failed = 0, calls = 0, errors = 0;
    while (now_us() < b->deadline_us) {
        if (!rate_wait(b, n)) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            snprintf(keys[i], sizeof(keys[i]), "k%016llx", (unsigned long long)xorshift(&seed));
            recs[i] = (struct sluice_record_in){keys[i], NULL, data, (size_t)b->record_bytes};
        }
        uint64_t t0 = now_us();
        int rc;
        uint64_t bad = 0;
        if (n == 1) {
            struct sluice_put_record_result res;
            rc = sluice_put_record(b->c, b->stream, &recs[0], NULL, &res);
        } else {
            struct sluice_put_records_result *res = NULL;
            rc = sluice_put_records(b->c, b->stream, recs, n, &res);
            if (rc == 0) {
                bad = res->failed_record_count;
                if (bad) {
                    for (size_t i = 0; i < res->n_records; i++) {
                        if (res->records[i].error) {
                            note_error(b, res->records[i].error, res->records[i].error_message);
                            break;
                        }
                    }
                }
            }
            sluice_put_records_result_free(res);
        }
        tool_hist_add(h, now_us() - t0);
        calls++;
        if (rc != 0) {
            errors++;
            failed += n;
            note_error(b, rc, sluice_errmsg());
        } else {
            records += n - bad;
            failed += bad;
        }
    }
    merge_totals(b, h, records, failed, calls, errors);
    free(data);
    free(recs);
    free(keys);
    free(h);
    return NULL;
}

/* ---- put: through a Kinesis HTTP endpoint ---- */

/* Calls `op` with `body`; the HTTP status, -1 on a broken connection. Errors are noted. */
static int kinesis_call(struct bench *b, struct kh_conn *c, const char *op,
                        const struct tool_buf *body, const char **answer)
{
    size_t len;
    int status = kh_call(c, op, body->p, body->len, answer, &len);
    if (status != 200) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s: HTTP %d: %.400s", op, status,
                 status < 0 ? "connection failed" : *answer);
        note_error(b, SLUICE_EIO, msg);
    }
    return status;
}

static void *put_worker_kinesis(void *arg)
{
    struct bench *b = arg;
    uint64_t seed = now_us() ^ (uint64_t)(uintptr_t)&seed;
    size_t n = (size_t)b->batch;
    unsigned char *data = malloc(b->record_bytes ? b->record_bytes : 1);
    struct tool_hist *h = calloc(1, sizeof(*h));
    struct kh_conn *c = kh_connect(b->kinesis);
    if (!data || !h || !c) {
        fputs("sluice-bench: out of memory or a bad --kinesis\n", stderr);
        exit(1);
    }
    for (size_t i = 0; i < b->record_bytes; i++) {
        data[i] = (unsigned char)('a' + xorshift(&seed) % 26);
    }
    struct tool_buf b64 = {0}, body = {0};
    tool_buf_base64(&b64, data, (size_t)b->record_bytes);
    uint64_t records = 0, failed = 0, calls = 0, errors = 0;
    while (now_us() < b->deadline_us) {
        if (!rate_wait(b, n)) {
            break;
        }
        body.len = 0;
        tool_buf_str(&body, "{\"StreamName\":");
        tool_buf_json_str(&body, b->stream, strlen(b->stream));
        if (n == 1) {
            tool_buf_printf(&body, ",\"PartitionKey\":\"k%016llx\",\"Data\":\"",
                            (unsigned long long)xorshift(&seed));
            tool_buf_add(&body, b64.p, b64.len);
            tool_buf_str(&body, "\"}");
        } else {
            tool_buf_str(&body, ",\"Records\":[");
            for (size_t i = 0; i < n; i++) {
                tool_buf_printf(&body, "%s{\"PartitionKey\":\"k%016llx\",\"Data\":\"", i ? "," : "",
                                (unsigned long long)xorshift(&seed));
                tool_buf_add(&body, b64.p, b64.len);
                tool_buf_str(&body, "\"}");
            }
            tool_buf_str(&body, "]}");
        }
        uint64_t t0 = now_us();
        const char *answer;
        int status = kinesis_call(b, c, n == 1 ? "PutRecord" : "PutRecords", &body, &answer);
        tool_hist_add(h, now_us() - t0);
        calls++;
        uint64_t bad = 0;
        if (status == 200 && n > 1) {
            const char *f = strstr(answer, "\"FailedRecordCount\":");
            bad = f ? strtoull(f + 20, NULL, 10) : n;
            if (bad) {
                note_error(b, SLUICE_EIO, answer);
            }
        }
        if (status != 200) {
            errors++;
            failed += n;
        } else {
            records += n - bad;
            failed += bad;
        }
    }
    merge_totals(b, h, records, failed, calls, errors);
    tool_buf_free(&b64);
    tool_buf_free(&body);
    kh_close(c);
    free(data);
    free(h);
    return NULL;
}

/* Polls DescribeStreamSummary until the stream is ACTIVE (`gone` false) or not found. */
static int kinesis_wait(struct bench *b, struct kh_conn *c, bool gone)
{
    struct tool_buf body = {0};
    tool_buf_str(&body, "{\"StreamName\":");
    tool_buf_json_str(&body, b->stream, strlen(b->stream));
    tool_buf_str(&body, "}");
    int rc = SLUICE_ETIMEDOUT;
    for (int i = 0; i < 1200; i++) {
        const char *answer;
        size_t len;
        int status = kh_call(c, "DescribeStreamSummary", body.p, body.len, &answer, &len);
        if (gone ? (status == 400 && strstr(answer, "ResourceNotFoundException"))
                 : (status == 200 && strstr(answer, "\"StreamStatus\":\"ACTIVE\""))) {
            rc = 0;
            break;
        }
        sleep_us(100000);
    }
    tool_buf_free(&body);
    return rc;
}

static int kinesis_create(struct bench *b, bool create)
{
    struct kh_conn *c = kh_connect(b->kinesis);
    if (!c) {
        return SLUICE_EINVAL;
    }
    struct tool_buf body = {0};
    tool_buf_str(&body, "{\"StreamName\":");
    tool_buf_json_str(&body, b->stream, strlen(b->stream));
    tool_buf_printf(&body, create ? ",\"ShardCount\":%llu}" : "}", (unsigned long long)b->shards);
    const char *answer;
    int rc = kinesis_call(b, c, create ? "CreateStream" : "DeleteStream", &body, &answer) == 200
                 ? kinesis_wait(b, c, !create)
                 : SLUICE_EIO;
    tool_buf_free(&body);
    kh_close(c);
    return rc;
}

/* ---- put: producer ---- */

static void producer_done(void *arg, const struct sluice_producer_result *r)
{
    struct bench *b = arg; /* callbacks never run two at a time */
    tool_hist_add(&b->hist, r->latency_us);
    if (r->error == 0) {
        b->records++;
        b->bytes += b->record_bytes;
    } else {
        b->failed++;
        if (b->first_error == 0) {
            b->first_error = r->error;
            snprintf(b->first_msg, sizeof(b->first_msg), "%s: %s", r->error_name, r->error_message);
        }
    }
}

static int put_producer(struct bench *b)
{
    struct sluice_producer_options po;
    sluice_producer_options_init(&po);
    po.batch_records_max = (uint32_t)b->batch;
    po.in_flight_max = (uint32_t)b->concurrency;
    po.callback = producer_done;
    po.callback_arg = b;
    struct sluice_producer *p = NULL;
    int rc = sluice_producer_new(b->c, &po, &p);
    if (rc != 0) {
        return rc;
    }
    uint64_t seed = now_us() | 1;
    unsigned char *data = malloc(b->record_bytes ? b->record_bytes : 1);
    if (data == NULL) {
        fputs("sluice-bench: out of memory\n", stderr);
        exit(1);
    }
    memset(data, 'x', b->record_bytes);
    uint64_t puts = 0;
    for (;;) {
        uint64_t now = now_us();
        if (now >= b->deadline_us || !rate_wait(b, 1)) {
            break;
        }
        char key[24];
        snprintf(key, sizeof(key), "k%016llx", (unsigned long long)xorshift(&seed));
        struct sluice_record_in r = {key, NULL, data, (size_t)b->record_bytes};
        rc = sluice_producer_put(p, b->stream, &r, NULL);
        if (rc == SLUICE_EBUSY) {
            sleep_us(1000); /* the buffer is full: that is the throughput */
            continue;
        }
        if (rc != 0) {
            note_error(b, rc, sluice_errmsg());
            break;
        }
        puts++;
    }
    free(data);
    rc = sluice_producer_close(p);
    b->calls = puts;
    return rc;
}

/* ---- get ---- */

struct get_shared {
    struct bench *b;
    const struct sluice_shard_list *shards;
    atomic_size_t next;
    atomic_size_t finished;
};

static void *get_worker(void *arg)
{
    struct get_shared *g = arg;
    struct bench *b = g->b;
    struct tool_hist *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        fputs("sluice-bench: out of memory\n", stderr);
        exit(1);
    }
    uint64_t records = 0, bytes = 0, calls = 0, errors = 0;
    for (;;) {
        size_t i = atomic_fetch_add(&g->next, 1);
        if (i >= g->shards->n_shards || now_us() >= b->deadline_us) {
            break;
        }
        struct sluice_reader_options ro = {b->stream,
                                           g->shards->shards[i].shard_id,
                                           {SLUICE_TRIM_HORIZON, NULL, 0},
                                           (uint32_t)b->limit};
        struct sluice_reader *r = NULL;
        int rc = sluice_reader_open(b->c, &ro, &r);
        if (rc != 0) {
            errors++;
            note_error(b, rc, sluice_errmsg());
            continue;
        }
        while (now_us() < b->deadline_us) {
            struct sluice_records *page = NULL;
            uint64_t t0 = now_us();
            rc = sluice_reader_next(r, &page);
            tool_hist_add(h, now_us() - t0);
            calls++;
            if (rc != 0) {
                errors++;
                note_error(b, rc, sluice_errmsg());
                break;
            }
            records += page->n_records;
            for (size_t k = 0; k < page->n_records; k++) {
                bytes += page->records[k].data_len;
            }
            bool end =
                page->at_shard_end || (page->n_records == 0 && page->millis_behind_latest == 0);
            sluice_records_free(page);
            if (end) {
                atomic_fetch_add(&g->finished, 1);
                break;
            }
        }
        sluice_reader_close(r);
    }
    pthread_mutex_lock(&b->mu);
    tool_hist_merge(&b->hist, h);
    b->records += records;
    b->bytes += bytes;
    b->calls += calls;
    b->call_errors += errors;
    pthread_mutex_unlock(&b->mu);
    free(h);
    return NULL;
}

static int run_threads(struct bench *b, void *(*fn)(void *), void *arg)
{
    pthread_t *t = calloc((size_t)b->concurrency, sizeof(*t));
    if (t == NULL) {
        return SLUICE_ENOMEM;
    }
    uint64_t started = 0;
    for (; started < b->concurrency; started++) {
        if (pthread_create(&t[started], NULL, fn, arg) != 0) {
            break;
        }
    }
    for (uint64_t i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
    }
    free(t);
    return started ? 0 : SLUICE_ENOMEM;
}

/* Prints the results: one JSON line on stdout, a summary on stderr. */
static void report(struct bench *b, bool put, const char *api, double secs, size_t finished)
{
    double rps = (double)b->records / secs;
    double mbps = (double)b->bytes / secs / 1e6;
    double p50 = (double)tool_hist_quantile(&b->hist, 0.50) / 1000.0;
    double p99 = (double)tool_hist_quantile(&b->hist, 0.99) / 1000.0;
    double p999 = (double)tool_hist_quantile(&b->hist, 0.999) / 1000.0;
    double pmax = (double)b->hist.max / 1000.0;
    struct tool_buf o = {0};
    tool_buf_printf(&o, "{\"mode\":\"%s\",\"api\":\"%s\",\"stream\":", put ? "put" : "get", api);
    tool_buf_json_str(&o, b->stream, strlen(b->stream));
    tool_buf_printf(&o, ",\"shards\":%llu,\"concurrency\":%llu", (unsigned long long)b->shards,
                    (unsigned long long)b->concurrency);
    if (put) {
        tool_buf_printf(&o, ",\"record_bytes\":%llu,\"batch\":%llu,\"rate\":%llu",
                        (unsigned long long)b->record_bytes, (unsigned long long)b->batch,
                        (unsigned long long)b->rate);
    } else {
        tool_buf_printf(&o, ",\"limit\":%llu,\"shards_read_to_end\":%zu",
                        (unsigned long long)b->limit, finished);
    }
    tool_buf_printf(&o,
                    ",\"duration_s\":%.3f,\"records\":%llu,\"failed_records\":%llu,"
                    "\"bytes\":%llu,\"calls\":%llu,\"failed_calls\":%llu,\"records_per_s\":%.1f,"
                    "\"mb_per_s\":%.3f,\"latency_ms\":{\"of\":\"%s\",\"p50\":%.3f,\"p99\":%.3f,"
                    "\"p999\":%.3f,\"max\":%.3f}",
                    secs, (unsigned long long)b->records, (unsigned long long)b->failed,
                    (unsigned long long)b->bytes, (unsigned long long)b->calls,
                    (unsigned long long)b->call_errors, rps, mbps,
                    b->producer && put ? "record" : "call", p50, p99, p999, pmax);
    if (b->first_error) {
        tool_buf_str(&o, ",\"first_error\":");
        tool_buf_json_str(&o, sluice_errname(b->first_error),
                          strlen(sluice_errname(b->first_error)));
        tool_buf_str(&o, ",\"first_error_message\":");
        tool_buf_json_str(&o, b->first_msg, strlen(b->first_msg));
    }
    tool_buf_str(&o, "}\n");
    fwrite(o.p, 1, o.len, stdout);
    fflush(stdout);
    tool_buf_free(&o);
    fprintf(stderr,
            "sluice-bench %s (%s) on %s, %llu shard(s): %llu records in %.2f s = %.0f records/s, "
            "%.2f MB/s; %llu failed records, %llu failed calls; latency per %s p50 %.2f ms, "
            "p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
            put ? "put" : "get", api, b->stream, (unsigned long long)b->shards,
            (unsigned long long)b->records, secs, rps, mbps, (unsigned long long)b->failed,
            (unsigned long long)b->call_errors, b->producer && put ? "record" : "call", p50, p99,
            p999, pmax);
    if (b->first_error) {
        fprintf(stderr, "sluice-bench: first error: %s: %s\n", sluice_errname(b->first_error),
                b->first_msg);
    }
}

/* put --kinesis: the whole run through the HTTP endpoint. */
static int put_kinesis(struct bench *b, bool create)
{
    int rc = create ? kinesis_create(b, true) : 0;
    if (rc != 0) {
        fprintf(stderr, "sluice-bench: create %s through %s failed: %s\n", b->stream, b->kinesis,
                b->first_msg[0] ? b->first_msg : "timed out waiting for ACTIVE");
        return 1;
    }
    b->start_us = now_us();
    b->deadline_us = b->start_us + b->duration_s * 1000000u;
    b->next_slot_us = (double)b->start_us;
    rc = run_threads(b, put_worker_kinesis, b);
    double secs = (double)(now_us() - b->start_us) / 1e6;
    report(b, true, b->batch == 1 ? "PutRecord" : "PutRecords", secs, 0);
    if (create && kinesis_create(b, false) != 0) {
        fprintf(stderr, "sluice-bench: delete %s through %s failed\n", b->stream, b->kinesis);
    }
    return rc != 0 ? 1 : 0;
}

/* ---- main ---- */

static int opt_num(const struct tool_args *a, int id, const char *name, uint64_t min, uint64_t max,
                   uint64_t *v)
{
    for (int i = 0; i < a->n_opts; i++) {
        if (a->opt_id[i] == id && tool_parse_u64(a->opt_val[i], min, max, v) != 0) {
            fprintf(stderr, "sluice-bench: --%s wants an integer from %llu to %llu\n", name,
                    (unsigned long long)min, (unsigned long long)max);
            return -1;
        }
    }
    return 0;
}

static const char *opt_str(const struct tool_args *a, int id)
{
    const char *v = NULL;
    for (int i = 0; i < a->n_opts; i++) {
        if (a->opt_id[i] == id) {
            v = a->opt_val[i] ? a->opt_val[i] : "";
        }
    }
    return v;
}

int main(int argc, char **argv)
{
    static struct tool_args a;
    if (argc < 2 || tool_args_parse(argc - 1, argv + 1, opts, NULL, &a) != 0) {
        if (argc >= 2) {
            fprintf(stderr, "sluice-bench: %s\n", a.err);
        }
        fputs(usage, stderr);
        return 2;
    }
    if (opt_str(&a, O_HELP)) {
        fputs(usage, stdout);
        return 0;
    }
    if (a.n_pos != 1 || (strcmp(a.pos[0], "put") != 0 && strcmp(a.pos[0], "get") != 0)) {
        fprintf(stderr, "sluice-bench: the mode is put or get\n%s", usage);
        return 2;
    }
    bool put = strcmp(a.pos[0], "put") == 0;
    static struct bench b;
    b.record_bytes = 100;
    b.duration_s = 10;
    b.concurrency = 4;
    b.batch = 500;
    b.limit = 10000;
    b.shards = 1;
    uint64_t timeout_ms = 10000;
    if (opt_num(&a, O_RECORD_BYTES, "record-bytes", 0, SLUICE_RECORD_BYTES_MAX - 20,
                &b.record_bytes) ||
        opt_num(&a, O_DURATION, "duration-s", 1, 86400, &b.duration_s) ||
        opt_num(&a, O_CONCURRENCY, "concurrency", 1, 1024, &b.concurrency) ||
        opt_num(&a, O_BATCH, "batch", 1, SLUICE_PUT_RECORDS_MAX, &b.batch) ||
        opt_num(&a, O_RATE, "rate", 0, 100000000, &b.rate) ||
        opt_num(&a, O_LIMIT, "limit", 1, SLUICE_GET_RECORDS_LIMIT_MAX, &b.limit) ||
        opt_num(&a, O_SHARDS, "shards", 1, 10000, &b.shards) ||
        opt_num(&a, O_TIMEOUT, "timeout-ms", 1, 3600000, &timeout_ms)) {
        return 2;
    }
    b.producer = opt_str(&a, O_PRODUCER) != NULL;
    b.kinesis = opt_str(&a, O_KINESIS);
    if (b.kinesis && (!put || b.producer)) {
        fputs("sluice-bench: --kinesis is for put without --producer\n", stderr);
        return 2;
    }
    bool create = opt_str(&a, O_CREATE) != NULL;
    if (b.producer && b.concurrency > 64) {
        fputs("sluice-bench: --producer takes --concurrency up to 64\n", stderr);
        return 2;
    }
    if (put && b.batch * (b.record_bytes + 17) > SLUICE_PUT_RECORDS_BYTES_MAX) {
        fprintf(stderr,
                "sluice-bench: --batch %llu of --record-bytes %llu exceeds the 5 MiB "
                "PutRecords limit\n",
                (unsigned long long)b.batch, (unsigned long long)b.record_bytes);
        return 2;
    }
    char name[64];
    b.stream = opt_str(&a, O_STREAM);
    if (b.stream == NULL) {
        if (!create || !put) {
            fputs("sluice-bench: --stream is required (or put --create)\n", stderr);
            return 2;
        }
        snprintf(name, sizeof(name), "sluice-bench-%ld-%lld", (long)getpid(),
                 (long long)time(NULL));
        b.stream = name;
    }
    if (create && !put) {
        fputs("sluice-bench: --create is for put\n", stderr);
        return 2;
    }
    pthread_mutex_init(&b.mu, NULL);
    pthread_mutex_init(&b.rate_mu, NULL);
    if (b.kinesis) {
        return put_kinesis(&b, create);
    }
    const char *nodes = opt_str(&a, O_NODES);
    if (nodes == NULL || !*nodes) {
        nodes = getenv("SLUICE_NODES");
    }
    if (nodes == NULL || !*nodes) {
        nodes = "tcp://127.0.0.1:4510";
    }
    struct sluice_options so;
    sluice_options_init(&so);
    so.request_timeout_ms = (uint32_t)timeout_ms;
    int rc = sluice_client_new(nodes, &so, &b.c);
    if (rc != 0) {
        fprintf(stderr, "sluice-bench: %s: %s\n", sluice_errname(rc), sluice_errmsg());
        return 1;
    }

    if (create) {
        rc = sluice_create_stream(b.c, b.stream, (uint32_t)b.shards, SLUICE_PROVISIONED);
        if (rc == 0) {
            rc = sluice_wait_active(b.c, b.stream, 120000);
        }
        if (rc != 0) {
            fprintf(stderr, "sluice-bench: create %s: %s: %s\n", b.stream, sluice_errname(rc),
                    sluice_errmsg());
            sluice_delete_stream(b.c, b.stream, 1);
            sluice_client_free(b.c);
            return 1;
        }
    }

    struct sluice_shard_list *shards = NULL;
    rc = sluice_list_shards(b.c, b.stream, &shards);
    if (rc != 0) {
        fprintf(stderr, "sluice-bench: %s: %s: %s\n", b.stream, sluice_errname(rc),
                sluice_errmsg());
        goto out;
    }
    b.shards = shards->n_shards;

    b.start_us = now_us();
    b.deadline_us = b.start_us + b.duration_s * 1000000u;
    b.next_slot_us = (double)b.start_us;
    struct get_shared g = {&b, shards, 0, 0};
    const char *api;
    if (put && b.producer) {
        api = "producer";
        rc = put_producer(&b);
    } else if (put) {
        api = b.batch == 1 ? "PutRecord" : "PutRecords";
        rc = run_threads(&b, put_worker, &b);
    } else {
        api = "GetRecords";
        rc = run_threads(&b, get_worker, &g);
    }
    double secs = (double)(now_us() - b.start_us) / 1e6;
    if (rc != 0) {
        fprintf(stderr, "sluice-bench: %s: %s\n", sluice_errname(rc), sluice_errmsg());
    }

    report(&b, put, api, secs, atomic_load(&g.finished));

out:
    sluice_shard_list_free(shards);
    if (create) {
        /* Waits until it is gone, so that the next run may create the name again. */
        int drc = sluice_delete_stream(b.c, b.stream, 1);
        if (drc == 0) {
            drc = sluice_wait_deleted(b.c, b.stream, 120000);
        }
        if (drc != 0) {
            fprintf(stderr, "sluice-bench: delete %s: %s: %s\n", b.stream, sluice_errname(drc),
                    sluice_errmsg());
        }
    }
    sluice_client_free(b.c);
    return rc != 0 ? 1 : 0;
}
