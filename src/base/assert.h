/*
 * Assertions that stay on in every build.
 *
 * A corrupted cluster is worse than a crash, so SYN_ASSERT is never compiled
 * out (unlike assert(3) under NDEBUG). SYN_DASSERT is for checks too expensive
 * for production (walking a whole log or tree); it is on when SYNOD_DEBUG_CHECKS
 * is defined, which the simulator and the test build do.
 *
 * Write SYN_ASSERT(a); SYN_ASSERT(b); rather than SYN_ASSERT(a && b) so a
 * failure names the condition that broke.
 */
#ifndef SYN_BASE_ASSERT_H
#define SYN_BASE_ASSERT_H

#include <stdbool.h>

/* Prints "file:line: assertion failed: expr" to stderr and aborts. */
_Noreturn void syn_assert_fail(const char *expr, const char *file, int line);

#define SYN_ASSERT(expr) ((expr) ? (void)0 : syn_assert_fail(#expr, __FILE__, __LINE__))

#ifdef SYNOD_DEBUG_CHECKS
#define SYN_DASSERT(expr) SYN_ASSERT(expr)
#else
#define SYN_DASSERT(expr) ((void)sizeof(expr))
#endif

#define SYN_UNREACHABLE() syn_assert_fail("unreachable", __FILE__, __LINE__)

/*
 * SQLite's ALWAYS/NEVER: defensive branches for conditions we believe cannot
 * happen but handle anyway. In debug-check builds they assert.
 */
#ifdef SYNOD_DEBUG_CHECKS
#define ALWAYS(x) (SYN_ASSERT(x), true)
#define NEVER(x)  (SYN_ASSERT(!(x)), false)
#else
#define ALWAYS(x) (x)
#define NEVER(x)  (x)
#endif

#endif
