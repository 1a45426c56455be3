/* assert.h — assertions that stay on in every build.
 *
 * SL_ASSERT documents an invariant and crashes rather than let a node diverge: it is never
 * compiled out (unlike <assert.h> under NDEBUG). Use it for bugs, never for bad input, which gets
 * an error code instead.
 *
 * A process may install one hook that runs before the abort (the simulator prints its seed there
 * so that the failing run can be replayed).
 */
#ifndef SL_ASSERT_H
#define SL_ASSERT_H

#define SL_ASSERT(cond) ((cond) ? (void)0 : sl_assert_fail(#cond, __FILE__, __LINE__, __func__))

#define SL_UNREACHABLE() sl_assert_fail("unreachable", __FILE__, __LINE__, __func__)

/* Prints the failed expression and its place to stderr, calls the hook if any, and aborts. */
_Noreturn void sl_assert_fail(const char *expr, const char *file, int line, const char *func);

/* Installs `hook` (NULL removes it). Called by the process's main before any work starts. */
void sl_assert_set_hook(void (*hook)(void));

#endif
