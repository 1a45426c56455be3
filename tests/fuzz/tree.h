/* tree.h — comparing decoded document trees and checking re-encodings, for the codec fuzz
 * targets and unit tests. */
#ifndef SL_TEST_TREE_H
#define SL_TEST_TREE_H

#include "core/doc.h"

#include <stdbool.h>

enum tree_via {
    TREE_SAME,     /* `b` must equal `a` exactly */
    TREE_VIA_JSON, /* `b` is `a` after a trip through JSON: BYTES became base64 text and tag-1
                    * numbers (milliseconds) plain seconds */
};

/* True when the trees are equal in the sense of `via`. Numbers compare by is_int, i and the
 * value of d (so -0 equals 0, as an integer written back reads), except that a number whose
 * value was not an integer but whose double is may come back as that integer: writers write
 * the double. On a difference, prints what differs to stderr. */
bool tree_equal(const struct sl_doc_value *a, const struct sl_doc_value *b, enum tree_via via);

/* Writes `root` (decoded from CBOR when `from_cbor`, else JSON) with both encoders, decodes
 * each output with default limits and aborts unless that succeeds and gives an equal tree, and
 * unless a second trip changes neither the tree nor the bytes. Also checks sl_doc_get on every
 * map and that sl_doc_time_ms accepts every number it should. */
void tree_check_reencodings(const struct sl_doc_value *root, bool from_cbor);

#endif
