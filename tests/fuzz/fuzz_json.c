/* fuzz_json.c — libFuzzer target for the JSON decoder (node/core/json.h): whatever decodes must
 * survive being written as CBOR and as JSON and read back as the same tree; whatever does not
 * must be refused with SL_ESERIAL and a message. */
#include "tree.h"

#include "core/assert.h"
#include "core/errors.h"
#include "core/json.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A lone number converts as libc's strtod does (correctly rounded on glibc, in the C locale
 * the target runs in): the decoder's own fast path and long-number handling must agree. */
static void check_against_strtod(const struct sl_doc_value *v, const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    SL_ASSERT(text);
    memcpy(text, data, size);
    text[size] = '\0';
    double want = strtod(text, NULL); /* skips the leading whitespace, stops at the trailing */
    free(text);
    if (want != v->d || signbit(want) != signbit(v->d)) {
        fprintf(stderr, "%.*s: decoded %.17g, strtod %.17g\n", (int)size, (const char *)data, v->d,
                want);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_doc d;
    sl_doc_init(&d);
    const struct sl_doc_value *root = NULL;
    char err[200] = "";
    int rc = sl_json_decode(&d, data, size, NULL, &root, err, sizeof(err));
    if (rc == SL_OK) {
        if (root->type == SL_DOC_NUMBER) {
            check_against_strtod(root, data, size);
        }
        tree_check_reencodings(root, false);
    } else {
        SL_ASSERT(rc == SL_ESERIAL && root == NULL);
        SL_ASSERT(strncmp(err, "invalid JSON at byte ", 21) == 0);
    }
    sl_doc_close(&d);
    return 0;
}
