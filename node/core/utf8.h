/* utf8.h — decoding one UTF-8 sequence, strictly: partition keys are counted in code points,
 * and the CLI prints data as text only when it is valid UTF-8. */
#ifndef SL_UTF8_H
#define SL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the well-formed UTF-8 sequence at `p` (`n` >= 1 bytes available), storing its
 * code point in `*cp` (may be NULL); 0 when there is none: overlong forms, surrogates and code
 * points above U+10FFFF are rejected. */
size_t sl_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

#endif
