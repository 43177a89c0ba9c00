/*
 * Deep copies of raft messages. Everything in a raft_update is borrowed until
 * the core's next step, so a message that travels through the simulated
 * network is copied first: the header, its entries and their payloads (or a
 * snapshot chunk's data) go into one allocation that the packet owns.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "sim.h"

uint64_t sim_hash_bytes(uint64_t h, const void *data, size_t len)
{
        const uint8_t *p = data;
        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= 0x100000001b3ull;
        }
        return h;
}

uint64_t sim_entry_content_hash(const struct raft_entry *e)
{
        uint8_t type = (uint8_t)e->type;
        uint64_t h = sim_hash_bytes(SIM_HASH_INIT, &type, 1);
        uint64_t len = e->len;
        h = sim_hash_bytes(h, &len, sizeof(len));
        return sim_hash_bytes(h, e->data, e->len);
}

static size_t sim_packet_payload_bytes(const struct raft_message *m)
{
        size_t bytes = 0;
        if (m->type == RAFT_MSG_APPEND) {
                bytes += m->append.n_entries * sizeof(struct raft_entry);
                for (uint32_t i = 0; i < m->append.n_entries; i++)
                        bytes += m->append.entries[i].len;
        } else if (m->type == RAFT_MSG_SNAPSHOT) {
                bytes += m->snapshot.len;
        }
        return bytes;
}

struct sim_packet *sim_packet_copy(const struct raft_message *m)
{
        size_t extra = sim_packet_payload_bytes(m);
        struct sim_packet *p = malloc(sizeof(*p) + extra);
        if (p == NULL)
                return NULL;
        p->next = NULL;
        p->msg = *m;
        uint8_t *tail = (uint8_t *)(p + 1);
        if (m->type == RAFT_MSG_APPEND && m->append.n_entries > 0) {
                struct raft_entry *es = (struct raft_entry *)tail;
                uint8_t *data = tail + m->append.n_entries * sizeof(struct raft_entry);
                for (uint32_t i = 0; i < m->append.n_entries; i++) {
                        es[i] = m->append.entries[i];
                        if (es[i].len > 0) {
                                memcpy(data, m->append.entries[i].data, es[i].len);
                                es[i].data = data;
                                data += es[i].len;
                        } else {
                                es[i].data = NULL;
                        }
                }
                p->msg.append.entries = es;
        } else if (m->type == RAFT_MSG_APPEND) {
                p->msg.append.entries = NULL;
        } else if (m->type == RAFT_MSG_SNAPSHOT && m->snapshot.len > 0) {
                memcpy(tail, m->snapshot.data, m->snapshot.len);
                p->msg.snapshot.data = tail;
        }
        return p;
}

void sim_packet_free(struct sim_packet *p)
{
        free(p);
}
