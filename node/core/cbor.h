/* cbor.h — CBOR (RFC 8949) to and from the document tree of doc.h: the Kinesis
 * application/x-amz-cbor-1.1 body the AWS SDKs for Java send by default.
 *
 * Decoding accepts every well-formed item whose map keys are text strings: definite and
 * indefinite lengths, any head size, half/single/double floats (finite only, as JSON can hold
 * them), simple values false/true/null/undefined (undefined reads as null). Tag 1 marks the
 * number after it as a timestamp (value.time_tag; AWS sends epoch milliseconds there, see
 * KINESIS.md §2); other tags are skipped and their content kept. Every length is checked
 * against the bytes that remain before anything is allocated for it.
 *
 * Encoding writes definite lengths and the shortest head for every integer and length.
 */
#ifndef SL_CBOR_H
#define SL_CBOR_H

#include "core/doc.h"

#include <stddef.h>
#include <stdint.h>

/* Decodes the `len` bytes at `data` (one item, nothing after it) into the arena `d` and points
 * `*root` at the tree. Same contract as sl_json_decode (json.h): SL_OK; SL_ESERIAL with
 * "invalid CBOR at byte N: ..." in `err`; or SL_ENOMEM. */
int sl_cbor_decode(struct sl_doc *d, const void *data, size_t len, const struct sl_doc_limits *lim,
                   const struct sl_doc_value **root, char *err, size_t err_len);

/* The CBOR half of struct sl_enc, for doc.c only. */
void sl_cbor_write_head(struct sl_enc *e, unsigned major, uint64_t arg); /* shortest form */
void sl_cbor_write_int(struct sl_enc *e, int64_t v);                     /* major 0 or 1 */
void sl_cbor_write_double(struct sl_enc *e, double v); /* shortest exact float, finite */

#endif
