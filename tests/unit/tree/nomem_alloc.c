/* The failing allocator of nomem_alloc.h (compiled without the renaming). */
#undef malloc
#undef calloc
#undef realloc
#include "nomem_alloc.h"

#include <stdlib.h>

/* Test-only process state: the tests are single-threaded. */
static long fail_from = -1;
static long seen;
static int failed;

void nomem_fail_from(long n)
{
        fail_from = n;
        seen = 0;
        failed = 0;
}

long nomem_count(void)
{
        return seen;
}

int nomem_failed(void)
{
        return failed;
}

static int nomem_should_fail(void)
{
        long i = seen++;
        if (fail_from >= 0 && i >= fail_from) {
                failed = 1;
                return 1;
        }
        return 0;
}

void *nomem_malloc(size_t n)
{
        return nomem_should_fail() ? NULL : malloc(n);
}

void *nomem_calloc(size_t count, size_t size)
{
        return nomem_should_fail() ? NULL : calloc(count, size);
}

void *nomem_realloc(void *p, size_t n)
{
        return nomem_should_fail() ? NULL : realloc(p, n);
}
