/* fuzz_cbor.c — libFuzzer target for the CBOR decoder (node/core/cbor.h): whatever decodes must
 * survive being written as CBOR (the same tree) and as JSON (blobs as base64, timestamps as
 * seconds) and read back; whatever does not must be refused with SL_ESERIAL and a message. */
#include "tree.h"

#include "core/assert.h"
#include "core/cbor.h"
#include "core/errors.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_doc d;
    sl_doc_init(&d);
    const struct sl_doc_value *root = NULL;
    char err[200] = "";
    int rc = sl_cbor_decode(&d, data, size, NULL, &root, err, sizeof(err));
    if (rc == SL_OK) {
        tree_check_reencodings(root, true);
    } else {
        SL_ASSERT(rc == SL_ESERIAL && root == NULL);
        SL_ASSERT(strncmp(err, "invalid CBOR at byte ", 21) == 0);
    }
    sl_doc_close(&d);
    return 0;
}
