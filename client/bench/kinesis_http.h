/* kinesis_http.h — a minimal Kinesis HTTP/JSON client for sluice-bench: one keep-alive HTTP/1.1
 * connection per caller, so that the same load can be run against sluiced's Kinesis API and
 * against any other Kinesis endpoint (kinesalite) and the figures compared.
 *
 * Requests carry a well-formed but unchecked SigV4 Authorization header (endpoints that only
 * check its shape, like kinesalite, or that do not check it, like sluiced by default, take it).
 * Not thread-safe: one connection per thread.
 */
#ifndef SLUICE_BENCH_KINESIS_HTTP_H
#define SLUICE_BENCH_KINESIS_HTTP_H

#include <stddef.h>

struct kh_conn;

/* Connects to `endpoint` (http://IPv4:port). Returns NULL with a message on stderr. */
struct kh_conn *kh_connect(const char *endpoint);
void kh_close(struct kh_conn *c);

/* POSTs `body` as Kinesis_20131202.`op` and reads the answer: its HTTP status, or -1 when the
 * connection failed (it is reconnected on the next call). The answer's body stays valid until
 * the next call on `c`. */
int kh_call(struct kh_conn *c, const char *op, const char *body, size_t len, const char **answer,
            size_t *answer_len);

#endif
