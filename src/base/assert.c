/* The failure path of SYN_ASSERT: report and abort, never return. */
#include "base/assert.h"

#include <stdio.h>
#include <stdlib.h>

void syn_assert_fail(const char *expr, const char *file, int line)
{
        fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
        fflush(stderr);
        abort();
}
