/* json.h — JSON (RFC 8259) to and from the document tree of doc.h: the Kinesis
 * application/x-amz-json-1.1 body.
 *
 * Decoding is strict: one value with optional whitespace around it; strings with every escape,
 * surrogate pairs joined and lone surrogates refused, raw control characters and invalid UTF-8
 * refused; numbers by the grammar (no leading zeros, no NaN or Infinity, none beyond the range
 * of a double). It does not depend on the C locale.
 */
#ifndef SL_JSON_H
#define SL_JSON_H

#include "core/doc.h"

#include <stddef.h>
#include <stdint.h>

/* Decodes the `len` bytes at `text` into the arena `d` and points `*root` at the tree.
 * `lim` NULL means the SL_DOC_* defaults. Returns SL_OK; SL_ESERIAL when the text is not one
 * JSON value or exceeds `lim`, with a message naming the byte offset and what was expected
 * ("invalid JSON at byte 17: expected ',' or '}' after an object member") in `err` (`err_len`
 * bytes, truncated; `err` may be NULL); or SL_ENOMEM. On failure `*root` is unchanged and
 * whatever was decoded stays in `d` until sl_doc_close. */
int sl_json_decode(struct sl_doc *d, const void *text, size_t len, const struct sl_doc_limits *lim,
                   const struct sl_doc_value **root, char *err, size_t err_len);

/* The JSON half of struct sl_enc, for doc.c only: each writes one value's text (separators are
 * doc.c's). */
void sl_json_write_str(struct sl_enc *e, const char *s, size_t len);
void sl_json_write_bytes(struct sl_enc *e, const void *p, size_t len); /* padded base64 */
void sl_json_write_int(struct sl_enc *e, int64_t v);
void sl_json_write_double(struct sl_enc *e, double v);    /* finite */
void sl_json_write_time_ms(struct sl_enc *e, int64_t ms); /* seconds with three decimals */

#endif
