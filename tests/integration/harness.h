/* harness.h — real sluiced processes for integration tests: start, stop, kill -9, restart, and
 * raw protobuf calls over NNG (for requests libsluice would never send).
 *
 * Each node gets a fresh data directory under /tmp and a loopback port of its own; every wait
 * is a bounded poll on a condition, never a bare sleep.
 */
#ifndef SL_TEST_HARNESS_H
#define SL_TEST_HARNESS_H

#include "sluice.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct th_node {
    pid_t pid;
    char url[64];
    char http[64]; /* the Kinesis HTTP API: http://127.0.0.1:PORT */
    char dir[128];
    char log[160];
    char extra[8][64]; /* extra flags, e.g. "--retention-hour-ms=50" */
    int n_extra;
};

/* Prepares a node with a fresh data directory and a free port (not started). */
void th_node_init(struct th_node *n);

/* Adds a flag ("--key=value") for the next starts. */
void th_node_flag(struct th_node *n, const char *flag);

/* Starts sluiced (path from the SLUICED environment variable or the build tree) and waits, up to
 * 20 s, until it answers. Fails the test otherwise. */
void th_node_start(struct th_node *n);

/* Starts sluiced expecting it to refuse to run: waits (up to 20 s) for it to exit and returns its
 * exit status; fails the test if it serves instead. */
int th_node_start_refused(struct th_node *n);

/* SIGTERM and wait for a clean exit (status 0); fails the test otherwise. */
void th_node_stop(struct th_node *n);

/* SIGKILL and reap. */
void th_node_kill9(struct th_node *n);

/* Stops the node if running and removes its data directory. */
void th_node_cleanup(struct th_node *n);

/* Sends `len` raw bytes as one request and returns the decoded answer (free with
 * sluice__response__free_unpacked), or NULL when no valid answer came within 10 s. */
Sluice__Response *th_raw(const char *url, const void *data, size_t len);

/* Packs and sends `rq`; as th_raw. */
Sluice__Response *th_call(const char *url, Sluice__Request *rq);

/* True when the node at `url` answers DescribeLimits successfully (it serves). */
bool th_answers(const char *url);

/* Milliseconds since the epoch. */
uint64_t th_now_ms(void);

#endif
