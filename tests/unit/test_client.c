/* test_client.c — libsluice and the tools' helpers, without a real server.
 *
 * The tool helpers (argument parsing, times, JSON, base64, histograms) and routing over a
 * cached shard list are pure. The rest runs the client against mock servers: NNG rep0 sockets
 * on inproc:// addresses, each answering from a test-supplied handler on its own thread, so
 * retries, leader hints, timeouts, the producer's per-entry retries and the reader's iterator
 * renewal are checked request by request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "internal.h"
#include "sluice/sluice.h"
#include "tool.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tool helpers ---- */

enum { T_KEY = 1, T_FOLLOW, T_NODES };

static const struct tool_opt t_global[] = {{"nodes", true, T_NODES}, {NULL, false, 0}};
static const struct tool_opt t_cmd[] = {
    {"key", true, T_KEY}, {"follow", false, T_FOLLOW}, {NULL, false, 0}};

static void test_args_accept_both_value_forms_and_double_dash(void **state)
{
    (void)state;
    char *argv[] = {"s1", "--key", "k", "--nodes=tcp://x:1", "--follow", "--", "--data", "-"};
    struct tool_args a;
    assert_int_equal(tool_args_parse(8, argv, t_global, t_cmd, &a), 0);
    assert_int_equal(a.n_opts, 3);
    assert_int_equal(a.opt_id[0], T_KEY);
    assert_string_equal(a.opt_val[0], "k");
    assert_int_equal(a.opt_id[1], T_NODES);
    assert_string_equal(a.opt_val[1], "tcp://x:1");
    assert_int_equal(a.opt_id[2], T_FOLLOW);
    assert_null(a.opt_val[2]);
    assert_int_equal(a.n_pos, 3);
    assert_string_equal(a.pos[0], "s1");
    assert_string_equal(a.pos[1], "--data");
    assert_string_equal(a.pos[2], "-");
}

static void test_args_reject_unknown_missing_and_extra_values(void **state)
{
    (void)state;
    struct tool_args a;
    char *unknown[] = {"--kye", "k"};
    assert_int_equal(tool_args_parse(2, unknown, t_global, t_cmd, &a), -1);
    assert_string_equal(a.err, "unknown option '--kye'");
    char *missing[] = {"s", "--key"};
    assert_int_equal(tool_args_parse(2, missing, t_global, t_cmd, &a), -1);
    assert_string_equal(a.err, "option '--key' needs a value");
    char *flagval[] = {"--follow=yes"};
    assert_int_equal(tool_args_parse(1, flagval, t_global, t_cmd, &a), -1);
    assert_string_equal(a.err, "option '--follow' takes no value");
    char *help[] = {"-h"};
    assert_int_equal(tool_args_parse(1, help, t_global, t_cmd, &a), 0);
    assert_int_equal(a.opt_id[0], 'h');
}

static void test_u64_parse_checks_digits_range_and_overflow(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(tool_parse_u64("42", 1, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(tool_parse_u64("0", 1, 100, &v), -1);
    assert_int_equal(tool_parse_u64("101", 1, 100, &v), -1);
    assert_int_equal(tool_parse_u64("-1", 0, 100, &v), -1);
    assert_int_equal(tool_parse_u64("1x", 0, 100, &v), -1);
    assert_int_equal(tool_parse_u64("", 0, 100, &v), -1);
    assert_int_equal(tool_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -1);
    assert_int_equal(tool_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
}

static void test_time_parse_takes_iso8601_and_epoch_ms(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(tool_parse_time_ms("1700000000123", &ms), 0);
    assert_int_equal(ms, 1700000000123LL);
    assert_int_equal(tool_parse_time_ms("2023-11-14T22:13:20Z", &ms), 0);
    assert_int_equal(ms, 1700000000000LL);
    assert_int_equal(tool_parse_time_ms("2023-11-14T22:13:20.5Z", &ms), 0);
    assert_int_equal(ms, 1700000000500LL);
    assert_int_equal(tool_parse_time_ms("2023-11-14 23:13:20.123+01:00", &ms), 0);
    assert_int_equal(ms, 1700000000123LL);
    assert_int_equal(tool_parse_time_ms("2023-11-14T22:13", &ms), 0);
    assert_int_equal(ms, 1699999980000LL);
    assert_int_equal(tool_parse_time_ms("1970-01-01", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(tool_parse_time_ms("2024-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(tool_parse_time_ms("2023-02-29T00:00:00Z", &ms), -1);
    assert_int_equal(tool_parse_time_ms("2023-13-01", &ms), -1);
    assert_int_equal(tool_parse_time_ms("2023-11-14T25:00", &ms), -1);
    assert_int_equal(tool_parse_time_ms("yesterday", &ms), -1);
    assert_int_equal(tool_parse_time_ms("2023-11-14T22:13:20Zjunk", &ms), -1);
}

static void test_time_format_round_trips(void **state)
{
    (void)state;
    char out[32];
    tool_format_time(1700000000123LL, out);
    assert_string_equal(out, "2023-11-14T22:13:20.123Z");
    tool_format_time(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    int64_t ms;
    assert_int_equal(tool_parse_time_ms("2000-02-29T23:59:59.999Z", &ms), 0);
    tool_format_time(ms, out);
    assert_string_equal(out, "2000-02-29T23:59:59.999Z");
}

static void test_json_strings_escape_controls_and_bad_utf8(void **state)
{
    (void)state;
    struct tool_buf b = {0};
    const char in[] = "a\"b\\c\n\t\x01\xc3\xa9\xff";
    tool_buf_json_str(&b, in, sizeof(in) - 1);
    assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\t\\u0001\xc3\xa9\\ufffd\"");
    b.len = 0;
    tool_buf_json_str(&b, NULL, 0);
    assert_string_equal(b.p, "null");
    b.len = 0;
    tool_buf_json_str(&b, "\xed\xa0\x80", 3); /* a UTF-16 surrogate is not UTF-8 */
    assert_string_equal(b.p, "\"\\ufffd\\ufffd\\ufffd\"");
    tool_buf_free(&b);
}

static void test_base64_matches_rfc4648_vectors(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        struct tool_buf b = {0};
        tool_buf_add(&b, "", 0);
        tool_buf_base64(&b, in[i], strlen(in[i]));
        assert_string_equal(b.p, out[i]);
        tool_buf_free(&b);
    }
}

static void test_printable_means_utf8_without_controls(void **state)
{
    (void)state;
    assert_true(tool_printable_utf8("hello world\t\xc3\xa9", 14));
    assert_true(tool_printable_utf8("", 0));
    assert_false(tool_printable_utf8("two\nlines", 9));
    assert_false(tool_printable_utf8("\xff", 1));
    assert_false(tool_printable_utf8("nul\0", 4));
    assert_false(tool_printable_utf8("\xc0\xaf", 2)); /* overlong '/' */
}

static void test_histogram_quantiles_within_3_percent(void **state)
{
    (void)state;
    struct tool_hist *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    assert_int_equal(tool_hist_quantile(h, 0.5), 0);
    for (uint64_t v = 1; v <= 100000; v++) {
        tool_hist_add(h, v);
    }
    uint64_t p50 = tool_hist_quantile(h, 0.5);
    uint64_t p99 = tool_hist_quantile(h, 0.99);
    assert_true(p50 >= 50000 && p50 <= 51500);
    assert_true(p99 >= 99000 && p99 <= 100000);
    assert_int_equal(tool_hist_quantile(h, 1.0), 100000);
    assert_int_equal(tool_hist_quantile(h, 0.0), 1);
    struct tool_hist *g = calloc(1, sizeof(*g));
    tool_hist_add(g, 5);
    tool_hist_merge(g, h);
    assert_int_equal(g->count, 100001);
    assert_int_equal(g->max, 100000);
    free(g);
    free(h);
}

/* ---- errors ---- */

static void test_public_codes_have_kinesis_names(void **state)
{
    (void)state;
    assert_string_equal(sluice_errname(SLUICE_ENOTFOUND), "ResourceNotFoundException");
    assert_string_equal(sluice_errname(SLUICE_ETHROTTLED),
                        "ProvisionedThroughputExceededException");
    assert_string_equal(sluice_errname(SLUICE_ETIMEDOUT), "Timeout");
    assert_string_equal(sluice_errname(SLUICE_EUNAVAILABLE), "Unavailable");
    assert_string_equal(sluice_strerror(SLUICE_ENOTFOUND), "not found");
    assert_true(sl_retryable(SLUICE_ENOTLEADER));
    assert_true(sl_retryable(SLUICE_ETHROTTLED));
    assert_false(sl_retryable(SLUICE_EINVAL));
    assert_int_equal(sl_err_from_kinesis_name("ProvisionedThroughputExceededException"),
                     SLUICE_ETHROTTLED);
    assert_int_equal(sl_err_from_kinesis_name("InternalFailure"), SLUICE_EIO);
}

static void test_backoff_doubles_caps_and_keeps_half(void **state)
{
    (void)state;
    for (uint64_t rnd = 0; rnd < 1000; rnd += 7) {
        uint32_t d0 = sl_backoff_ms(100, 2000, 0, rnd);
        uint32_t d3 = sl_backoff_ms(100, 2000, 3, rnd);
        uint32_t d9 = sl_backoff_ms(100, 2000, 9, rnd);
        assert_true(d0 >= 50 && d0 <= 100);
        assert_true(d3 >= 400 && d3 <= 800);
        assert_true(d9 >= 1000 && d9 <= 2000);
    }
}

static void *errmsg_thread(void *arg)
{
    (void)arg;
    sl_fail(SLUICE_EINVAL, "from the other thread");
    return NULL;
}

static void test_error_message_belongs_to_its_thread(void **state)
{
    (void)state;
    sl_fail(SLUICE_ENOTFOUND, "mine %d", 1);
    pthread_t t;
    pthread_create(&t, NULL, errmsg_thread, NULL);
    pthread_join(t, NULL);
    assert_string_equal(sluice_errmsg(), "mine 1");
}

/* ---- mock servers ---- */

struct mock;
typedef void (*mock_handler)(struct mock *m, const Sluice__Request *req, Sluice__Response *resp);

#define MOCK_ARENA_MAX 4096

struct mock {
    nng_socket sock;
    pthread_t thread;
    mock_handler handle;
    void *state;
    int requests; /* answered so far (the handler may read it) */
    int silent;   /* drop requests instead of answering */
    void *arena[MOCK_ARENA_MAX];
    int n_arena;
};

static void *mock_alloc(struct mock *m, size_t size)
{
    assert_true(m->n_arena < MOCK_ARENA_MAX);
    void *p = calloc(1, size);
    assert_non_null(p);
    m->arena[m->n_arena++] = p;
    return p;
}

static char *mock_str(struct mock *m, const char *s)
{
    char *p = mock_alloc(m, strlen(s) + 1);
    strcpy(p, s);
    return p;
}

static void mock_error(Sluice__Response *resp, Sluice__ErrorCode code, const char *msg)
{
    resp->has_error = 1;
    resp->error = code;
    resp->error_message = (char *)msg;
}

static void *mock_main(void *arg)
{
    struct mock *m = arg;
    for (;;) {
        nng_msg *msg;
        if (nng_recvmsg(m->sock, &msg, 0) != 0) {
            return NULL;
        }
        Sluice__Request *req = sluice__request__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
        nng_msg_free(msg);
        assert_non_null(req);
        if (m->silent) {
            sluice__request__free_unpacked(req, NULL);
            continue;
        }
        Sluice__Response resp = SLUICE__RESPONSE__INIT;
        resp.has_request_id = 1;
        resp.request_id = req->request_id;
        m->handle(m, req, &resp);
        m->requests++;
        size_t n = sluice__response__get_packed_size(&resp);
        nng_msg *out;
        assert_int_equal(nng_msg_alloc(&out, n), 0);
        sluice__response__pack(&resp, nng_msg_body(out));
        sluice__request__free_unpacked(req, NULL);
        for (int i = 0; i < m->n_arena; i++) {
            free(m->arena[i]);
        }
        m->n_arena = 0;
        if (nng_sendmsg(m->sock, out, 0) != 0) {
            nng_msg_free(out);
        }
    }
}

static struct mock *mock_start(const char *url, mock_handler h, void *state)
{
    struct mock *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->handle = h;
    m->state = state;
    assert_int_equal(nng_rep0_open(&m->sock), 0);
    assert_int_equal(nng_listen(m->sock, url, NULL, 0), 0);
    assert_int_equal(pthread_create(&m->thread, NULL, mock_main, m), 0);
    return m;
}

static void mock_stop(struct mock *m)
{
    nng_close(m->sock);
    pthread_join(m->thread, NULL);
    for (int i = 0; i < m->n_arena; i++) {
        free(m->arena[i]);
    }
    free(m);
}

static struct sluice_client *client_for(const char *nodes, uint32_t timeout_ms, uint32_t retries)
{
    struct sluice_options o;
    sluice_options_init(&o);
    o.request_timeout_ms = timeout_ms;
    o.max_retries = retries;
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 4;
    struct sluice_client *c = NULL;
    assert_int_equal(sluice_client_new(nodes, &o, &c), 0);
    return c;
}

/* Three shards of a stream created with 3, all open. */
static const char *shard_ranges[3][3] = {
    {"shardId-000000000000", "0", "113427455640312821154458202477256070484"},
    {"shardId-000000000001", "113427455640312821154458202477256070485",
     "226854911280625642308916404954512140969"},
    {"shardId-000000000002", "226854911280625642308916404954512140970",
     "340282366920938463463374607431768211455"},
};

static void answer_list_shards(struct mock *m, Sluice__Response *resp)
{
    Sluice__ListShardsResult *r = mock_alloc(m, sizeof(*r));
    sluice__list_shards_result__init(r);
    r->n_shards = 3;
    r->shards = mock_alloc(m, 3 * sizeof(*r->shards));
    for (int i = 0; i < 3; i++) {
        Sluice__Shard *s = mock_alloc(m, sizeof(*s));
        sluice__shard__init(s);
        s->shard_id = (char *)shard_ranges[i][0];
        s->hash_key_range = mock_alloc(m, sizeof(*s->hash_key_range));
        sluice__hash_key_range__init(s->hash_key_range);
        s->hash_key_range->starting_hash_key = (char *)shard_ranges[i][1];
        s->hash_key_range->ending_hash_key = (char *)shard_ranges[i][2];
        r->shards[i] = s;
    }
    resp->result_case = SLUICE__RESPONSE__RESULT_LIST_SHARDS;
    resp->list_shards = r;
}

/* ---- routing ---- */

static void shards_handler(struct mock *m, const Sluice__Request *req, Sluice__Response *resp)
{
    assert_int_equal(req->op_case, SLUICE__REQUEST__OP_LIST_SHARDS);
    answer_list_shards(m, resp);
}

static void test_route_by_md5_and_explicit_hash_key(void **state)
{
    (void)state;
    struct mock *m = mock_start("inproc://route", shards_handler, NULL);
    struct sluice_client *c = client_for("inproc://route", 2000, 2);
    char shard[SLUICE_SHARD_ID_MAX + 1];
    /* MD5("a") = 16955237001963240173058271559858726497: the first third. */
    assert_int_equal(sluice_route(c, "s", "a", NULL, shard), 0);
    assert_string_equal(shard, "shardId-000000000000");
    assert_int_equal(m->requests, 1); /* loaded once ... */
    assert_int_equal(sluice_route(c, "s", "partition-1", NULL, shard), 0);
    assert_string_equal(shard, "shardId-000000000001");
    assert_int_equal(sluice_route(c, "s", "x", "113427455640312821154458202477256070484", shard),
                     0);
    assert_string_equal(shard, "shardId-000000000000");
    assert_int_equal(sluice_route(c, "s", "x", "113427455640312821154458202477256070485", shard),
                     0);
    assert_string_equal(shard, "shardId-000000000001");
    assert_int_equal(sluice_route(c, "s", "x", "340282366920938463463374607431768211455", shard),
                     0);
    assert_string_equal(shard, "shardId-000000000002");
    assert_int_equal(m->requests, 1); /* ... and then served from the cache */
    assert_int_equal(sluice_route(c, "s", "x", "340282366920938463463374607431768211456", shard),
                     SLUICE_EINVAL);
    assert_non_null(strstr(sluice_errmsg(), "Invalid ExplicitHashKey"));
    assert_int_equal(sluice_route(c, "s", "x", "012", shard), SLUICE_EINVAL);
    assert_int_equal(sluice_route(c, "s", "", NULL, shard), SLUICE_EINVAL);
    sluice_client_free(c);
    mock_stop(m);
}

static void test_route_reloads_once_when_no_shard_holds_the_key(void **state)
{
    (void)state;
    struct mock *m = mock_start("inproc://route2", shards_handler, NULL);
    struct sluice_client *c = client_for("inproc://route2", 2000, 2);
    /* A cache holding only the first third, as after a stale load. */
    struct sluice_shard one = {shard_ranges[0][0], NULL, NULL, shard_ranges[0][1],
                               shard_ranges[0][2], "1",  NULL};
    assert_int_equal(sl_cache_set_shards(c, "s", &one, 1), 0);
    char shard[SLUICE_SHARD_ID_MAX + 1];
    assert_int_equal(sluice_route(c, "s", "a", NULL, shard), 0);
    assert_int_equal(m->requests, 0);
    assert_int_equal(sluice_route(c, "s", "hello", NULL, shard), 0);
    assert_string_equal(shard, "shardId-000000000001");
    assert_int_equal(m->requests, 1);
    sluice_client_free(c);
    mock_stop(m);
}

static void test_closed_shards_are_not_routed_to(void **state)
{
    (void)state;
    struct sluice_client *c = client_for("inproc://nobody", 100, 0);
    struct sluice_shard s[2] = {
        {"shardId-000000000000", NULL, NULL, "0", "340282366920938463463374607431768211455", "1",
         "9"},
        {"shardId-000000000001", "shardId-000000000000", NULL, "0",
         "340282366920938463463374607431768211455", "10", NULL},
    };
    assert_int_equal(sl_cache_set_shards(c, "s", s, 2), 0);
    char shard[SLUICE_SHARD_ID_MAX + 1];
    assert_int_equal(sluice_route(c, "s", "a", NULL, shard), 0);
    assert_string_equal(shard, "shardId-000000000001");
    sluice_client_free(c);
}

/* ---- retries, hints, timeouts ---- */

static void busy_twice_handler(struct mock *m, const Sluice__Request *req, Sluice__Response *resp)
{
    assert_int_equal(req->op_case, SLUICE__REQUEST__OP_CREATE_STREAM);
    assert_string_equal(req->create_stream->stream_name, "s");
    assert_int_equal(req->create_stream->shard_count, 2);
    if (m->requests < 2) {
        mock_error(resp, SLUICE__ERROR_CODE__BUSY, "try later");
        return;
    }
    resp->result_case = SLUICE__RESPONSE__RESULT_EMPTY;
    resp->empty = mock_alloc(m, sizeof(*resp->empty));
    sluice__empty__init(resp->empty);
}

static void test_retryable_errors_are_retried_until_success(void **state)
{
    (void)state;
    struct mock *m = mock_start("inproc://busy", busy_twice_handler, NULL);
    struct sluice_client *c = client_for("inproc://busy", 2000, 3);
    assert_int_equal(sluice_create_stream(c, "s", 2, SLUICE_PROVISIONED), 0);
    assert_int_equal(m->requests, 3);
    sluice_client_free(c);
    mock_stop(m);
}

static void test_retries_are_bounded(void **state)
{
    (void)state;
    struct mock *m = mock_start("inproc://busy2", busy_twice_handler, NULL);
    struct sluice_client *c = client_for("inproc://busy2", 2000, 1);
    assert_int_equal(sluice_create_stream(c, "s", 2, SLUICE_PROVISIONED), SLUICE_EBUSY);
    assert_int_equal(m->requests, 2);
    assert_string_equal(sluice_errmsg(), "try later (gave up after 2 attempts)");
    sluice_client_free(c);
    mock_stop(m);
}

static void not_found_handler(struct mock *m, const Sluice__Request *req, Sluice__Response *resp)
{
    (void)m;
    (void)req;
    mock_error(resp, SLUICE__ERROR_CODE__RESOURCE_NOT_FOUND,
               "Stream nope under account 000000000000 not found.");
}

static void test_other_errors_surface_at_once_with_the_server_message(void **state)
{
    (void)state;
    struct mock *m = mock_start("inproc://nf", not_found_handler, NULL);
    struct sluice_client *c = client_for("inproc://nf", 2000, 5);
    struct sluice_stream_description *d = (void *)1;
    assert_int_equal(sluice_describe_stream(c, "nope", &d), SLUICE_ENOTFOUND);
    assert_null(d);
    assert_int_equal(m->requests, 1);
    assert_string_equal(sluice_errmsg(), "Stream nope under account 000000000000 not found.");
    sluice_client_free(c);
    mock_stop(m);
}

static void iterator_handler(struct mock *m, const Sluice__Request *req, Sluice__Response *resp)
{
    assert_int_equal(req->op_case, SLUICE__REQUEST__OP_GET_SHARD_ITERATOR);
    const char *who = m->state;
    if (strcmp(who, "follower") == 0) {
        mock_error(resp, SLUICE__ERROR_CODE__NOT_LEADER, "not the leader");
        resp->leader_hint = "inproc://leader";
        return;
    }
    Sluice__GetShardIteratorResult *r = mock_alloc(m, sizeof(*r));
    sluice__get_shard_iterator_result__init(r);
    r->shard_iterator = mock_str(m, req->get_shard_iterator->shard_id);
    resp->result_case = SLUICE__RESPONSE__RESULT_GET_SHARD_ITERATOR;
    resp->get_shard_iterator = r;
}

static void test_not_leader_follows_the_hint_and_remembers_it(void **state)
{
    (void)state;
    struct mock *f = mock_start("inproc://follower", iterator_handler, "follower");
    struct mock *l = mock_start("inproc://leader", iterator_handler, "leader");
    struct sluice_client *c = client_for("inproc://follower", 2000, 0);
    struct sluice_position pos = {SLUICE_TRIM_HORIZON, NULL, 0};
    char *it = NULL;
    assert_int_equal(sluice_get_shard_iterator(c, "s", "shardId-000000000001", &pos, &it), 0);
    assert_string_equal(it, "shardId-000000000001");
    sluice_free(it);
    assert_int_equal(f->requests, 1);
    assert_int_equal(l->requests, 1);
    /* The leader of that shard is known now: straight there. */
    assert_int_equal(sluice_get_shard_iterator(c, "s", "shardId-000000000001", &pos, &it), 0);
    sluice_free(it);
    assert_int_equal(f->requests, 1);
    assert_int_equal(l->requests, 2);
    sluice_client_free(c);
    mock_stop(f);
    mock_stop(l);
}

static void test_silent_server_times_out(void **state)
{
    (void)state;
    struct mock *m = mock_start("inproc://silent", not_found_handler, NULL);
    m->silent = 1;
    struct sluice_client *c = client_for("inproc://silent", 50, 1);
    struct sluice_limits l;
    assert_int_equal(sluice_describe_limits(c, &l), SLUICE_ETIMEDOUT);
    assert_non_null(strstr(sluice_errmsg(), "no answer within 50 ms"));
    sluice_client_free(c);
    mock_stop(m);
}

static void test_unreachable_node_fails_over_to_the_next(void **state)
{
    (void)state;
    struct mock *m = mock_start("inproc://alive", busy_twice_handler, NULL);
    m->requests = 2; /* answer OK at once */
    struct sluice_client *c = client_for("inproc://dead, inproc://alive", 200, 2);
    assert_int_equal(sluice_create_stream(c, "s", 2, SLUICE_PROVISIONED), 0);
    assert_int_equal(sluice_create_stream(c, "s", 2, SLUICE_PROVISIONED), 0);
    assert_int_equal(m->requests, 4);
    sluice_client_free(c);
    mock_stop(m);
}

static void test_bad_node_lists_are_rejected(void **state)
{
    (void)state;
    struct sluice_client *c = (void *)1;
    assert_int_equal(sluice_client_new(" , ", NULL, &c), SLUICE_EINVAL);
    assert_null(c);
    assert_int_equal(sluice_client_new("bogus://x", NULL, &c), SLUICE_EINVAL);
    assert_non_null(strstr(sluice_errmsg(), "bogus://x"));
}

/* ---- PutRecords and the producer ---- */

/* Answers PutRecords: entries whose data starts with '!' fail with throughput exceeded while
 * `fail_budget` lasts (with `throttle_tail`, so do all later entries of that call, as when a
 * shard runs out of budget mid-call, and the budget counts calls); every accepted entry's data
 * is logged in order. */
struct put_state {
    pthread_mutex_t mu;
    int fail_budget;
    bool throttle_tail;
    char log[4096][16];
    int n_log;
    int calls;
};

static void put_handler(struct mock *m, const Sluice__Request *req, Sluice__Response *resp)
{
    struct put_state *st = m->state;
    if (req->op_case == SLUICE__REQUEST__OP_LIST_SHARDS) {
        answer_list_shards(m, resp);
        return;
    }
    assert_int_equal(req->op_case, SLUICE__REQUEST__OP_PUT_RECORDS);
    const Sluice__PutRecordsRequest *pr = req->put_records;
    Sluice__PutRecordsResult *r = mock_alloc(m, sizeof(*r));
    sluice__put_records_result__init(r);
    r->n_records = pr->n_records;
    r->records = mock_alloc(m, pr->n_records * sizeof(*r->records));
    pthread_mutex_lock(&st->mu);
    st->calls++;
    bool throttled = false;
    for (size_t i = 0; i < pr->n_records; i++) {
        Sluice__PutRecordsResultEntry *e = mock_alloc(m, sizeof(*e));
        sluice__put_records_result_entry__init(e);
        const ProtobufCBinaryData *d = &pr->records[i]->data;
        bool marked = d->len > 0 && d->data[0] == '!';
        if (marked && st->fail_budget > 0 && st->throttle_tail && !throttled) {
            st->fail_budget--;
            throttled = true;
        }
        if (throttled || (marked && !st->throttle_tail && st->fail_budget > 0)) {
            st->fail_budget -= !st->throttle_tail;
            e->error_code = "ProvisionedThroughputExceededException";
            e->error_message = "Rate exceeded for shard shardId-000000000000";
            r->failed_record_count++;
        } else {
            e->shard_id = "shardId-000000000000";
            char seq[32];
            snprintf(seq, sizeof(seq), "%d", 1000 + st->n_log);
            e->sequence_number = mock_str(m, seq);
            if (st->n_log < 4096) {
                snprintf(st->log[st->n_log], sizeof(st->log[0]), "%.*s", (int)d->len,
                         (const char *)d->data);
                st->n_log++;
            }
        }
        r->records[i] = e;
    }
    pthread_mutex_unlock(&st->mu);
    resp->result_case = SLUICE__RESPONSE__RESULT_PUT_RECORDS;
    resp->put_records = r;
}

static void test_put_records_reports_each_entry_in_order(void **state)
{
    (void)state;
    struct put_state *st = calloc(1, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    st->fail_budget = 1;
    struct mock *m = mock_start("inproc://put", put_handler, st);
    struct sluice_client *c = client_for("inproc://put", 2000, 2);
    struct sluice_record_in in[3] = {
        {"k1", NULL, "one", 3}, {"k2", NULL, "!two", 4}, {"k3", NULL, "three", 5}};
    struct sluice_put_records_result *res = NULL;
    assert_int_equal(sluice_put_records(c, "s", in, 3, &res), 0);
    assert_int_equal(res->n_records, 3);
    assert_int_equal(res->failed_record_count, 1);
    assert_int_equal(res->records[0].error, 0);
    assert_string_equal(res->records[0].sequence_number, "1000");
    assert_int_equal(res->records[1].error, SLUICE_ETHROTTLED);
    assert_string_equal(res->records[1].error_code, "ProvisionedThroughputExceededException");
    assert_string_equal(res->records[2].sequence_number, "1001");
    sluice_put_records_result_free(res);
    assert_int_equal(sluice_put_records(c, "s", in, 0, &res), SLUICE_EVALIDATION);
    struct sluice_record_in nokey = {"", NULL, "x", 1};
    assert_int_equal(sluice_put_records(c, "s", &nokey, 1, &res), SLUICE_EVALIDATION);
    assert_non_null(strstr(sluice_errmsg(), "at 'records.1.member.partitionKey'"));
    assert_int_equal(st->calls, 1); /* refused before sending */
    sluice_client_free(c);
    mock_stop(m);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

struct outcomes {
    int ok, failed;
    uint32_t max_attempts;
    char first_error[64];
};

static void count_outcome(void *arg, const struct sluice_producer_result *r)
{
    struct outcomes *o = arg;
    if (r->error == 0) {
        o->ok++;
        assert_non_null(r->sequence_number);
    } else {
        if (o->failed++ == 0) {
            snprintf(o->first_error, sizeof(o->first_error), "%s", r->error_name);
        }
    }
    if (r->attempts > o->max_attempts) {
        o->max_attempts = r->attempts;
    }
}

static void test_producer_retries_failed_entries_and_keeps_key_order(void **state)
{
    (void)state;
    struct put_state *st = calloc(1, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    st->fail_budget = 3;
    st->throttle_tail = true;
    struct mock *m = mock_start("inproc://prod", put_handler, st);
    struct sluice_client *c = client_for("inproc://prod", 2000, 2);
    struct outcomes o = {0};
    struct sluice_producer_options po;
    sluice_producer_options_init(&po);
    po.batch_records_max = 10;
    po.linger_ms = 5;
    po.callback = count_outcome;
    po.callback_arg = &o;
    struct sluice_producer *p = NULL;
    assert_int_equal(sluice_producer_new(c, &po, &p), 0);
    /* One key: every record must arrive in put order, failed ones included. */
    for (int i = 0; i < 100; i++) {
        char data[16];
        snprintf(data, sizeof(data), "%s%03d", i % 7 == 0 ? "!" : "", i);
        struct sluice_record_in r = {"same", NULL, data, strlen(data)};
        assert_int_equal(sluice_producer_put(p, "s", &r, NULL), 0);
    }
    assert_int_equal(sluice_producer_flush(p), 0);
    assert_int_equal(o.ok, 100);
    assert_int_equal(o.failed, 0);
    assert_int_equal(o.max_attempts, 4); /* the first batch was throttled three times */
    assert_int_equal(st->n_log, 100);
    for (int i = 0; i < 100; i++) {
        const char *d = st->log[i][0] == '!' ? st->log[i] + 1 : st->log[i];
        assert_int_equal(atoi(d), i);
    }
    assert_int_equal(sluice_producer_close(p), 0);
    sluice_client_free(c);
    mock_stop(m);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static void test_producer_gives_up_after_attempts_max(void **state)
{
    (void)state;
    struct put_state *st = calloc(1, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    st->fail_budget = 1000;
    struct mock *m = mock_start("inproc://prod2", put_handler, st);
    struct sluice_client *c = client_for("inproc://prod2", 2000, 2);
    struct outcomes o = {0};
    struct sluice_producer_options po;
    sluice_producer_options_init(&po);
    po.attempts_max = 3;
    po.linger_ms = 10000; /* both records go in one batch, sealed by close */
    po.callback = count_outcome;
    po.callback_arg = &o;
    struct sluice_producer *p = NULL;
    assert_int_equal(sluice_producer_new(c, &po, &p), 0);
    struct sluice_record_in bad = {"k", NULL, "!x", 2};
    struct sluice_record_in good = {"k2", NULL, "y", 1};
    assert_int_equal(sluice_producer_put(p, "s", &bad, NULL), 0);
    assert_int_equal(sluice_producer_put(p, "s", &good, NULL), 0);
    assert_int_equal(sluice_producer_close(p), 0);
    assert_int_equal(o.ok, 1);
    assert_int_equal(o.failed, 1);
    assert_int_equal(o.max_attempts, 3);
    assert_string_equal(o.first_error, "ProvisionedThroughputExceededException");
    assert_int_equal(st->calls, 3);
    sluice_client_free(c);
    mock_stop(m);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static void test_producer_says_busy_when_the_buffer_is_full(void **state)
{
    (void)state;
    struct mock *m = mock_start("inproc://prod3", not_found_handler, NULL);
    m->silent = 1; /* nothing is ever acknowledged */
    struct sluice_client *c = client_for("inproc://prod3", 300, 0);
    struct outcomes o = {0};
    struct sluice_producer_options po;
    sluice_producer_options_init(&po);
    po.buffered_bytes_max = 100;
    po.callback = count_outcome;
    po.callback_arg = &o;
    struct sluice_producer *p = NULL;
    assert_int_equal(sluice_producer_new(c, &po, &p), 0);
    char data[60] = {0};
    struct sluice_record_in r = {"k", NULL, data, sizeof(data)};
    assert_int_equal(sluice_producer_put(p, "s", &r, NULL), 0);
    assert_int_equal(sluice_producer_put(p, "s", &r, NULL), SLUICE_EBUSY);
    struct sluice_record_in big = {"k", NULL, data, SLUICE_RECORD_BYTES_MAX};
    assert_int_equal(sluice_producer_put(p, "s", &big, NULL), SLUICE_EVALIDATION);
    char long_key[300];
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    struct sluice_record_in lk = {long_key, NULL, "x", 1};
    assert_int_equal(sluice_producer_put(p, "s", &lk, NULL), SLUICE_EVALIDATION);
    assert_non_null(strstr(sluice_errmsg(), "Member must have length less than or equal to 256"));
    struct sluice_record_in ehk = {"k", "340282366920938463463374607431768211456", "x", 1};
    assert_int_equal(sluice_producer_put(p, "s", &ehk, NULL), SLUICE_EINVAL);
    assert_int_equal(sluice_producer_close(p), 0); /* the timed-out record fails */
    assert_int_equal(o.failed, 1);
    assert_string_equal(o.first_error, "Timeout");
    sluice_client_free(c);
    mock_stop(m);
}

/* ---- reader ---- */

/* A shard of 5 records ("r0".."r4", sequence numbers 10..14), served 2 per page; iterators
 * are "pos:N" (next record N). The first GetRecords at position 2 answers ExpiredIterator;
 * position 5 is the end of a closed shard. */
struct reader_state {
    int expired_once;
    char seen_iterator_requests[8][48];
    int n_iter_requests;
};

static void reader_handler(struct mock *m, const Sluice__Request *req, Sluice__Response *resp)
{
    struct reader_state *st = m->state;
    if (req->op_case == SLUICE__REQUEST__OP_GET_SHARD_ITERATOR) {
        const Sluice__GetShardIteratorRequest *g = req->get_shard_iterator;
        int pos = 0;
        if (g->shard_iterator_type == SLUICE__SHARD_ITERATOR_TYPE__AFTER_SEQUENCE_NUMBER) {
            pos = atoi(g->starting_sequence_number) - 10 + 1;
        }
        snprintf(st->seen_iterator_requests[st->n_iter_requests++ % 8], 48, "%d:%s",
                 (int)g->shard_iterator_type,
                 g->starting_sequence_number ? g->starting_sequence_number : "-");
        char it[32];
        snprintf(it, sizeof(it), "pos:%d", pos);
        Sluice__GetShardIteratorResult *r = mock_alloc(m, sizeof(*r));
        sluice__get_shard_iterator_result__init(r);
        r->shard_iterator = mock_str(m, it);
        resp->result_case = SLUICE__RESPONSE__RESULT_GET_SHARD_ITERATOR;
        resp->get_shard_iterator = r;
        return;
    }
    assert_int_equal(req->op_case, SLUICE__REQUEST__OP_GET_RECORDS);
    int pos = atoi(req->get_records->shard_iterator + 4);
    if (pos == 2 && !st->expired_once) {
        st->expired_once = 1;
        mock_error(resp, SLUICE__ERROR_CODE__EXPIRED_ITERATOR, "Iterator expired.");
        return;
    }
    Sluice__GetRecordsResult *r = mock_alloc(m, sizeof(*r));
    sluice__get_records_result__init(r);
    int n = pos + 2 <= 5 ? 2 : 5 - pos;
    r->n_records = (size_t)n;
    r->records = mock_alloc(m, 2 * sizeof(*r->records));
    for (int i = 0; i < n; i++) {
        Sluice__Record *rec = mock_alloc(m, sizeof(*rec));
        sluice__record__init(rec);
        char buf[16];
        snprintf(buf, sizeof(buf), "%d", 10 + pos + i);
        rec->sequence_number = mock_str(m, buf);
        snprintf(buf, sizeof(buf), "r%d", pos + i);
        rec->partition_key = "k";
        rec->has_data = 1;
        rec->data.data = (uint8_t *)mock_str(m, buf);
        rec->data.len = strlen(buf);
        r->records[i] = rec;
    }
    if (pos + n < 5) {
        char it[32];
        snprintf(it, sizeof(it), "pos:%d", pos + n);
        r->next_shard_iterator = mock_str(m, it);
    }
    r->has_millis_behind_latest = 1;
    r->millis_behind_latest = pos + n < 5 ? 1000 : 0;
    resp->result_case = SLUICE__RESPONSE__RESULT_GET_RECORDS;
    resp->get_records = r;
}

static void test_reader_renews_expired_iterators_after_the_last_record(void **state)
{
    (void)state;
    struct reader_state *st = calloc(1, sizeof(*st));
    struct mock *m = mock_start("inproc://reader", reader_handler, st);
    struct sluice_client *c = client_for("inproc://reader", 2000, 2);
    struct sluice_reader_options ro = {
        "s", "shardId-000000000000", {SLUICE_TRIM_HORIZON, NULL, 0}, 2};
    struct sluice_reader *r = NULL;
    assert_int_equal(sluice_reader_open(c, &ro, &r), 0);
    char got[64] = "";
    int pages = 0;
    while (!sluice_reader_at_end(r) && pages < 10) {
        struct sluice_records *page = NULL;
        assert_int_equal(sluice_reader_next(r, &page), 0);
        for (size_t i = 0; i < page->n_records; i++) {
            strncat(got, page->records[i].data, page->records[i].data_len);
            strcat(got, " ");
        }
        pages++;
        sluice_records_free(page);
    }
    assert_string_equal(got, "r0 r1 r2 r3 r4 ");
    assert_int_equal(pages, 3);
    assert_int_equal(sluice_reader_millis_behind(r), 0);
    assert_string_equal(sluice_reader_last_sequence_number(r), "14");
    assert_int_equal(st->n_iter_requests, 2);
    assert_string_equal(st->seen_iterator_requests[0], "2:-");  /* TRIM_HORIZON */
    assert_string_equal(st->seen_iterator_requests[1], "1:11"); /* AFTER r1 */
    struct sluice_records *page = NULL;
    assert_int_equal(sluice_reader_next(r, &page), 0);
    assert_int_equal(page->n_records, 0);
    assert_true(page->at_shard_end);
    sluice_records_free(page);
    sluice_reader_close(r);
    sluice_client_free(c);
    mock_stop(m);
    free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_accept_both_value_forms_and_double_dash),
        cmocka_unit_test(test_args_reject_unknown_missing_and_extra_values),
        cmocka_unit_test(test_u64_parse_checks_digits_range_and_overflow),
        cmocka_unit_test(test_time_parse_takes_iso8601_and_epoch_ms),
        cmocka_unit_test(test_time_format_round_trips),
        cmocka_unit_test(test_json_strings_escape_controls_and_bad_utf8),
        cmocka_unit_test(test_base64_matches_rfc4648_vectors),
        cmocka_unit_test(test_printable_means_utf8_without_controls),
        cmocka_unit_test(test_histogram_quantiles_within_3_percent),
        cmocka_unit_test(test_public_codes_have_kinesis_names),
        cmocka_unit_test(test_backoff_doubles_caps_and_keeps_half),
        cmocka_unit_test(test_error_message_belongs_to_its_thread),
        cmocka_unit_test(test_route_by_md5_and_explicit_hash_key),
        cmocka_unit_test(test_route_reloads_once_when_no_shard_holds_the_key),
        cmocka_unit_test(test_closed_shards_are_not_routed_to),
        cmocka_unit_test(test_retryable_errors_are_retried_until_success),
        cmocka_unit_test(test_retries_are_bounded),
        cmocka_unit_test(test_other_errors_surface_at_once_with_the_server_message),
        cmocka_unit_test(test_not_leader_follows_the_hint_and_remembers_it),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_unreachable_node_fails_over_to_the_next),
        cmocka_unit_test(test_bad_node_lists_are_rejected),
        cmocka_unit_test(test_put_records_reports_each_entry_in_order),
        cmocka_unit_test(test_producer_retries_failed_entries_and_keeps_key_order),
        cmocka_unit_test(test_producer_gives_up_after_attempts_max),
        cmocka_unit_test(test_producer_says_busy_when_the_buffer_is_full),
        cmocka_unit_test(test_reader_renews_expired_iterators_after_the_last_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
