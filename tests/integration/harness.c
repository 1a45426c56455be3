/* harness.c — real sluiced processes for integration tests (see harness.h). */
#include "harness.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t th_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

void th_node_init(struct th_node *n)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->dir, sizeof(n->dir), "/tmp/sluice-it-XXXXXX");
    assert_non_null(mkdtemp(n->dir));
    snprintf(n->url, sizeof(n->url), "tcp://127.0.0.1:%d", free_port());
    snprintf(n->http, sizeof(n->http), "http://127.0.0.1:%d", free_port());
    snprintf(n->log, sizeof(n->log), "%s.log", n->dir);
}

void th_node_flag(struct th_node *n, const char *flag)
{
    assert_true(n->n_extra < 8);
    snprintf(n->extra[n->n_extra++], sizeof(n->extra[0]), "%s", flag);
}

static const char *sluiced_path(void)
{
    const char *p = getenv("SLUICED");
    return p ? p : SLUICED_DEFAULT_PATH;
}

bool th_answers(const char *url)
{
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    Sluice__DescribeLimitsRequest dl = SLUICE__DESCRIBE_LIMITS_REQUEST__INIT;
    rq.op_case = SLUICE__REQUEST__OP_DESCRIBE_LIMITS;
    rq.describe_limits = &dl;
    Sluice__Response *resp = th_call(url, &rq);
    bool ok = resp && resp->error == SLUICE__ERROR_CODE__OK;
    if (resp) {
        sluice__response__free_unpacked(resp, NULL);
    }
    return ok;
}

static pid_t spawn(struct th_node *n);

/* Every node this process started and has not reaped: a failing test jumps out before its
 * cleanup, so whatever is left is killed when the test program exits. */
#define LIVE_MAX 64
static pid_t live[LIVE_MAX];

static void kill_leftovers(void)
{
    for (int i = 0; i < LIVE_MAX; i++) {
        if (live[i] > 0) {
            kill(live[i], SIGKILL);
            waitpid(live[i], NULL, 0);
            live[i] = 0;
        }
    }
}

static void track(pid_t pid)
{
    static bool registered;
    if (!registered) {
        atexit(kill_leftovers);
        registered = true;
    }
    for (int i = 0; i < LIVE_MAX; i++) {
        if (live[i] == 0) {
            live[i] = pid;
            return;
        }
    }
}

static void untrack(pid_t pid)
{
    for (int i = 0; i < LIVE_MAX; i++) {
        if (live[i] == pid) {
            live[i] = 0;
        }
    }
}

int th_node_start_refused(struct th_node *n)
{
    pid_t pid = spawn(n);
    for (int i = 0; i < 400; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            untrack(pid);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    untrack(pid);
    fail_msg("sluiced did not exit within 20 s; see %s", n->log);
    return -1;
}

void th_node_start(struct th_node *n)
{
    pid_t pid = spawn(n);
    n->pid = pid;
    for (int i = 0; i < 400; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            untrack(pid);
            n->pid = 0;
            fail_msg("sluiced exited during start (status %d); see %s", status, n->log);
        }
        if (th_answers(n->url)) {
            return;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("sluiced did not answer on %s within 20 s; see %s", n->url, n->log);
}

static pid_t spawn(struct th_node *n)
{
    char listen[96], http[96], data[160];
    snprintf(listen, sizeof(listen), "--listen=%s", n->url);
    snprintf(http, sizeof(http), "--http-listen=%s", n->http + strlen("http://"));
    snprintf(data, sizeof(data), "--data-dir=%s", n->dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        char *argv[16];
        int argc = 0;
        argv[argc++] = (char *)sluiced_path();
        argv[argc++] = "--id=1";
        argv[argc++] = listen;
        argv[argc++] = http;
        argv[argc++] = data;
        for (int i = 0; i < n->n_extra; i++) {
            argv[argc++] = n->extra[i];
        }
        argv[argc] = NULL;
        execv(argv[0], argv);
        _exit(127);
    }
    track(pid);
    return pid;
}

void th_node_stop(struct th_node *n)
{
    if (n->pid <= 0) {
        return;
    }
    assert_int_equal(kill(n->pid, SIGTERM), 0);
    int status = 0;
    assert_int_equal(waitpid(n->pid, &status, 0), n->pid);
    untrack(n->pid);
    n->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

void th_node_kill9(struct th_node *n)
{
    if (n->pid <= 0) {
        return;
    }
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    untrack(n->pid);
    n->pid = 0;
}

void th_node_cleanup(struct th_node *n)
{
    th_node_kill9(n);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", n->dir, n->log);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", n->dir);
    }
}

Sluice__Response *th_raw(const char *url, const void *data, size_t len)
{
    nng_socket s;
    nng_msg *m = NULL;
    Sluice__Response *resp = NULL;
    if (nng_req0_open(&s) != 0) {
        return NULL;
    }
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 10000);
    nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 64u << 20);
    if (nng_dial(s, url, NULL, 0) != 0 || nng_msg_alloc(&m, 0) != 0 ||
        nng_msg_append(m, data, len) != 0 || nng_sendmsg(s, m, 0) != 0) {
        if (m) {
            nng_msg_free(m);
        }
        nng_close(s);
        return NULL;
    }
    if (nng_recvmsg(s, &m, 0) == 0) {
        resp = sluice__response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
        nng_msg_free(m);
    }
    nng_close(s);
    return resp;
}

Sluice__Response *th_call(const char *url, Sluice__Request *rq)
{
    size_t len = sluice__request__get_packed_size(rq);
    uint8_t *buf = malloc(len + 1);
    assert_non_null(buf);
    sluice__request__pack(rq, buf);
    Sluice__Response *resp = th_raw(url, buf, len);
    free(buf);
    return resp;
}
