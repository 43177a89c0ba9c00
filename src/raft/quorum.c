/*
 * Pure quorum arithmetic (etcd's quorum/majority.go idea): no Raft state,
 * just numbers. With at most RAFT_NODES_MAX voters an insertion sort is the
 * clearest way to find the index a majority has reached.
 */
#include "base/assert.h"
#include "raft/raft_priv.h"

uint64_t quorum_index(const uint64_t *match, size_t n)
{
        SYN_ASSERT(n >= 1);
        SYN_ASSERT(n <= RAFT_NODES_MAX);
        uint64_t sorted[RAFT_NODES_MAX];
        for (size_t i = 0; i < n; i++) {
                uint64_t v = match[i];
                size_t j = i;
                /* descending order */
                while (j > 0 && sorted[j - 1] < v) {
                        sorted[j] = sorted[j - 1];
                        j--;
                }
                sorted[j] = v;
        }
        /* The (n/2 + 1)-th largest value is held by a majority. */
        return sorted[n / 2];
}

enum quorum_result quorum_vote(size_t granted, size_t rejected, size_t voters)
{
        SYN_ASSERT(granted + rejected <= voters);
        size_t majority = voters / 2 + 1;
        if (granted >= majority) {
                return QUORUM_WON;
        }
        if (voters - rejected < majority) {
                return QUORUM_LOST;
        }
        return QUORUM_PENDING;
}
