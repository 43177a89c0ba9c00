/*
 * libFuzzer target for the tree's hostile-input decoders: the input is fed to
 * tree_snap_read() (snapshot bytes from disk or a peer) and to txn_decode() (a
 * Raft entry payload). A txn that decodes is then applied to a small tree, so
 * tree_apply() also meets arbitrary paths, ACLs, flags and multis. A loaded
 * snapshot is written again and must read back with the same digest. The input
 * is also tried with a recomputed CRC trailer to reach the parser. Nothing
 * may crash, leak or trip an assertion.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <string.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "tree/tree.h"
#include "tree/txn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_snapshot(const uint8_t *data, size_t size)
{
        struct tree_options opt = {.extended_types_enabled = true};
        struct tree t;
        if (tree_snap_read(data, size, &opt, &t) != SYN_OK)
                return;
        if (tree_check(&t) != SYN_OK)
                abort();
        struct syn_writer w;
        syn_writer_init(&w, 0);
        if (tree_snap_write(&t, &w) == SYN_OK) {
                struct tree again;
                if (tree_snap_read(w.data, w.len, &opt, &again) != SYN_OK)
                        abort();
                if (tree_digest(&again) != tree_digest(&t))
                        abort();
                tree_close(&again);
        }
        syn_writer_close(&w);
        tree_close(&t);
}

static void fuzz_txn(const uint8_t *data, size_t size)
{
        struct txn txn;
        if (txn_decode(data, size, &txn) != SYN_OK)
                return;
        struct tree t;
        if (tree_init(&t, &(struct tree_options){.extended_types_enabled = true}) != SYN_OK) {
                txn_release(&txn);
                return;
        }
        struct tree_result res;
        struct tree_events ev;
        tree_result_init(&res);
        tree_events_init(&ev);
        /* A session and a node to work on, then the fuzzed txn twice. */
        struct txn s = {.type = TXN_CREATE_SESSION, .session = {.id = 0x100, .timeout_ms = 1000}};
        (void)tree_apply(&t, &s, 1, &res, &ev);
        (void)tree_apply(&t, &txn, 2, &res, &ev);
        (void)tree_apply(&t, &txn, 3, &res, &ev);
        struct txn c = {.type = TXN_CLOSE_SESSION, .session = {.id = 0x100}};
        (void)tree_apply(&t, &c, 4, &res, &ev);
        if (tree_check(&t) != SYN_OK)
                abort();
        tree_result_close(&res);
        tree_events_close(&ev);
        tree_close(&t);
        txn_release(&txn);
}

/* The CRC stops almost every mutation at the door: also try the input with its
 * trailer recomputed, so the parser behind the CRC gets fuzzed too. */
static void fuzz_snapshot_fixed_crc(const uint8_t *data, size_t size)
{
        if (size < 8)
                return;
        uint8_t *copy = malloc(size);
        if (copy == NULL)
                return;
        memcpy(copy, data, size);
        syn_put_be32(copy + size - 4, syn_crc32c(0, copy, size - 4));
        fuzz_snapshot(copy, size);
        free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        fuzz_snapshot(data, size);
        fuzz_snapshot_fixed_crc(data, size);
        fuzz_txn(data, size);
        return 0;
}
