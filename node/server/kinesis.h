/* kinesis.h — the Kinesis Data Streams HTTP API of a node: `POST /` with
 * `X-Amz-Target: Kinesis_20131202.<Operation>`, bodies in JSON (application/x-amz-json-1.1) or
 * CBOR (application/x-amz-cbor-1.1), answered in the same encoding with Kinesis' shapes and
 * error names.
 *
 * Every operation is one row of the table in kinesis.c: its Kinesis name, the sluice request it
 * becomes, how its members are read and how its answer is written. The request then goes
 * through the same handlers as the protobuf API (sl_ops_submit), so the two front ends cannot
 * disagree on semantics, limits or error messages.
 */
#ifndef SL_SERVER_KINESIS_H
#define SL_SERVER_KINESIS_H

#include <stddef.h>

struct node;

/* Starts serving on n->cfg.http_listen. Returns 0, or an error with the reason in `err`. */
int sl_kinesis_start(struct node *n, char *err, size_t err_len);

/* Stops serving (requests not answered yet are dropped). Call after the work queue has
 * stopped and before the node's state goes. */
void sl_kinesis_stop(struct node *n);

#endif
