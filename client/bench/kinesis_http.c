/* kinesis_http.c — the minimal Kinesis HTTP/JSON client of sluice-bench (see kinesis_http.h). */
#include "kinesis_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct kh_conn {
    struct sockaddr_in addr;
    char host[64];
    int fd;
    char *buf; /* the answer being read */
    size_t cap;
};

struct kh_conn *kh_connect(const char *endpoint)
{
    struct kh_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    c->fd = -1;
    const char *p = strncmp(endpoint, "http://", 7) == 0 ? endpoint + 7 : endpoint;
    char ip[48];
    unsigned port = 0;
    if (sscanf(p, "%47[0-9.]:%u", ip, &port) != 2 || port == 0 || port > 65535 ||
        inet_pton(AF_INET, ip, &c->addr.sin_addr) != 1) {
        fprintf(stderr, "sluice-bench: --kinesis wants http://IPv4:PORT, not '%s'\n", endpoint);
        free(c);
        return NULL;
    }
    c->addr.sin_family = AF_INET;
    c->addr.sin_port = htons((uint16_t)port);
    snprintf(c->host, sizeof(c->host), "%s:%u", ip, port);
    return c;
}

void kh_close(struct kh_conn *c)
{
    if (c) {
        if (c->fd >= 0) {
            close(c->fd);
        }
        free(c->buf);
        free(c);
    }
}

static int reconnect(struct kh_conn *c)
{
    if (c->fd >= 0) {
        return 0;
    }
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        return -1;
    }
    int one = 1;
    struct timeval tv = {30, 0};
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (struct sockaddr *)&c->addr, sizeof(c->addr)) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fail(struct kh_conn *c)
{
    close(c->fd);
    c->fd = -1;
    return -1;
}

int kh_call(struct kh_conn *c, const char *op, const char *body, size_t len, const char **answer,
            size_t *answer_len)
{
    *answer = "";
    *answer_len = 0;
    if (reconnect(c) != 0) {
        return -1;
    }
    char head[1024];
    int hl =
        snprintf(head, sizeof(head),
                 "POST / HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "Content-Type: application/x-amz-json-1.1\r\n"
                 "X-Amz-Target: Kinesis_20131202.%s\r\n"
                 "X-Amz-Date: 20260101T000000Z\r\n"
                 "Authorization: AWS4-HMAC-SHA256 "
                 "Credential=AKIDSLUICEBENCH/20260101/us-east-1/kinesis/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                 "Signature=0000000000000000000000000000000000000000000000000000000000000000\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 c->host, op, len);
    if (send_all(c->fd, head, (size_t)hl) != 0 || send_all(c->fd, body, len) != 0) {
        return fail(c);
    }
    /* Read the head, then Content-Length bytes (both servers send it). */
    size_t have = 0, head_end = 0;
    for (;;) {
        if (have + 4096 > c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 65536;
            char *b = realloc(c->buf, cap);
            if (!b) {
                return fail(c);
            }
            c->buf = b;
            c->cap = cap;
        }
        ssize_t n = recv(c->fd, c->buf + have, c->cap - have - 1, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return fail(c);
        }
        have += (size_t)n;
        c->buf[have] = '\0';
        char *end = strstr(c->buf, "\r\n\r\n");
        if (end) {
            head_end = (size_t)(end - c->buf) + 4;
            break;
        }
    }
    int status = 0;
    if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1) {
        return fail(c);
    }
    size_t body_len = 0;
    for (char *h = strstr(c->buf, "\r\n"); h && (size_t)(h - c->buf) < head_end;
         h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "content-length:", 15) == 0) {
            body_len = strtoul(h + 17, NULL, 10);
        }
    }
    while (have < head_end + body_len) {
        if (head_end + body_len + 1 > c->cap) {
            char *b = realloc(c->buf, head_end + body_len + 1);
            if (!b) {
                return fail(c);
            }
            c->buf = b;
            c->cap = head_end + body_len + 1;
        }
        ssize_t n = recv(c->fd, c->buf + have, head_end + body_len - have, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return fail(c);
        }
        have += (size_t)n;
    }
    c->buf[head_end + body_len] = '\0';
    *answer = c->buf + head_end;
    *answer_len = body_len;
    return status;
}
