/* test_it_http.c — the Kinesis HTTP API of a real sluiced: bad input over HTTP gets its Kinesis
 * error (or its HTTP status), and the node keeps serving, on the same connection where HTTP
 * allows it.
 *
 * HTTP/1.1 goes through a small raw client on POSIX sockets below (exact bytes out, the answer
 * parsed by hand), so that requests no SDK would send can be sent; HTTP/2 goes through curl
 * (--http2-prior-knowledge). Bodies are written with the core's writer (struct sl_enc) and
 * answers read with its decoders. Every socket has send and receive timeouts, every loop a
 * bound, and waits poll a condition.
 */
#include "harness.h"

#include "core/alloc.h"
#include "core/cbor.h"
#include "core/doc.h"
#include "core/json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MUTATIONS
#define MUTATIONS 2000
#endif

#define CT_JSON       "application/x-amz-json-1.1"
#define CT_CBOR       "application/x-amz-cbor-1.1"
#define IO_TIMEOUT_MS 10000 /* each send or receive on a socket */
#define HEAD_MAX      (64 * 1024)

static struct th_node node; /* the mutations and the stop test start nodes of their own */

/* ---- a raw HTTP/1.1 client ---- */

struct conn {
    int fd;
    unsigned char *buf; /* received and not yet consumed */
    size_t len, cap;
};

enum { READ_OK = 0, READ_CLOSED = -1, READ_TIMEOUT = -2 };

struct resp {
    int status;
    char head[HEAD_MAX + 1]; /* status line and headers as received, NUL-terminated */
    unsigned char *body;     /* malloc'd and NUL-terminated (also when empty) */
    size_t body_len;
    bool close; /* the server said Connection: close */
};

static int port_of(const struct th_node *n)
{
    const char *colon = strrchr(n->http, ':');
    assert_non_null(colon);
    return atoi(colon + 1);
}

static void set_timeouts(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

/* Every connection open, with its buffer: a failing test jumps out before closing its own, and
 * the group's teardown closes them before stopping the node. */
#define OPEN_MAX 256
static struct {
    int fd;
    unsigned char *buf;
} open_conns[OPEN_MAX];
static int n_open;

static void conn_open_to(struct conn *c, const struct th_node *n)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    assert_true(n_open < OPEN_MAX);
    open_conns[n_open].fd = c->fd;
    open_conns[n_open++].buf = NULL;
    set_timeouts(c->fd, IO_TIMEOUT_MS); /* SO_SNDTIMEO bounds connect too */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port_of(n))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        fail_msg("cannot connect to %s: %s", n->http, strerror(errno));
    }
}

static void conn_open(struct conn *c)
{
    conn_open_to(c, &node);
}

static void conn_close(struct conn *c)
{
    for (int i = 0; i < n_open; i++) {
        if (open_conns[i].fd == c->fd) {
            open_conns[i] = open_conns[--n_open];
            break;
        }
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

/* Sends all `len` bytes; false when the connection refused them (closed, reset, timed out). */
static bool conn_send(struct conn *c, const void *p, size_t len)
{
    const unsigned char *b = p;
    while (len > 0) {
        ssize_t w = send(c->fd, b, len, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        b += w;
        len -= (size_t)w;
    }
    return true;
}

static void conn_send_str(struct conn *c, const char *s)
{
    assert_true(conn_send(c, s, strlen(s)));
}

/* Receives more bytes into the buffer: READ_OK, READ_CLOSED (EOF or reset) or READ_TIMEOUT. */
static int conn_fill(struct conn *c)
{
    if (c->cap - c->len < 16384) {
        size_t cap = c->cap ? c->cap * 2 : 65536;
        unsigned char *b = realloc(c->buf, cap + 1);
        assert_non_null(b);
        c->buf = b;
        c->cap = cap;
        for (int i = 0; i < n_open; i++) {
            if (open_conns[i].fd == c->fd) {
                open_conns[i].buf = b;
            }
        }
    }
    for (int tries = 0; tries < 100; tries++) {
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r > 0) {
            c->len += (size_t)r;
            return READ_OK;
        }
        if (r == 0) {
            return READ_CLOSED;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK ? READ_TIMEOUT : READ_CLOSED;
    }
    return READ_TIMEOUT;
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static void *memfind(const void *hay, size_t hay_len, const char *needle)
{
    size_t n = strlen(needle);
    const unsigned char *h = hay;
    for (size_t i = 0; n <= hay_len && i <= hay_len - n; i++) {
        if (memcmp(h + i, needle, n) == 0) {
            return (void *)(h + i);
        }
    }
    return NULL;
}

/* The value of header `name` in `r` (case-insensitive), copied to `out`; false when absent. */
static bool resp_header(const struct resp *r, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    const char *line = strstr(r->head, "\r\n");
    while (line && line[2] != '\0') {
        line += 2;
        const char *end = strstr(line, "\r\n");
        size_t llen = end ? (size_t)(end - line) : strlen(line);
        if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            size_t vlen = (size_t)(line + llen - v);
            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
                vlen--;
            }
            if (vlen >= cap) {
                vlen = cap - 1;
            }
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return true;
        }
        line = end;
    }
    return false;
}

static void resp_free(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

static void set_body(struct resp *r, const unsigned char *p, size_t len)
{
    r->body = malloc(len + 1);
    assert_non_null(r->body);
    memcpy(r->body, p, len);
    r->body[len] = '\0';
    r->body_len = len;
}

/* Reads one answer (status line, headers, a Content-Length, chunked or close-delimited body).
 * READ_OK with `r` filled (free with resp_free); READ_CLOSED when the connection ended before a
 * whole answer; READ_TIMEOUT when nothing more came within IO_TIMEOUT_MS. */
static int read_response(struct conn *c, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    uint64_t deadline = th_now_ms() + 3 * IO_TIMEOUT_MS;
    unsigned char *eoh;
    while (!(eoh = memfind(c->buf, c->len, "\r\n\r\n"))) {
        if (c->len > HEAD_MAX || th_now_ms() > deadline) {
            return READ_TIMEOUT;
        }
        int rc = conn_fill(c);
        if (rc != READ_OK) {
            return rc;
        }
    }
    size_t head_len = (size_t)(eoh - c->buf) + 4;
    if (head_len > HEAD_MAX) {
        fail_msg("answer headers longer than %d bytes", HEAD_MAX);
    }
    memcpy(r->head, c->buf, head_len);
    r->head[head_len] = '\0';
    if (sscanf(r->head, "HTTP/1.%*1d %3d", &r->status) != 1) {
        fail_msg("not an HTTP/1 status line: %.80s", r->head);
    }
    consume(c, head_len);
    char v[128];
    r->close = resp_header(r, "connection", v, sizeof(v)) && strcasecmp(v, "close") == 0;
    if (resp_header(r, "transfer-encoding", v, sizeof(v)) && strcasecmp(v, "chunked") == 0) {
        size_t total = 0;
        unsigned char *body = NULL;
        for (int chunks = 0; chunks < 100000; chunks++) {
            unsigned char *eol;
            while (!(eol = memfind(c->buf, c->len, "\r\n"))) {
                int rc = th_now_ms() > deadline ? READ_TIMEOUT : conn_fill(c);
                if (rc != READ_OK) {
                    free(body);
                    return rc;
                }
            }
            size_t size = strtoul((const char *)c->buf, NULL, 16);
            size_t need = (size_t)(eol - c->buf) + 2 + size + 2;
            while (c->len < need) {
                int rc = th_now_ms() > deadline ? READ_TIMEOUT : conn_fill(c);
                if (rc != READ_OK) {
                    free(body);
                    return rc;
                }
            }
            body = realloc(body, total + size + 1);
            assert_non_null(body);
            memcpy(body + total, eol + 2, size);
            total += size;
            consume(c, need);
            if (size == 0) { /* no trailers are expected: the last chunk ends the answer */
                r->body = body;
                r->body[total] = '\0';
                r->body_len = total;
                return READ_OK;
            }
        }
        fail_msg("too many chunks");
    }
    if (resp_header(r, "content-length", v, sizeof(v))) {
        size_t cl = strtoul(v, NULL, 10);
        while (c->len < cl) {
            int rc = th_now_ms() > deadline ? READ_TIMEOUT : conn_fill(c);
            if (rc != READ_OK) {
                return rc;
            }
        }
        set_body(r, c->buf, cl);
        consume(c, cl);
        return READ_OK;
    }
    if (r->status == 204 || r->status == 304 || r->status < 200) {
        set_body(r, (const unsigned char *)"", 0);
        return READ_OK;
    }
    /* Close-delimited. */
    for (;;) {
        int rc = th_now_ms() > deadline ? READ_TIMEOUT : conn_fill(c);
        if (rc == READ_TIMEOUT) {
            return rc;
        }
        if (rc == READ_CLOSED) {
            break;
        }
    }
    set_body(r, c->buf, c->len);
    consume(c, c->len);
    r->close = true;
    return READ_OK;
}

/* Sends a POST with the given Content-Type (NULL: none), X-Amz-Target operation (NULL: none; a
 * name without a dot is prefixed with Kinesis_20131202.) and body; false when it could not be
 * sent. */
static bool send_post(struct conn *c, const char *ctype, const char *op, const void *body,
                      size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if (ctype) {
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Type: %s\r\n", ctype);
    }
    if (op) {
        n += snprintf(head + n, sizeof(head) - (size_t)n, "X-Amz-Target: %s%s\r\n",
                      strchr(op, '.') ? "" : "Kinesis_20131202.", op);
    }
    n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n\r\n", len);
    assert_true(n < (int)sizeof(head));
    return conn_send(c, head, (size_t)n) && conn_send(c, body, len);
}

/* One request and its answer on `c`; fails the test when no answer comes. */
static void call(struct conn *c, const char *ctype, const char *op, const void *body, size_t len,
                 struct resp *r)
{
    assert_true(send_post(c, ctype, op, body, len));
    int rc = read_response(c, r);
    if (rc != READ_OK) {
        fail_msg("no answer to %s (%s)", op ? op : "(no target)",
                 rc == READ_TIMEOUT ? "timed out" : "connection closed");
    }
}

static void call_json(struct conn *c, const char *op, const char *json, struct resp *r)
{
    call(c, CT_JSON, op, json, strlen(json), r);
}

/* ---- request bodies (the core's writer) ---- */

struct body {
    unsigned char *p;
    size_t len;
};

static struct body finish(struct sl_enc *e)
{
    struct body b;
    assert_int_equal(sl_enc_finish(e, &b.p, &b.len), 0);
    sl_enc_close(e);
    return b;
}

static void body_free(struct body *b)
{
    sl_free(b->p);
    b->p = NULL;
}

static struct body b_create_stream(const char *stream, int shards)
{
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_JSON);
    sl_enc_map(&e, 2);
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, stream);
    sl_enc_key(&e, "ShardCount");
    sl_enc_int(&e, shards);
    sl_enc_end(&e);
    return finish(&e);
}

static struct body b_stream_only(enum sl_enc_kind k, const char *stream)
{
    struct sl_enc e;
    sl_enc_init(&e, k);
    sl_enc_map(&e, 1);
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, stream);
    sl_enc_end(&e);
    return finish(&e);
}

static struct body b_put_record(enum sl_enc_kind k, const char *stream, const char *key,
                                const void *data, size_t len)
{
    struct sl_enc e;
    sl_enc_init(&e, k);
    sl_enc_map(&e, 3);
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, stream);
    sl_enc_key(&e, "Data");
    sl_enc_bytes(&e, data, len);
    sl_enc_key(&e, "PartitionKey");
    sl_enc_cstr(&e, key);
    sl_enc_end(&e);
    return finish(&e);
}

static struct body b_put_records(enum sl_enc_kind k, const char *stream, int n)
{
    struct sl_enc e;
    sl_enc_init(&e, k);
    sl_enc_map(&e, 2);
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, stream);
    sl_enc_key(&e, "Records");
    sl_enc_array(&e, (size_t)n);
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof(key), "key-%d", i);
        sl_enc_map(&e, 3);
        sl_enc_key(&e, "Data");
        sl_enc_bytes(&e, "record", 6);
        sl_enc_key(&e, "PartitionKey");
        sl_enc_cstr(&e, key);
        sl_enc_key(&e, "ExplicitHashKey");
        sl_enc_cstr(&e, i % 2 ? "1" : "340282366920938463463374607431768211455");
        sl_enc_end(&e);
    }
    sl_enc_end(&e);
    sl_enc_end(&e);
    return finish(&e);
}

/* `ts_ms` < 0: no Timestamp member. */
static struct body b_get_iterator(enum sl_enc_kind k, const char *stream, const char *shard,
                                  const char *type, int64_t ts_ms)
{
    struct sl_enc e;
    sl_enc_init(&e, k);
    sl_enc_map(&e, 3 + (ts_ms >= 0));
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, stream);
    sl_enc_key(&e, "ShardId");
    sl_enc_cstr(&e, shard);
    sl_enc_key(&e, "ShardIteratorType");
    sl_enc_cstr(&e, type);
    if (ts_ms >= 0) {
        sl_enc_key(&e, "Timestamp");
        sl_enc_time_ms(&e, ts_ms); /* CBOR: tag 1 + epoch milliseconds */
    }
    sl_enc_end(&e);
    return finish(&e);
}

static struct body b_get_records(enum sl_enc_kind k, const char *iterator, int limit)
{
    struct sl_enc e;
    sl_enc_init(&e, k);
    sl_enc_map(&e, 2);
    sl_enc_key(&e, "ShardIterator");
    sl_enc_cstr(&e, iterator);
    sl_enc_key(&e, "Limit");
    sl_enc_int(&e, limit);
    sl_enc_end(&e);
    return finish(&e);
}

static struct body b_list_shards(enum sl_enc_kind k, const char *stream)
{
    struct sl_enc e;
    sl_enc_init(&e, k);
    sl_enc_map(&e, 2);
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, stream);
    sl_enc_key(&e, "MaxResults");
    sl_enc_int(&e, 100);
    sl_enc_end(&e);
    return finish(&e);
}

/* ---- reading answers ---- */

/* Decodes `r`'s body by its Content-Type into `d`; fails the test when it does not decode. */
static const struct sl_doc_value *decode(const struct resp *r, struct sl_doc *d)
{
    char ct[128] = "";
    resp_header(r, "content-type", ct, sizeof(ct));
    const struct sl_doc_value *root = NULL;
    char err[256];
    sl_doc_init(d);
    int rc;
    if (strcmp(ct, CT_CBOR) == 0) {
        rc = sl_cbor_decode(d, r->body, r->body_len, NULL, &root, err, sizeof(err));
    } else if (strcmp(ct, CT_JSON) == 0) {
        rc = sl_json_decode(d, r->body, r->body_len, NULL, &root, err, sizeof(err));
    } else {
        fail_msg("answer %d with Content-Type '%s'", r->status, ct);
        return NULL;
    }
    if (rc != 0) {
        fail_msg("answer %d does not decode as %s: %s", r->status, ct, err);
    }
    assert_int_equal(root->type, SL_DOC_MAP);
    return root;
}

static const char *get_str(const struct sl_doc_value *map, const char *key)
{
    const struct sl_doc_value *v = sl_doc_get(map, key);
    if (!v || v->type != SL_DOC_STRING) {
        fail_msg("member %s is missing or not a string", key);
    }
    return v->s;
}

static void expect_status(const struct resp *r, int status)
{
    if (r->status != status) {
        fail_msg("expected HTTP %d, got %d: %.300s", status, r->status, (const char *)r->body);
    }
}

/* A Kinesis error: `status`, body {"__type": type, "message": containing `fragment`} in the
 * encoding `ct`; frees `r`. */
static void expect_error_in(struct resp *r, const char *ct, const char *type, const char *fragment)
{
    expect_status(r, 400);
    char got_ct[128] = "";
    assert_true(resp_header(r, "content-type", got_ct, sizeof(got_ct)));
    assert_string_equal(got_ct, ct);
    struct sl_doc d;
    const struct sl_doc_value *root = decode(r, &d);
    const char *t = get_str(root, "__type");
    const char *m = get_str(root, "message");
    if (strcmp(t, type) != 0 || !strstr(m, fragment)) {
        fail_msg("expected %s containing '%s', got %s: %s", type, fragment, t, m);
    }
    sl_doc_close(&d);
    resp_free(r);
}

static void expect_error(struct resp *r, const char *type, const char *fragment)
{
    expect_error_in(r, CT_JSON, type, fragment);
}

/* As expect_error, the message starting with `start` and containing `fragment` too. */
static void expect_error_parts(struct resp *r, const char *type, const char *start,
                               const char *fragment)
{
    struct sl_doc d;
    const struct sl_doc_value *root = decode(r, &d);
    const char *m = get_str(root, "message");
    if (strncmp(m, start, strlen(start)) != 0) {
        fail_msg("expected a message starting '%s', got: %s", start, m);
    }
    sl_doc_close(&d);
    expect_error(r, type, fragment);
}

static bool is_uuid(const char *s)
{
    if (strlen(s) != 36) {
        return false;
    }
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i])) {
            return false;
        }
    }
    return true;
}

static bool is_decimal(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- streams over HTTP ---- */

static void wait_active_on(struct conn *c, const char *stream)
{
    for (int i = 0; i < 200; i++) {
        struct body b = b_stream_only(SL_ENC_JSON, stream);
        struct resp r;
        call(c, CT_JSON, "DescribeStreamSummary", b.p, b.len, &r);
        body_free(&b);
        expect_status(&r, 200);
        struct sl_doc d;
        const struct sl_doc_value *root = decode(&r, &d);
        const struct sl_doc_value *sum = sl_doc_get(root, "StreamDescriptionSummary");
        assert_non_null(sum);
        bool active = strcmp(get_str(sum, "StreamStatus"), "ACTIVE") == 0;
        sl_doc_close(&d);
        resp_free(&r);
        if (active) {
            return;
        }
        pause_ms(50);
    }
    fail_msg("stream %s did not become ACTIVE within 10 s", stream);
}

static void create_active_on(struct conn *c, const char *stream, int shards)
{
    struct body b = b_create_stream(stream, shards);
    struct resp r;
    call(c, CT_JSON, "CreateStream", b.p, b.len, &r);
    body_free(&b);
    expect_status(&r, 200);
    assert_int_equal(r.body_len, 0); /* CreateStream has no output */
    resp_free(&r);
    wait_active_on(c, stream);
}

/* A valid JSON PutRecord on `c` succeeds. */
static void put_ok(struct conn *c, const char *stream)
{
    struct body b = b_put_record(SL_ENC_JSON, stream, "k", "ok", 2);
    struct resp r;
    call(c, CT_JSON, "PutRecord", b.p, b.len, &r);
    body_free(&b);
    expect_status(&r, 200);
    resp_free(&r);
}

/* A valid PutRecord on a fresh connection succeeds within `ms`. */
static void assert_serves_within(long ms)
{
    uint64_t t0 = th_now_ms();
    struct conn c;
    conn_open(&c);
    put_ok(&c, "s");
    conn_close(&c);
    uint64_t took = th_now_ms() - t0;
    if (took > (uint64_t)ms) {
        fail_msg("a valid PutRecord took %llu ms (bound %ld ms)", (unsigned long long)took, ms);
    }
}

static void assert_still_serving(void)
{
    assert_serves_within(IO_TIMEOUT_MS);
}

/* A request with Connection: close on a fresh connection to `n`, read until the node closes
 * it. The ends of connections closed before were ready in the kernel before this one was
 * accepted, so the loop has handled them by the time it answers this one. */
static void drain(const struct th_node *n)
{
    struct conn c;
    conn_open_to(&c, n);
    conn_send_str(&c, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: " CT_JSON "\r\nX-Amz-Target: Kinesis_20131202.DescribeLimits"
                      "\r\nContent-Length: 2\r\n\r\n{}");
    struct resp r;
    assert_int_equal(read_response(&c, &r), READ_OK);
    expect_status(&r, 200);
    resp_free(&r);
    int rc = READ_OK;
    for (int i = 0; i < 100 && rc == READ_OK; i++) {
        rc = conn_fill(&c);
    }
    assert_int_equal(rc, READ_CLOSED);
    conn_close(&c);
}

static int setup(void **state)
{
    signal(SIGPIPE, SIG_IGN);
    th_node_init(&node);
    th_node_start(&node);
    struct conn c;
    conn_open(&c);
    create_active_on(&c, "s", 1);
    conn_close(&c);
    return 0;
}

/* Closes the connections failed tests left open, then waits for the node to have let go of its
 * side of them (see drain), so that stopping it meets no client (see
 * test_stop_with_an_open_keepalive_connection_exits_cleanly). */
static void close_leftovers(const struct th_node *n)
{
    while (n_open > 0) {
        n_open--;
        close(open_conns[n_open].fd);
        free(open_conns[n_open].buf);
    }
    drain(n);
}

static int teardown(void **state)
{
    close_leftovers(&node);
    th_node_stop(&node);
    th_node_cleanup(&node);
    return 0;
}

/* ---- 1. the happy path over HTTP/1.1 ---- */

static void test_create_then_put_record_answers_200_with_id_and_sequence(void **state)
{
    struct conn c;
    conn_open(&c);
    create_active_on(&c, "h1", 2);
    struct body b = b_put_record(SL_ENC_JSON, "h1", "partition", "hello", 5);
    struct resp r;
    call(&c, CT_JSON, "PutRecord", b.p, b.len, &r);
    body_free(&b);
    expect_status(&r, 200);
    char v[128];
    assert_true(resp_header(&r, "x-amzn-RequestId", v, sizeof(v)));
    if (!is_uuid(v)) {
        fail_msg("x-amzn-RequestId '%s' is not a UUID", v);
    }
    assert_true(resp_header(&r, "content-type", v, sizeof(v)));
    assert_string_equal(v, CT_JSON);
    struct sl_doc d;
    const struct sl_doc_value *root = decode(&r, &d);
    assert_true(is_decimal(get_str(root, "SequenceNumber")));
    assert_true(strncmp(get_str(root, "ShardId"), "shardId-", 8) == 0);
    sl_doc_close(&d);
    resp_free(&r);
    conn_close(&c);
}

/* ---- 2. keep-alive ---- */

static void test_errors_keep_the_connection_alive(void **state)
{
    struct conn c;
    conn_open(&c);
    struct resp r;
    /* Byte 35 is the '"' where the ':' after "PartitionKey" belongs. */
    call_json(&c, "PutRecord", "{\"StreamName\": \"s\", \"PartitionKey\" \"k\"}", &r);
    assert_false(r.close);
    expect_error(&r, "SerializationException", "at byte 35");
    call_json(&c, "Frobnicate", "{\"StreamName\": \"s\"}", &r);
    assert_false(r.close);
    expect_error(&r, "UnknownOperationException", "names no Kinesis operation");
    /* A Kinesis operation sluice lacks says so. */
    call_json(&c, "SplitShard", "{\"StreamName\": \"s\"}", &r);
    assert_false(r.close);
    expect_error(&r, "UnknownOperationException",
                 "does not serve the Kinesis operation SplitShard");
    call_json(&c, NULL, "{\"StreamName\": \"s\"}", &r);
    assert_false(r.close);
    expect_error(&r, "UnknownOperationException", "no X-Amz-Target");
    put_ok(&c, "s"); /* the same socket */
    conn_close(&c);
}

/* ---- 3. the envelope ---- */

static void test_wrong_content_type_and_get_are_404(void **state)
{
    struct conn c;
    conn_open(&c);
    struct body b = b_put_record(SL_ENC_JSON, "s", "k", "v", 1);
    struct resp r;
    call(&c, "text/plain", "PutRecord", b.p, b.len, &r);
    expect_status(&r, 404);
    assert_int_equal(r.body_len, 0);
    resp_free(&r);
    call(&c, NULL, "PutRecord", b.p, b.len, &r); /* no Content-Type at all */
    expect_status(&r, 404);
    resp_free(&r);
    body_free(&b);
    conn_send_str(&c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_int_equal(read_response(&c, &r), READ_OK);
    expect_status(&r, 404);
    bool close_after = r.close;
    resp_free(&r);
    if (close_after) {
        conn_close(&c);
        conn_open(&c);
    }
    put_ok(&c, "s");
    conn_close(&c);
}

/* ---- 4. bodies that do not read ---- */

static void test_undecodable_bodies_are_serialization_errors(void **state)
{
    struct conn c;
    conn_open(&c);
    struct resp r;
    call_json(&c, "PutRecord", "{\"StreamName\":\"s\",\"PartitionKey\":\"k\",\"Data\":\"abc\"}",
              &r);
    expect_error(&r, "SerializationException", "multiple of 4");
    call_json(&c, "PutRecord", "{\"StreamName\":5,\"PartitionKey\":\"k\",\"Data\":\"AAAA\"}", &r);
    expect_error(&r, "SerializationException", "StreamName");
    call_json(&c, "PutRecord", "[1,2]", &r);
    expect_error(&r, "SerializationException", "object");
    call_json(&c, "PutRecord", "", &r);
    expect_error(&r, "SerializationException", "no body");
    put_ok(&c, "s");
    conn_close(&c);
}

/* ---- 5. the shared handlers' checks ---- */

static void test_handlers_validate_http_requests_like_protobuf_ones(void **state)
{
    struct conn c;
    conn_open(&c);
    struct resp r;
    char key[258];
    memset(key, 'k', 257);
    key[257] = '\0';
    struct body b = b_put_record(SL_ENC_JSON, "s", key, "v", 1);
    call(&c, CT_JSON, "PutRecord", b.p, b.len, &r);
    body_free(&b);
    expect_error_parts(&r, "ValidationException", "1 validation error detected: Value 'kkkkkkkk",
                       "' at 'partitionKey' failed to satisfy constraint: Member must have "
                       "length less than or equal to 256");

    size_t big_len = 1048576 + 1;
    char *big = calloc(1, big_len);
    assert_non_null(big);
    b = b_put_record(SL_ENC_JSON, "s", "k", big, big_len);
    free(big);
    call(&c, CT_JSON, "PutRecord", b.p, b.len, &r);
    body_free(&b);
    expect_error(&r, "ValidationException",
                 "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 "
                 "cap=1048577]' at 'data' failed to satisfy constraint");

    b = b_put_record(SL_ENC_JSON, "nope", "k", "v", 1);
    call(&c, CT_JSON, "PutRecord", b.p, b.len, &r);
    body_free(&b);
    expect_error(&r, "ResourceNotFoundException",
                 "Stream nope under account 000000000000 not found.");
    put_ok(&c, "s");
    conn_close(&c);
}

/* A string member is all of its JSON string: one holding U+0000 is not cut short at it (the
 * node must not take "s\u0000junk" for stream "s"). */
static void test_nul_inside_a_member_is_not_cut_short(void **state)
{
    struct conn c;
    conn_open(&c);
    struct resp r;
    call_json(&c, "PutRecord",
              "{\"StreamName\":\"s\\u0000junk\",\"PartitionKey\":\"k\",\"Data\":\"AAAA\"}", &r);
    if (r.status != 400) {
        char text[512];
        snprintf(text, sizeof(text), "%s", (const char *)r.body);
        resp_free(&r);
        fail_msg("PutRecord to stream \"s\\u0000junk\" got HTTP %d: %s", r.status, text);
    }
    struct sl_doc d;
    const struct sl_doc_value *root = decode(&r, &d);
    const char *t = get_str(root, "__type");
    const char *m = get_str(root, "message");
    bool named = strstr(m, "streamName") || strstr(m, "StreamName");
    if ((strcmp(t, "ValidationException") != 0 && strcmp(t, "SerializationException") != 0) ||
        !named) {
        fail_msg("expected a ValidationException or SerializationException naming the stream "
                 "name, got %s: %s",
                 t, m);
    }
    sl_doc_close(&d);
    resp_free(&r);
    put_ok(&c, "s");
    conn_close(&c);
}

/* ---- 6. a body over the limit ---- */

static void test_body_over_the_limit_is_413_and_node_serves(void **state)
{
    struct conn c;
    conn_open(&c);
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " CT_JSON
                     "\r\nX-Amz-Target: Kinesis_20131202.PutRecord\r\n"
                     "Content-Length: 20000000\r\n\r\n{\"StreamName\":\"s\",\"Data\":\"");
    memset(req + n, 'A', 1000);
    assert_true(conn_send(&c, req, (size_t)n + 1000));
    struct resp r;
    int rc = read_response(&c, &r);
    if (rc != READ_OK) {
        fail_msg("no answer to a 20 MB Content-Length (%s)",
                 rc == READ_TIMEOUT ? "timed out" : "connection closed");
    }
    expect_status(&r, 413);
    resp_free(&r);
    conn_close(&c);
    assert_still_serving();
}

/* ---- 7. slow, half-closed, abandoned and garbage clients ---- */

static void test_slow_and_abandoned_clients_do_not_stop_others(void **state)
{
    struct conn slow;
    conn_open(&slow);
    conn_send_str(&slow, "POST / HT");
    /* The loop is not held by it: others are served promptly, several times over. */
    for (int i = 0; i < 5; i++) {
        assert_serves_within(3000);
    }
    /* Half-closed: the node sees the end of a half request and lets the connection go (it
     * closes it or answers 400) rather than holding it. */
    assert_int_equal(shutdown(slow.fd, SHUT_WR), 0);
    struct resp r;
    int rc = read_response(&slow, &r);
    if (rc == READ_TIMEOUT) {
        fail_msg("a half-closed connection with half a request line was neither answered nor "
                 "closed within %d ms",
                 IO_TIMEOUT_MS);
    }
    if (rc == READ_OK) {
        assert_true(r.status >= 400 && r.status < 500);
        resp_free(&r);
    }
    conn_close(&slow);
    assert_still_serving();

    /* 50 connections with partial headers, closed abruptly (every other one with a reset). */
    for (int i = 0; i < 50; i++) {
        struct conn c;
        conn_open(&c);
        conn_send_str(&c, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: applic");
        if (i % 2) {
            struct linger l = {1, 0};
            assert_int_equal(setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
        }
        conn_close(&c);
    }
    assert_serves_within(3000);

    /* A garbage request line: a 4xx or the connection closed, not a hang. */
    struct conn g;
    conn_open(&g);
    conn_send_str(&g, "HELLO\r\n\r\n");
    rc = read_response(&g, &r);
    if (rc == READ_TIMEOUT) {
        fail_msg("a garbage request line was neither answered nor closed within %d ms",
                 IO_TIMEOUT_MS);
    }
    if (rc == READ_OK) {
        if (r.status < 400 || r.status >= 500) {
            fail_msg("a garbage request line got HTTP %d", r.status);
        }
        resp_free(&r);
    }
    conn_close(&g);
    assert_still_serving();
}

/* Clients that send a whole request and leave before its answer (closing, or resetting the
 * connection) do not disturb the node: their answers are dropped. PutRecord is answered from
 * the write path, DescribeStream from a worker thread. */
static void test_clients_leaving_before_their_answer_do_not_disturb_the_node(void **state)
{
    struct body put = b_put_record(SL_ENC_JSON, "s", "gone", "x", 1);
    struct body desc = b_stream_only(SL_ENC_JSON, "s");
    for (int i = 0; i < 100; i++) {
        struct conn c;
        conn_open(&c);
        bool p = i % 2 == 0;
        assert_true(send_post(&c, CT_JSON, p ? "PutRecord" : "DescribeStream", p ? put.p : desc.p,
                              p ? put.len : desc.len));
        if (i % 4 >= 2) {
            struct linger l = {1, 0};
            assert_int_equal(setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
        }
        conn_close(&c);
    }
    body_free(&put);
    body_free(&desc);
    assert_serves_within(3000);
}

/* ---- 8. CBOR ---- */

static char *cbor_iterator(struct conn *c, const char *stream, const char *type, int64_t ts_ms)
{
    struct body b = b_get_iterator(SL_ENC_CBOR, stream, "shardId-000000000000", type, ts_ms);
    struct resp r;
    call(c, CT_CBOR, "GetShardIterator", b.p, b.len, &r);
    body_free(&b);
    expect_status(&r, 200);
    struct sl_doc d;
    char *it = strdup(get_str(decode(&r, &d), "ShardIterator"));
    sl_doc_close(&d);
    resp_free(&r);
    return it;
}

/* GetRecords in CBOR from `it` until a record comes or the shard is read to its end (bounded);
 * the answer holding the first record stays decoded in `d`, its record in `*rec`. */
static bool cbor_first_record(struct conn *c, const char *iterator, struct sl_doc *d,
                              const struct sl_doc_value **rec)
{
    char *it = strdup(iterator);
    for (int i = 0; i < 50; i++) {
        struct body b = b_get_records(SL_ENC_CBOR, it, 10);
        struct resp r;
        call(c, CT_CBOR, "GetRecords", b.p, b.len, &r);
        body_free(&b);
        expect_status(&r, 200);
        const struct sl_doc_value *root = decode(&r, d);
        resp_free(&r);
        const struct sl_doc_value *recs = sl_doc_get(root, "Records");
        assert_non_null(recs);
        assert_int_equal(recs->type, SL_DOC_ARRAY);
        if (recs->n > 0) {
            *rec = &recs->items[0];
            free(it);
            return true;
        }
        const struct sl_doc_value *behind = sl_doc_get(root, "MillisBehindLatest");
        assert_non_null(behind);
        if (behind->i == 0) {
            sl_doc_close(d);
            free(it);
            return false;
        }
        free(it);
        it = strdup(get_str(root, "NextShardIterator"));
        sl_doc_close(d);
    }
    free(it);
    fail_msg("GetRecords neither returned a record nor caught up in 50 calls");
    return false;
}

static void test_cbor_round_trip_keeps_bytes_and_millisecond_timestamps(void **state)
{
    struct conn c;
    conn_open(&c);
    create_active_on(&c, "cb", 1);
    unsigned char data[300];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (unsigned char)(i * 7 + 3); /* NULs, 0xff and everything between */
    }
    struct body b = b_put_record(SL_ENC_CBOR, "cb", "key", data, sizeof(data));
    struct resp r;
    uint64_t before = th_now_ms();
    call(&c, CT_CBOR, "PutRecord", b.p, b.len, &r);
    body_free(&b);
    expect_status(&r, 200);
    char v[128];
    assert_true(resp_header(&r, "content-type", v, sizeof(v)));
    assert_string_equal(v, CT_CBOR);
    struct sl_doc d;
    char *seq = strdup(get_str(decode(&r, &d), "SequenceNumber"));
    sl_doc_close(&d);
    resp_free(&r);

    char *it = cbor_iterator(&c, "cb", "TRIM_HORIZON", -1);
    const struct sl_doc_value *rec = NULL;
    assert_true(cbor_first_record(&c, it, &d, &rec));
    free(it);
    assert_string_equal(get_str(rec, "SequenceNumber"), seq);
    const struct sl_doc_value *got = sl_doc_get(rec, "Data");
    assert_non_null(got);
    assert_int_equal(got->type, SL_DOC_BYTES);
    assert_int_equal(got->len, sizeof(data));
    assert_memory_equal(got->s, data, sizeof(data));
    const struct sl_doc_value *ts = sl_doc_get(rec, "ApproximateArrivalTimestamp");
    assert_non_null(ts);
    assert_true(ts->time_tag);
    assert_int_equal(ts->type, SL_DOC_NUMBER);
    assert_true(ts->is_int);
    int64_t arrival = ts->i;
    uint64_t now = th_now_ms();
    if (arrival < (int64_t)before - 5000 || arrival > (int64_t)now + 5000) {
        fail_msg("ApproximateArrivalTimestamp %lld is not within 5 s of now (%llu)",
                 (long long)arrival, (unsigned long long)now);
    }
    sl_doc_close(&d);

    /* AT_TIMESTAMP as tag 1 + epoch milliseconds: the record's own arrival finds it. */
    it = cbor_iterator(&c, "cb", "AT_TIMESTAMP", arrival);
    assert_true(cbor_first_record(&c, it, &d, &rec));
    free(it);
    assert_string_equal(get_str(rec, "SequenceNumber"), seq);
    sl_doc_close(&d);
    /* ...and one millisecond later is after it (read as milliseconds, not seconds). */
    for (int i = 0; i < 100 && th_now_ms() <= (uint64_t)arrival + 1; i++) {
        pause_ms(5);
    }
    it = cbor_iterator(&c, "cb", "AT_TIMESTAMP", arrival + 1);
    assert_false(cbor_first_record(&c, it, &d, &rec));
    free(it);
    free(seq);

    /* Errors come back in CBOR. */
    b = b_get_iterator(SL_ENC_CBOR, "nope", "shardId-000000000000", "TRIM_HORIZON", -1);
    call(&c, CT_CBOR, "GetShardIterator", b.p, b.len, &r);
    body_free(&b);
    expect_error_in(&r, CT_CBOR, "ResourceNotFoundException",
                    "Stream nope under account 000000000000 not found.");
    const unsigned char bad[] = {0xa1, 0x6a, 'S', 't', 'r', 'e', 'a', 'm', 'N', 'a'};
    call(&c, CT_CBOR, "PutRecord", bad, sizeof(bad), &r);
    expect_error_in(&r, CT_CBOR, "SerializationException", "invalid CBOR at byte");
    conn_close(&c);
}

/* ---- 8b. tags, and streams named by StreamARN ---- */

/* AddTagsToStream of the `n` key/value pairs at `kv` (key, value, key, value...). */
static struct body b_add_tags(enum sl_enc_kind k, const char *stream, const char *const *kv,
                              size_t n)
{
    struct sl_enc e;
    sl_enc_init(&e, k);
    sl_enc_map(&e, 2);
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, stream);
    sl_enc_key(&e, "Tags");
    sl_enc_map(&e, n);
    for (size_t i = 0; i < n; i++) {
        sl_enc_key(&e, kv[2 * i]);
        sl_enc_cstr(&e, kv[2 * i + 1]);
    }
    sl_enc_end(&e);
    sl_enc_end(&e);
    return finish(&e);
}

/* ListTagsForStream; `limit` 0: no Limit, `after` NULL: no ExclusiveStartTagKey. */
static struct body b_list_tags(enum sl_enc_kind k, const char *stream, int limit, const char *after)
{
    struct sl_enc e;
    sl_enc_init(&e, k);
    sl_enc_map(&e, 1 + (limit > 0) + (after != NULL));
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, stream);
    if (limit > 0) {
        sl_enc_key(&e, "Limit");
        sl_enc_int(&e, limit);
    }
    if (after) {
        sl_enc_key(&e, "ExclusiveStartTagKey");
        sl_enc_cstr(&e, after);
    }
    sl_enc_end(&e);
    return finish(&e);
}

/* A ListTagsForStream answer `r` (in `ct`) lists exactly the `n` pairs at `kv`, in that order,
 * with HasMoreTags `more`; frees `r`. */
static void expect_tags(struct resp *r, const char *ct, const char *const *kv, size_t n, bool more)
{
    expect_status(r, 200);
    char got_ct[128] = "";
    assert_true(resp_header(r, "content-type", got_ct, sizeof(got_ct)));
    assert_string_equal(got_ct, ct);
    struct sl_doc d;
    const struct sl_doc_value *root = decode(r, &d);
    const struct sl_doc_value *tags = sl_doc_get(root, "Tags");
    assert_non_null(tags);
    assert_int_equal(tags->type, SL_DOC_ARRAY);
    if (tags->n != n) {
        fail_msg("ListTagsForStream listed %zu tags, expected %zu: %.300s", tags->n, n,
                 (const char *)r->body);
    }
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(get_str(&tags->items[i], "Key"), kv[2 * i]);
        assert_string_equal(get_str(&tags->items[i], "Value"), kv[2 * i + 1]);
    }
    const struct sl_doc_value *has_more = sl_doc_get(root, "HasMoreTags");
    assert_non_null(has_more);
    assert_int_equal(has_more->type, SL_DOC_BOOL);
    assert_int_equal(has_more->b, more);
    sl_doc_close(&d);
    resp_free(r);
}

static void test_cbor_add_and_list_tags_round_trip(void **state)
{
    struct conn c;
    conn_open(&c);
    create_active_on(&c, "tags", 1);
    /* Non-ASCII keys and values (UTF-8), an empty value, upper case (sorts before lower case). */
    const char *const add[] = {"team", "data", "gr\u00f6\u00dfe", "gro\u00df", "empty", "",
                               "Zeta", "z"};
    struct body b = b_add_tags(SL_ENC_CBOR, "tags", add, 4);
    struct resp r;
    call(&c, CT_CBOR, "AddTagsToStream", b.p, b.len, &r);
    body_free(&b);
    expect_status(&r, 200);
    assert_int_equal(r.body_len, 0); /* AddTagsToStream has no output */
    resp_free(&r);
    const char *const over[] = {"team", "platform"};
    b = b_add_tags(SL_ENC_CBOR, "tags", over, 1);
    call(&c, CT_CBOR, "AddTagsToStream", b.p, b.len, &r);
    body_free(&b);
    expect_status(&r, 200);
    resp_free(&r);

    /* Sorted by key, bytewise; the overwritten value; two pages of two. */
    const char *const page1[] = {"Zeta", "z", "empty", ""};
    const char *const page2[] = {"gr\u00f6\u00dfe", "gro\u00df", "team", "platform"};
    b = b_list_tags(SL_ENC_CBOR, "tags", 2, NULL);
    call(&c, CT_CBOR, "ListTagsForStream", b.p, b.len, &r);
    body_free(&b);
    expect_tags(&r, CT_CBOR, page1, 2, true);
    b = b_list_tags(SL_ENC_CBOR, "tags", 2, "empty");
    call(&c, CT_CBOR, "ListTagsForStream", b.p, b.len, &r);
    body_free(&b);
    expect_tags(&r, CT_CBOR, page2, 2, false);
    /* The same tags read in JSON. */
    const char *const all[] = {"Zeta",      "z",    "empty",   "", "gr\u00f6\u00dfe",
                               "gro\u00df", "team", "platform"};
    b = b_list_tags(SL_ENC_JSON, "tags", 0, NULL);
    call(&c, CT_JSON, "ListTagsForStream", b.p, b.len, &r);
    body_free(&b);
    expect_tags(&r, CT_JSON, all, 4, false);

    /* A refused tag answers in CBOR too. */
    const char *const reserved[] = {"aws:owner", "x"};
    b = b_add_tags(SL_ENC_CBOR, "tags", reserved, 1);
    call(&c, CT_CBOR, "AddTagsToStream", b.p, b.len, &r);
    body_free(&b);
    expect_error_in(&r, CT_CBOR, "InvalidArgumentException", "starts with aws:");
    conn_close(&c);
}

/* The ARN DescribeStreamSummary gives stream `stream` (malloc'd). */
static char *stream_arn_of(struct conn *c, const char *stream)
{
    struct body b = b_stream_only(SL_ENC_JSON, stream);
    struct resp r;
    call(c, CT_JSON, "DescribeStreamSummary", b.p, b.len, &r);
    body_free(&b);
    expect_status(&r, 200);
    struct sl_doc d;
    const struct sl_doc_value *sum = sl_doc_get(decode(&r, &d), "StreamDescriptionSummary");
    assert_non_null(sum);
    char *arn = strdup(get_str(sum, "StreamARN"));
    sl_doc_close(&d);
    resp_free(&r);
    return arn;
}

static void test_stream_arn_names_the_stream_and_must_agree_with_stream_name(void **state)
{
    struct conn c;
    conn_open(&c);
    char *arn = stream_arn_of(&c, "s");
    char json[1024];
    struct resp r;
    struct sl_doc d;

    /* PutRecord by StreamARN alone ("by-arn" in base64), then read back by StreamARN. */
    snprintf(json, sizeof(json),
             "{\"StreamARN\":\"%s\",\"PartitionKey\":\"k\",\"Data\":\"YnktYXJu\"}", arn);
    call_json(&c, "PutRecord", json, &r);
    expect_status(&r, 200);
    const struct sl_doc_value *root = decode(&r, &d);
    char *shard = strdup(get_str(root, "ShardId"));
    char *seq = strdup(get_str(root, "SequenceNumber"));
    sl_doc_close(&d);
    resp_free(&r);
    snprintf(
        json, sizeof(json),
        "{\"StreamARN\":\"%s\",\"ShardId\":\"%s\",\"ShardIteratorType\":\"AT_SEQUENCE_NUMBER\","
        "\"StartingSequenceNumber\":\"%s\"}",
        arn, shard, seq);
    call_json(&c, "GetShardIterator", json, &r);
    expect_status(&r, 200);
    char *it = strdup(get_str(decode(&r, &d), "ShardIterator"));
    sl_doc_close(&d);
    resp_free(&r);
    struct body b = b_get_records(SL_ENC_JSON, it, 1);
    call(&c, CT_JSON, "GetRecords", b.p, b.len, &r);
    body_free(&b);
    expect_status(&r, 200);
    const struct sl_doc_value *recs = sl_doc_get(decode(&r, &d), "Records");
    assert_non_null(recs);
    assert_int_equal(recs->n, 1);
    assert_string_equal(get_str(&recs->items[0], "SequenceNumber"), seq);
    assert_string_equal(get_str(&recs->items[0], "Data"), "YnktYXJu");
    sl_doc_close(&d);
    resp_free(&r);
    free(it);
    free(shard);
    free(seq);

    /* Both, agreeing. */
    snprintf(json, sizeof(json), "{\"StreamARN\":\"%s\",\"StreamName\":\"s\"}", arn);
    call_json(&c, "DescribeStreamSummary", json, &r);
    expect_status(&r, 200);
    const struct sl_doc_value *sum = sl_doc_get(decode(&r, &d), "StreamDescriptionSummary");
    assert_non_null(sum);
    assert_string_equal(get_str(sum, "StreamName"), "s");
    assert_string_equal(get_str(sum, "StreamARN"), arn);
    sl_doc_close(&d);
    resp_free(&r);

    /* Both, disagreeing: refused before either stream is looked up, the connection kept. */
    snprintf(json, sizeof(json),
             "{\"StreamARN\":\"%s\",\"StreamName\":\"other\",\"PartitionKey\":\"k\","
             "\"Data\":\"AAAA\"}",
             arn);
    call_json(&c, "PutRecord", json, &r);
    assert_false(r.close);
    expect_error(&r, "InvalidArgumentException", "name different streams");
    snprintf(json, sizeof(json), "{\"StreamARN\":\"%s\",\"StreamName\":\"other\"}", arn);
    call_json(&c, "DescribeStreamSummary", json, &r);
    assert_false(r.close);
    expect_error(&r, "InvalidArgumentException", "name different streams");
    put_ok(&c, "s"); /* the same socket */
    free(arn);
    conn_close(&c);
}

static void test_malformed_tags_are_serialization_errors(void **state)
{
    struct conn c;
    conn_open(&c);
    struct resp r;
    static const struct {
        const char *op, *json;
    } bad[] = {
        {"AddTagsToStream", "{\"StreamName\":\"s\",\"Tags\":\"team=data\"}"},
        {"AddTagsToStream", "{\"StreamName\":\"s\",\"Tags\":[{\"Key\":\"team\",\"Value\":\"x\"}]}"},
        {"AddTagsToStream", "{\"StreamName\":\"s\",\"Tags\":{\"team\":5}}"},
        {"AddTagsToStream",
         "{\"StreamName\":\"s\",\"Tags\":{\"ok\":\"x\",\"team\":{\"v\":\"x\"}}}"},
        {"AddTagsToStream", "{\"StreamName\":\"s\",\"Tags\":{\"team\":true}}"},
        {"CreateStream", "{\"StreamName\":\"never\",\"ShardCount\":1,\"Tags\":[\"team\"]}"},
        {"CreateStream", "{\"StreamName\":\"never\",\"ShardCount\":1,\"Tags\":{\"team\":1.5}}"},
        {"RemoveTagsFromStream", "{\"StreamName\":\"s\",\"TagKeys\":\"team\"}"},
        {"RemoveTagsFromStream", "{\"StreamName\":\"s\",\"TagKeys\":[\"team\",7]}"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        call_json(&c, bad[i].op, bad[i].json, &r);
        assert_false(r.close);
        expect_error(&r, "SerializationException",
                     strcmp(bad[i].op, "RemoveTagsFromStream") == 0 ? "TagKeys" : "Tags");
    }
    /* CBOR: a byte string where a tag's value belongs; the answer is CBOR. */
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_CBOR);
    sl_enc_map(&e, 2);
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, "s");
    sl_enc_key(&e, "Tags");
    sl_enc_map(&e, 1);
    sl_enc_key(&e, "team");
    sl_enc_bytes(&e, "data", 4);
    sl_enc_end(&e);
    sl_enc_end(&e);
    struct body b = finish(&e);
    call(&c, CT_CBOR, "AddTagsToStream", b.p, b.len, &r);
    body_free(&b);
    assert_false(r.close);
    expect_error_in(&r, CT_CBOR, "SerializationException", "Tags");

    /* The same socket serves on, none of those calls stored a tag or made a stream. */
    put_ok(&c, "s");
    b = b_list_tags(SL_ENC_JSON, "s", 0, NULL);
    call(&c, CT_JSON, "ListTagsForStream", b.p, b.len, &r);
    body_free(&b);
    expect_tags(&r, CT_JSON, NULL, 0, false);
    b = b_stream_only(SL_ENC_JSON, "never");
    call(&c, CT_JSON, "DescribeStreamSummary", b.p, b.len, &r);
    body_free(&b);
    expect_error(&r, "ResourceNotFoundException", "Stream never under account");
    conn_close(&c);
}

/* ---- 9. HTTP/2 ---- */

/* One request over HTTP/2 with curl (--http2-prior-knowledge): the body is `len` bytes at
 * `body`, or, `body` NULL, `len` bytes of 'A'. Fills `r` (status 0 when no answer came) and
 * `version` (curl's %{http_version}); returns curl's exit code (-1: killed). */
static int h2_call(const char *op, const void *body, size_t len, struct resp *r, char version[8])
{
    char in[] = "/tmp/sluice-it-h2-in-XXXXXX";
    char out[] = "/tmp/sluice-it-h2-out-XXXXXX";
    char hdr[] = "/tmp/sluice-it-h2-hdr-XXXXXX";
    int fds[3] = {mkstemp(in), mkstemp(out), mkstemp(hdr)};
    for (int i = 0; i < 3; i++) {
        assert_true(fds[i] >= 0);
    }
    if (body) {
        assert_int_equal(write(fds[0], body, len), (ssize_t)len);
    } else {
        char block[65536];
        memset(block, 'A', sizeof(block));
        for (size_t done = 0; done < len;) {
            size_t n = len - done < sizeof(block) ? len - done : sizeof(block);
            assert_int_equal(write(fds[0], block, n), (ssize_t)n);
            done += n;
        }
    }
    for (int i = 0; i < 3; i++) {
        close(fds[i]);
    }
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "curl -sS --http2-prior-knowledge --max-time 20 -o %s -D %s "
             "-w '%%{http_code} %%{http_version}' -H 'Content-Type: " CT_JSON "' "
             "-H 'X-Amz-Target: Kinesis_20131202.%s' --data-binary @%s %s/ 2>/dev/null",
             out, hdr, op, in, node.http);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[128] = "";
    size_t got = fread(line, 1, sizeof(line) - 1, p);
    line[got] = '\0';
    int status = pclose(p);
    memset(r, 0, sizeof(*r));
    version[0] = '\0';
    if (sscanf(line, "%3d %7s", &r->status, version) != 2) {
        fail_msg("curl printed '%s' (is curl installed?)", line);
    }
    FILE *f = fopen(out, "rb");
    assert_non_null(f);
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    set_body(r, buf, n);
    f = fopen(hdr, "rb");
    assert_non_null(f);
    n = fread(r->head, 1, HEAD_MAX, f);
    fclose(f);
    r->head[n] = '\0';
    unlink(in);
    unlink(out);
    unlink(hdr);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_http2_put_record_answers_200(void **state)
{
    struct body b = b_put_record(SL_ENC_JSON, "s", "h2", "over http/2", 11);
    struct resp r;
    char version[8];
    int status = h2_call("PutRecord", b.p, b.len, &r, version);
    body_free(&b);
    assert_int_equal(status, 0);
    expect_status(&r, 200);
    assert_string_equal(version, "2");
    char v[128];
    assert_true(resp_header(&r, "x-amzn-requestid", v, sizeof(v)));
    assert_true(is_uuid(v));
    struct sl_doc d;
    const struct sl_doc_value *root = decode(&r, &d);
    assert_true(is_decimal(get_str(root, "SequenceNumber")));
    assert_string_equal(get_str(root, "ShardId"), "shardId-000000000000");
    sl_doc_close(&d);
    resp_free(&r);
}

static void test_http2_errors_are_kinesis_errors(void **state)
{
    const char bad[] = "{\"StreamName\": \"s\", \"PartitionKey\" \"k\"}";
    struct resp r;
    char version[8];
    assert_int_equal(h2_call("PutRecord", bad, strlen(bad), &r, version), 0);
    assert_string_equal(version, "2");
    expect_error(&r, "SerializationException", "at byte 35");
    assert_int_equal(h2_call("Frobnicate", "{}", 2, &r, version), 0);
    expect_error(&r, "UnknownOperationException", "X-Amz-Target");
    assert_still_serving();
}

/* docs/protocol.md: a body over 16 MiB is answered 413, whatever the HTTP version. */
/* h2o 2.2 answers an HTTP/2 body over its limit by resetting the stream (REFUSED_STREAM), not
 * with 413 (docs/protocol.md): the body is refused, nothing is stored, the node serves on. */
static void test_http2_body_over_the_limit_is_refused(void **state)
{
    struct resp r;
    char version[8];
    int status = h2_call("PutRecord", NULL, 17u << 20, &r, version);
    resp_free(&r);
    if (status == 0 && r.status == 200) {
        fail_msg("a 17 MiB body over HTTP/2 was taken (HTTP %d)", r.status);
    }
    assert_true(r.status == 413 || r.status == 0);
    assert_still_serving();
}

/* ---- 10. mutations ---- */

static uint64_t rng = 0x48545450c0ffee11ull;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const char *const mut_ops[] = {"PutRecord", "PutRecords", "GetShardIterator", "ListShards",
                                      "DescribeStream"};

static struct body mut_sample(int kind, enum sl_enc_kind enc)
{
    switch (kind) {
    case 0:
        return b_put_record(enc, "mut", "key", "data", 4);
    case 1:
        return b_put_records(enc, "mut", 3);
    case 2:
        return b_get_iterator(enc, "mut", "shardId-000000000001", "AT_TIMESTAMP", 1000);
    case 3:
        return b_list_shards(enc, "mut");
    default:
        return b_stream_only(enc, "mut");
    }
}

/* Records a 200 answer put: 1 for PutRecord, the entries with a SequenceNumber for
 * PutRecords, 0 otherwise. */
static int records_put(int kind, const struct resp *r)
{
    if (r->status != 200 || kind > 1) {
        return 0;
    }
    if (kind == 0) {
        return 1;
    }
    struct sl_doc d;
    const struct sl_doc_value *root = decode(r, &d);
    const struct sl_doc_value *recs = sl_doc_get(root, "Records");
    assert_non_null(recs);
    assert_int_equal(recs->type, SL_DOC_ARRAY);
    int n = 0;
    for (size_t i = 0; i < recs->n; i++) {
        n += sl_doc_get(&recs->items[i], "SequenceNumber") != NULL;
    }
    const struct sl_doc_value *failed = sl_doc_get(root, "FailedRecordCount");
    assert_non_null(failed);
    assert_int_equal(failed->i, (int64_t)recs->n - n);
    sl_doc_close(&d);
    return n;
}

/* Every record of every shard of `stream` on `n`, read with JSON GetRecords (bounded). */
static int count_records(struct conn *c, const char *stream)
{
    struct body b = b_list_shards(SL_ENC_JSON, stream);
    struct resp r;
    call(c, CT_JSON, "ListShards", b.p, b.len, &r);
    body_free(&b);
    expect_status(&r, 200);
    struct sl_doc shards_doc;
    const struct sl_doc_value *shards = sl_doc_get(decode(&r, &shards_doc), "Shards");
    resp_free(&r);
    assert_non_null(shards);
    int total = 0;
    for (size_t s = 0; s < shards->n; s++) {
        b = b_get_iterator(SL_ENC_JSON, stream, get_str(&shards->items[s], "ShardId"),
                           "TRIM_HORIZON", -1);
        call(c, CT_JSON, "GetShardIterator", b.p, b.len, &r);
        body_free(&b);
        expect_status(&r, 200);
        struct sl_doc d;
        char *it = strdup(get_str(decode(&r, &d), "ShardIterator"));
        sl_doc_close(&d);
        resp_free(&r);
        bool caught_up = false;
        for (int i = 0; i < 1000 && !caught_up; i++) {
            b = b_get_records(SL_ENC_JSON, it, 10000);
            call(c, CT_JSON, "GetRecords", b.p, b.len, &r);
            body_free(&b);
            expect_status(&r, 200);
            const struct sl_doc_value *root = decode(&r, &d);
            resp_free(&r);
            const struct sl_doc_value *recs = sl_doc_get(root, "Records");
            assert_non_null(recs);
            total += (int)recs->n;
            caught_up = recs->n == 0 && sl_doc_get(root, "MillisBehindLatest")->i == 0;
            free(it);
            it = strdup(get_str(root, "NextShardIterator"));
            sl_doc_close(&d);
        }
        free(it);
        assert_true(caught_up);
    }
    sl_doc_close(&shards_doc);
    return total;
}

static void test_damaged_bodies_get_answers_and_puts_are_all_readable(void **state)
{
    struct th_node mn;
    th_node_init(&mn);
    th_node_start(&mn);
    enum { CONNS = 4 };
    struct conn cs[CONNS];
    for (int i = 0; i < CONNS; i++) {
        conn_open_to(&cs[i], &mn);
    }
    create_active_on(&cs[0], "mut", 2);

    int put = 0, statuses[3] = {0, 0, 0};
    for (int i = 0; i < MUTATIONS; i += CONNS) {
        int kinds[CONNS] = {0};
        for (int k = 0; k < CONNS && i + k < MUTATIONS; k++) {
            kinds[k] = (int)(next_random() % 5);
            enum sl_enc_kind enc = next_random() % 2 ? SL_ENC_CBOR : SL_ENC_JSON;
            struct body b = mut_sample(kinds[k], enc);
            size_t len = b.len;
            switch (next_random() % 3) {
            case 0: /* cut short */
                len = (size_t)(next_random() % b.len);
                break;
            case 1: /* one byte replaced */
                b.p[next_random() % b.len] = (uint8_t)next_random();
                break;
            default: /* one bit flipped */
                b.p[next_random() % b.len] ^= (uint8_t)(1u << (next_random() % 8));
                break;
            }
            if (!send_post(&cs[k], enc == SL_ENC_CBOR ? CT_CBOR : CT_JSON, mut_ops[kinds[k]], b.p,
                           len)) {
                fail_msg("mutation %d: the connection refused the request", i + k);
            }
            body_free(&b);
        }
        for (int k = 0; k < CONNS && i + k < MUTATIONS; k++) {
            struct resp r;
            int rc = read_response(&cs[k], &r);
            if (rc != READ_OK) {
                fail_msg("mutation %d (%s): no answer (%s)", i + k, mut_ops[kinds[k]],
                         rc == READ_TIMEOUT ? "timed out" : "connection closed");
            }
            if (r.status != 200 && r.status != 400 && r.status != 404) {
                fail_msg("mutation %d (%s): HTTP %d: %.300s", i + k, mut_ops[kinds[k]], r.status,
                         (const char *)r.body);
            }
            statuses[r.status == 200 ? 0 : r.status == 400 ? 1 : 2]++;
            put += records_put(kinds[k], &r);
            if (r.close) { /* the server may end a connection after an answer; open another */
                conn_close(&cs[k]);
                conn_open_to(&cs[k], &mn);
            }
            resp_free(&r);
        }
    }
    print_message("mutations: %d answered 200, %d 400, %d 404; %d records put\n", statuses[0],
                  statuses[1], statuses[2], put);
    assert_int_equal(statuses[0] + statuses[1] + statuses[2], MUTATIONS);

    put_ok(&cs[0], "mut");
    assert_int_equal(count_records(&cs[1], "mut"), put + 1);
    for (int i = 0; i < CONNS; i++) {
        conn_close(&cs[i]);
    }
    drain(&mn);
    th_node_stop(&mn);
    th_node_cleanup(&mn);
}

/* ---- stopping ---- */

/* SIGTERM while an HTTP client holds an idle keep-alive connection (as every SDK's connection
 * pool does) stops the node cleanly: exit status 0, like with no client. */
static void test_stop_with_an_open_keepalive_connection_exits_cleanly(void **state)
{
    struct th_node sn;
    th_node_init(&sn);
    th_node_start(&sn);
    struct conn c;
    conn_open_to(&c, &sn);
    struct resp r;
    call_json(&c, "DescribeLimits", "{}", &r);
    expect_status(&r, 200);
    assert_false(r.close);
    resp_free(&r);
    /* th_node_stop by hand, so that the outcome is reported after cleaning up. */
    pid_t pid = sn.pid;
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status = -1;
    bool exited = false;
    for (int i = 0; i < 400 && !exited; i++) {
        exited = waitpid(pid, &status, WNOHANG) == pid;
        if (!exited) {
            pause_ms(50);
        }
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    sn.pid = 0;
    conn_close(&c);
    char log_tail[512] = "";
    FILE *f = fopen(sn.log, "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof(line), f)) {
            snprintf(log_tail, sizeof(log_tail), "%s", line);
        }
        fclose(f);
    }
    th_node_cleanup(&sn);
    if (!exited) {
        fail_msg("sluiced did not stop within 20 s of SIGTERM with a client connected");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail_msg("sluiced stopped with %s %d with a client connected; its last words: %s",
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log_tail);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_then_put_record_answers_200_with_id_and_sequence),
        cmocka_unit_test(test_errors_keep_the_connection_alive),
        cmocka_unit_test(test_wrong_content_type_and_get_are_404),
        cmocka_unit_test(test_undecodable_bodies_are_serialization_errors),
        cmocka_unit_test(test_handlers_validate_http_requests_like_protobuf_ones),
        cmocka_unit_test(test_nul_inside_a_member_is_not_cut_short),
        cmocka_unit_test(test_body_over_the_limit_is_413_and_node_serves),
        cmocka_unit_test(test_slow_and_abandoned_clients_do_not_stop_others),
        cmocka_unit_test(test_clients_leaving_before_their_answer_do_not_disturb_the_node),
        cmocka_unit_test(test_cbor_round_trip_keeps_bytes_and_millisecond_timestamps),
        cmocka_unit_test(test_cbor_add_and_list_tags_round_trip),
        cmocka_unit_test(test_stream_arn_names_the_stream_and_must_agree_with_stream_name),
        cmocka_unit_test(test_malformed_tags_are_serialization_errors),
        cmocka_unit_test(test_http2_put_record_answers_200),
        cmocka_unit_test(test_http2_errors_are_kinesis_errors),
        cmocka_unit_test(test_http2_body_over_the_limit_is_refused),
        cmocka_unit_test(test_damaged_bodies_get_answers_and_puts_are_all_readable),
        cmocka_unit_test(test_stop_with_an_open_keepalive_connection_exits_cleanly),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
