/*
 * libFuzzer target: the peer codec (proto/peer.h), fed a hostile peer's frame bodies.
 *
 * Every input goes to both decoders, the Raft message one and the handshake one. Whatever
 * decodes must re-encode to exactly the input (the layout is canonical), decode again,
 * and give the same message; every payload byte is read so ASan sees a bad pointer or
 * length. Seeds (fuzz/corpus/peer_msg/) are the encodings of tests/unit/proto/
 * test_peer_codec.c, which checks them and rewrites them with SYNOD_REWRITE=1.
 */
#include <stdint.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "proto/peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large (40 KiB each): static, reused by every input. */
static struct peer_raft_decoded fz_first, fz_second;

/* Reads every byte the message points to; returns a sum so the reads are not elided. */
static uint64_t fz_touch(const struct raft_message *m)
{
        uint64_t sum = 0;
        if (m->type == RAFT_MSG_APPEND) {
                SYN_ASSERT(m->append.n_entries <= RAFT_MSG_ENTRIES_MAX);
                for (uint32_t i = 0; i < m->append.n_entries; i++) {
                        const struct raft_entry *e = &m->append.entries[i];
                        SYN_ASSERT((e->len == 0) == (e->data == NULL));
                        for (size_t j = 0; j < e->len; j++)
                                sum += e->data[j];
                }
        }
        if (m->type == RAFT_MSG_SNAPSHOT) {
                SYN_ASSERT((m->snapshot.len == 0) == (m->snapshot.data == NULL));
                for (size_t j = 0; j < m->snapshot.len; j++)
                        sum += m->snapshot.data[j];
        }
        return sum;
}

/* Encodes m and checks the bytes equal data[0, size). */
static void fz_check_canonical(const struct raft_message *m, const uint8_t *data, size_t size,
                               struct syn_writer *w)
{
        syn_writer_init(w, 0);
        SYN_ASSERT(peer_raft_encode(w, m) == 0);
        SYN_ASSERT(w->len == size);
        SYN_ASSERT(memcmp(w->data, data, size) == 0);
}

static void fz_raft(const uint8_t *data, size_t size)
{
        if (peer_raft_decode(data, size, &fz_first) != 0)
                return;
        uint64_t sum = fz_touch(&fz_first.msg);
        struct syn_writer w;
        fz_check_canonical(&fz_first.msg, data, size, &w);
        SYN_ASSERT(peer_raft_decode(w.data, w.len, &fz_second) == 0);
        SYN_ASSERT(fz_touch(&fz_second.msg) == sum);
        /* The second decoding is the same message: it encodes to the same bytes again. */
        struct syn_writer again;
        fz_check_canonical(&fz_second.msg, data, size, &again);
        syn_writer_close(&again);
        syn_writer_close(&w);
}

static void fz_handshake(const uint8_t *data, size_t size)
{
        struct peer_handshake h, h2;
        if (peer_handshake_decode(data, size, &h) != 0 || h.version != PEER_PROTOCOL_VERSION)
                return;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        SYN_ASSERT(peer_handshake_encode(&w, &h) == 0);
        SYN_ASSERT(w.len == size);
        SYN_ASSERT(memcmp(w.data, data, size) == 0);
        SYN_ASSERT(peer_handshake_decode(w.data, w.len, &h2) == 0);
        SYN_ASSERT(h2.kind == h.kind);
        SYN_ASSERT(h2.cluster_id == h.cluster_id);
        SYN_ASSERT(h2.from_id == h.from_id);
        SYN_ASSERT(h2.target_id == h.target_id);
        SYN_ASSERT(h2.reason == h.reason);
        syn_writer_close(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        fz_raft(data, size);
        fz_handshake(data, size);
        return 0;
}
