/*
 * Cluster configurations: membership tests, validation and the byte encoding
 * carried in RAFT_ENTRY_CONF entries and snapshot metadata.
 *
 * Encoding (big-endian): u8 version (1), be32 n_voters, be32 n_learners, then
 * n_voters and n_learners be64 ids. Decoding treats the bytes as hostile
 * (they come from peers and from disk): exact length, counts within
 * RAFT_NODES_MAX, and the result must pass raft_config_valid().
 */
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "raft/raft.h"

#define RAFT_CONFIG_VERSION 1

static bool id_in(const uint64_t *ids, uint32_t n, uint64_t id)
{
        for (uint32_t i = 0; i < n; i++) {
                if (ids[i] == id) {
                        return true;
                }
        }
        return false;
}

bool raft_config_is_voter(const struct raft_config *c, uint64_t id)
{
        return id != RAFT_NONE && id_in(c->voters, c->n_voters, id);
}

bool raft_config_is_learner(const struct raft_config *c, uint64_t id)
{
        return id != RAFT_NONE && id_in(c->learners, c->n_learners, id);
}

bool raft_config_equal(const struct raft_config *a, const struct raft_config *b)
{
        if (a->n_voters != b->n_voters || a->n_learners != b->n_learners)
                return false;
        for (uint32_t i = 0; i < a->n_voters; i++)
                if (a->voters[i] != b->voters[i])
                        return false;
        for (uint32_t i = 0; i < a->n_learners; i++)
                if (a->learners[i] != b->learners[i])
                        return false;
        return true;
}

bool raft_config_valid(const struct raft_config *c)
{
        if (c->n_voters > RAFT_NODES_MAX || c->n_learners > RAFT_NODES_MAX ||
            c->n_voters + c->n_learners > RAFT_NODES_MAX) {
                return false;
        }
        for (uint32_t i = 0; i < c->n_voters; i++) {
                if (c->voters[i] == RAFT_NONE || id_in(c->voters, i, c->voters[i])) {
                        return false;
                }
        }
        for (uint32_t i = 0; i < c->n_learners; i++) {
                uint64_t id = c->learners[i];
                if (id == RAFT_NONE || id_in(c->learners, i, id) ||
                    id_in(c->voters, c->n_voters, id)) {
                        return false;
                }
        }
        return true;
}

int raft_config_encode(const struct raft_config *c, uint8_t *buf, size_t cap)
{
        size_t need = 1 + 4 + 4 + 8 * ((size_t)c->n_voters + c->n_learners);
        if (need > cap) {
                return SYN_ETOOBIG;
        }
        uint8_t *p = buf;
        *p++ = RAFT_CONFIG_VERSION;
        syn_put_be32(p, c->n_voters);
        p += 4;
        syn_put_be32(p, c->n_learners);
        p += 4;
        for (uint32_t i = 0; i < c->n_voters; i++, p += 8) {
                syn_put_be64(p, c->voters[i]);
        }
        for (uint32_t i = 0; i < c->n_learners; i++, p += 8) {
                syn_put_be64(p, c->learners[i]);
        }
        return (int)need;
}

int raft_config_decode(struct raft_config *c, const uint8_t *buf, size_t len)
{
        struct syn_reader r;
        syn_reader_init(&r, buf, len);
        memset(c, 0, sizeof(*c));
        uint8_t version = syn_read_u8(&r);
        uint32_t n_voters = syn_read_be32(&r);
        uint32_t n_learners = syn_read_be32(&r);
        if (r.failed || version != RAFT_CONFIG_VERSION || n_voters > RAFT_NODES_MAX ||
            n_learners > RAFT_NODES_MAX || n_voters + n_learners > RAFT_NODES_MAX ||
            syn_reader_left(&r) != 8 * ((size_t)n_voters + n_learners)) {
                return SYN_ECORRUPT;
        }
        c->n_voters = n_voters;
        c->n_learners = n_learners;
        for (uint32_t i = 0; i < n_voters; i++) {
                c->voters[i] = syn_read_be64(&r);
        }
        for (uint32_t i = 0; i < n_learners; i++) {
                c->learners[i] = syn_read_be64(&r);
        }
        if (r.failed || !raft_config_valid(c)) {
                memset(c, 0, sizeof(*c));
                return SYN_ECORRUPT;
        }
        return SYN_OK;
}
