/*
 * A failing allocator for out-of-memory tests. The test_tree_nomem target
 * compiles the tree and session sources with malloc/calloc/realloc renamed to
 * these (see CMakeLists.txt), so allocations made inside them can be made to
 * fail from the n-th one on.
 */
#ifndef SYN_TEST_NOMEM_ALLOC_H
#define SYN_TEST_NOMEM_ALLOC_H

#include <stddef.h>

void *nomem_malloc(size_t n);
void *nomem_calloc(size_t count, size_t size);
void *nomem_realloc(void *p, size_t n);
/* Allocations from the n-th (0 = the next one) on fail; n < 0 = none fail. */
void nomem_fail_from(long n);
/* Allocations attempted since the last nomem_fail_from(). */
long nomem_count(void);
/* True if an allocation failed since the last nomem_fail_from(). */
int nomem_failed(void);

#endif
