/* test_http.c — the HTTP server answers HTTP/1.1 (with keep-alive) and HTTP/2 with prior
 * knowledge on one port, from the loop thread or any other, and refuses oversized bodies.
 * Real sockets on loopback; curl (built with nghttp2) is the client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/errors.h"
#include "io/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct sl_http_server *server;
static char base[64];

struct later {
    struct sl_http_req *req;
    char body[256];
    size_t len;
};

static void *answer_later(void *arg)
{
    struct later *l = arg;
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    struct sl_http_header h = {"x-answered-by", 13, "thread", 6};
    sl_http_respond(l->req, 200, &h, 1, l->body, l->len);
    free(l);
    return NULL;
}

/* /echo answers at once with "METHOD body"; /later answers from another thread. */
static void handler(void *arg, struct sl_http_req *req, const struct sl_http_request *r)
{
    (void)arg;
    char body[256];
    int n = snprintf(body, sizeof(body), "%.*s %.*s", (int)r->method_len, r->method,
                     (int)(r->body_len > 200 ? 200 : r->body_len), (const char *)r->body);
    if (r->path_len == 6 && memcmp(r->path, "/later", 6) == 0) {
        struct later *l = malloc(sizeof(*l));
        l->req = req;
        memcpy(l->body, body, (size_t)n);
        l->len = (size_t)n;
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, answer_later, l), 0);
        pthread_detach(t);
        return;
    }
    struct sl_http_header h = {"content-type", 12, "text/plain", 10};
    sl_http_respond(req, 200, &h, 1, body, (size_t)n);
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    struct sl_http_options o = {.listen = "127.0.0.1:0",
                                .body_bytes_max = 1024,
                                .idle_timeout_ms = 5000,
                                .handler = handler};
    assert_int_equal(sl_http_server_start(&server, &o, err, sizeof(err)), SL_OK);
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", sl_http_server_port(server));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_http_server_stop(server);
    return 0;
}

/* Runs curl with `args` and returns its standard output (caller frees). */
static char *curl(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "curl -s --max-time 10 %s", args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = calloc(1, 4096);
    size_t n = fread(out, 1, 4095, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    return out;
}

static void test_http1_post_gets_its_answer(void **state)
{
    (void)state;
    char args[256];
    snprintf(args, sizeof(args), "--http1.1 -d hello -w ' %%{http_code} %%{http_version}' %s/echo",
             base);
    char *out = curl(args);
    assert_string_equal(out, "POST hello 200 1.1");
    free(out);
}

static void test_http2_prior_knowledge_on_the_same_port(void **state)
{
    (void)state;
    char args[256];
    snprintf(args, sizeof(args),
             "--http2-prior-knowledge -d hello -w ' %%{http_code} %%{http_version}' %s/echo", base);
    char *out = curl(args);
    assert_string_equal(out, "POST hello 200 2");
    free(out);
}

static void test_http1_keeps_the_connection_alive(void **state)
{
    (void)state;
    char args[256];
    snprintf(args, sizeof(args), "--http1.1 -d a -w ' %%{num_connects};' %s/echo %s/echo", base,
             base);
    char *out = curl(args);
    assert_string_equal(out, "POST a 1;POST a 0;");
    free(out);
}

static void test_answer_from_another_thread(void **state)
{
    (void)state;
    char args[256];
    for (int v = 0; v < 2; v++) {
        snprintf(args, sizeof(args), "%s -d x -i %s/later",
                 v ? "--http2-prior-knowledge" : "--http1.1", base);
        char *out = curl(args);
        assert_non_null(strstr(out, "x-answered-by: thread"));
        assert_non_null(strstr(out, "POST x"));
        free(out);
    }
}

static void test_oversized_body_gets_413(void **state)
{
    char args[256];
    snprintf(args, sizeof(args),
             "--http1.1 --data-binary \"$(head -c 4096 /dev/zero | tr '\\0' a)\" -o /dev/null "
             "-w '%%{http_code}' %s/echo",
             base);
    char *out = curl(args);
    assert_string_equal(out, "413");
    free(out);
    /* The server still answers. */
    test_http1_post_gets_its_answer(state);
}

/* A raw keep-alive connection that has had one answer. */
static int connect_and_call(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(0x7f000001);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    static const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
    assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
    return fd;
}

/* Whether an answer arrives on `fd` within `ms`. */
static bool answered_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1) {
        return false;
    }
    char buf[512];
    return recv(fd, buf, sizeof(buf), 0) > 0;
}

static void test_connections_past_the_cap_wait_for_one_to_close(void **state)
{
    (void)state;
    char err[256];
    struct sl_http_server *capped;
    struct sl_http_options o = {.listen = "127.0.0.1:0",
                                .body_bytes_max = 1024,
                                .idle_timeout_ms = 5000,
                                .conns_max = 2,
                                .handler = handler};
    assert_int_equal(sl_http_server_start(&capped, &o, err, sizeof(err)), SL_OK);
    uint16_t port = sl_http_server_port(capped);
    int a = connect_and_call(port);
    assert_true(answered_within(a, 5000));
    int b = connect_and_call(port);
    assert_true(answered_within(b, 5000));
    /* The kernel completes the third connection, but the server does not take it. */
    int c = connect_and_call(port);
    assert_false(answered_within(c, 300));
    close(a);
    assert_true(answered_within(c, 5000));
    close(b);
    close(c);
    sl_http_server_stop(capped);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http1_post_gets_its_answer),
        cmocka_unit_test(test_http2_prior_knowledge_on_the_same_port),
        cmocka_unit_test(test_http1_keeps_the_connection_alive),
        cmocka_unit_test(test_answer_from_another_thread),
        cmocka_unit_test(test_oversized_body_gets_413),
        cmocka_unit_test(test_connections_past_the_cap_wait_for_one_to_close),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
