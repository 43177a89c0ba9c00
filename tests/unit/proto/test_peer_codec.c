/*
 * Unit tests of the peer codec (proto/peer.h): every Raft message type and every
 * handshake kind round-trips; the encodings equal the committed seed files of
 * fuzz/corpus/peer_msg/ (so a change of the wire layout is seen, and must bump
 * PEER_PROTOCOL_VERSION; SYNOD_REWRITE=1 rewrites the seeds); every truncation, an extra
 * byte and out-of-range values are rejected; every single-bit mutation either is
 * rejected or decodes to something that re-encodes to exactly the mutated bytes; the
 * encoder refuses what the decoder would reject, leaving the writer as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "proto/peer.h"

/* The decoded struct is large: one for the tests, one for second decodings. */
static struct peer_raft_decoded dec_a, dec_b;

static const uint8_t payload_a[] = "create /a";
static const uint8_t payload_b[] = "set /a 42";
static const uint8_t chunk[] = "snapshot bytes: a tree, sessions and a digest";

static struct raft_config sample_config(void)
{
        struct raft_config c = {.n_voters = 3, .n_learners = 1};
        c.voters[0] = 1;
        c.voters[1] = 2;
        c.voters[2] = 3;
        c.learners[0] = 7;
        return c;
}

/* A RAFT_ENTRY_CONF payload (the sample configuration). */
static uint8_t conf_payload[RAFT_CONFIG_ENCODED_BYTES_MAX];
static size_t conf_payload_len;
static struct raft_entry sample_entries[4];

static void setup_entries(void)
{
        struct raft_config c = sample_config();
        int n = raft_config_encode(&c, conf_payload, sizeof conf_payload);
        assert_true(n > 0);
        conf_payload_len = (size_t)n;
        sample_entries[0] = (struct raft_entry){.term = 4, .index = 11, .type = RAFT_ENTRY_NOOP};
        sample_entries[1] = (struct raft_entry){.term = 4,
                                                .index = 12,
                                                .type = RAFT_ENTRY_NORMAL,
                                                .data = payload_a,
                                                .len = sizeof payload_a};
        sample_entries[2] = (struct raft_entry){.term = 5,
                                                .index = 13,
                                                .type = RAFT_ENTRY_CONF,
                                                .data = conf_payload,
                                                .len = conf_payload_len};
        sample_entries[3] = (struct raft_entry){.term = 5,
                                                .index = 14,
                                                .type = RAFT_ENTRY_NORMAL,
                                                .data = payload_b,
                                                .len = sizeof payload_b};
}

struct sample {
        const char *name; /* seed file name */
        struct raft_message msg;
};

enum { SAMPLES = 13 };

/* One message of every type, with every flag set somewhere and big values. */
static void samples(struct sample *s)
{
        setup_entries();
        struct raft_message base = {.from = 1, .to = 2, .term = 5};
        for (int i = 0; i < SAMPLES; i++)
                s[i].msg = base;
        s[0].name = "raft-vote";
        s[0].msg.type = RAFT_MSG_VOTE;
        s[0].msg.vote = (struct raft_msg_vote){
            .last_log_index = 14, .last_log_term = 5, .pre_vote = true, .transfer = true};
        s[1].name = "raft-vote-resp";
        s[1].msg.type = RAFT_MSG_VOTE_RESP;
        s[1].msg.vote_resp = (struct raft_msg_vote_resp){.pre_vote = false, .granted = true};
        s[2].name = "raft-append";
        s[2].msg.type = RAFT_MSG_APPEND;
        s[2].msg.append = (struct raft_msg_append){.prev_index = 10,
                                                   .prev_term = 3,
                                                   .commit = 9,
                                                   .entries = sample_entries,
                                                   .n_entries = 4};
        s[3].name = "raft-append-empty";
        s[3].msg.type = RAFT_MSG_APPEND;
        s[3].msg.append = (struct raft_msg_append){.prev_index = 14, .prev_term = 5, .commit = 14};
        s[4].name = "raft-append-resp";
        s[4].msg.type = RAFT_MSG_APPEND_RESP;
        s[4].msg.append_resp = (struct raft_msg_append_resp){
            .success = false, .index = 10, .hint_index = 8, .hint_term = 2, .last_index = 9};
        s[5].name = "raft-heartbeat";
        s[5].msg.type = RAFT_MSG_HEARTBEAT;
        s[5].msg.heartbeat = (struct raft_msg_heartbeat){.commit = 14, .read_seq = 77};
        s[6].name = "raft-heartbeat-resp";
        s[6].msg.type = RAFT_MSG_HEARTBEAT_RESP;
        s[6].msg.heartbeat_resp.read_seq = 77;
        s[7].name = "raft-snapshot";
        s[7].msg.type = RAFT_MSG_SNAPSHOT;
        s[7].msg.snapshot = (struct raft_msg_snapshot){
            .meta = {.index = 1000, .term = 4, .config = sample_config()},
            .offset = 65536,
            .data = chunk,
            .len = sizeof chunk,
            .done = true};
        s[8].name = "raft-snapshot-resp";
        s[8].msg.type = RAFT_MSG_SNAPSHOT_RESP;
        s[8].msg.snapshot_resp = (struct raft_msg_snapshot_resp){
            .index = 1000, .next_offset = 65536 + sizeof chunk, .done = true};
        s[9].name = "raft-timeout-now";
        s[9].msg.type = RAFT_MSG_TIMEOUT_NOW;
        s[10].name = "raft-read-index";
        s[10].msg.type = RAFT_MSG_READ_INDEX;
        s[10].msg.read_index.ctx = 0xfedcba9876543210ull;
        s[11].name = "raft-read-index-resp";
        s[11].msg.type = RAFT_MSG_READ_INDEX_RESP;
        s[11].msg.read_index_resp = (struct raft_msg_read_index_resp){
            .ctx = 0xfedcba9876543210ull, .index = 14, .ok = true};
        s[12].name = "raft-snapshot-empty-chunk";
        s[12].msg.type = RAFT_MSG_SNAPSHOT;
        s[12].msg.snapshot = (struct raft_msg_snapshot){
            .meta = {.index = 1000, .term = 4, .config = sample_config()}, .offset = 0};
}

static void assert_entries_equal(const struct raft_entry *a, const struct raft_entry *b, uint32_t n)
{
        for (uint32_t i = 0; i < n; i++) {
                assert_int_equal(a[i].term, b[i].term);
                assert_int_equal(a[i].index, b[i].index);
                assert_int_equal(a[i].type, b[i].type);
                assert_int_equal(a[i].len, b[i].len);
                assert_true((a[i].data == NULL) == (b[i].data == NULL));
                if (a[i].len > 0)
                        assert_memory_equal(a[i].data, b[i].data, a[i].len);
        }
}

static void assert_snapshot_equal(const struct raft_msg_snapshot *a,
                                  const struct raft_msg_snapshot *b)
{
        assert_int_equal(a->meta.index, b->meta.index);
        assert_int_equal(a->meta.term, b->meta.term);
        const struct raft_config *x = &a->meta.config, *y = &b->meta.config;
        assert_int_equal(x->n_voters, y->n_voters);
        assert_int_equal(x->n_learners, y->n_learners);
        assert_memory_equal(x->voters, y->voters, x->n_voters * sizeof x->voters[0]);
        assert_memory_equal(x->learners, y->learners, x->n_learners * sizeof x->learners[0]);
        assert_int_equal(a->offset, b->offset);
        assert_int_equal(a->done, b->done);
        assert_int_equal(a->len, b->len);
        assert_true((a->data == NULL) == (b->data == NULL));
        if (a->len > 0)
                assert_memory_equal(a->data, b->data, a->len);
}

/* The fields of the small types, as one array of values per message. */
static size_t small_fields(const struct raft_message *m, uint64_t *v)
{
        switch (m->type) {
        case RAFT_MSG_VOTE:
                v[0] = m->vote.last_log_index;
                v[1] = m->vote.last_log_term;
                v[2] = m->vote.pre_vote;
                v[3] = m->vote.transfer;
                return 4;
        case RAFT_MSG_VOTE_RESP:
                v[0] = m->vote_resp.pre_vote;
                v[1] = m->vote_resp.granted;
                return 2;
        case RAFT_MSG_APPEND_RESP:
                v[0] = m->append_resp.success;
                v[1] = m->append_resp.index;
                v[2] = m->append_resp.hint_index;
                v[3] = m->append_resp.hint_term;
                v[4] = m->append_resp.last_index;
                return 5;
        case RAFT_MSG_HEARTBEAT:
                v[0] = m->heartbeat.commit;
                v[1] = m->heartbeat.read_seq;
                return 2;
        case RAFT_MSG_HEARTBEAT_RESP:
                v[0] = m->heartbeat_resp.read_seq;
                return 1;
        case RAFT_MSG_SNAPSHOT_RESP:
                v[0] = m->snapshot_resp.index;
                v[1] = m->snapshot_resp.next_offset;
                v[2] = m->snapshot_resp.done;
                return 3;
        case RAFT_MSG_READ_INDEX:
                v[0] = m->read_index.ctx;
                return 1;
        case RAFT_MSG_READ_INDEX_RESP:
                v[0] = m->read_index_resp.ctx;
                v[1] = m->read_index_resp.index;
                v[2] = m->read_index_resp.ok;
                return 3;
        default:
                return 0;
        }
}

/* Field by field: pointers differ, what they point to must not. */
static void assert_msg_equal(const struct raft_message *a, const struct raft_message *b)
{
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->from, b->from);
        assert_int_equal(a->to, b->to);
        assert_int_equal(a->term, b->term);
        if (a->type == RAFT_MSG_APPEND) {
                assert_int_equal(a->append.prev_index, b->append.prev_index);
                assert_int_equal(a->append.prev_term, b->append.prev_term);
                assert_int_equal(a->append.commit, b->append.commit);
                assert_int_equal(a->append.n_entries, b->append.n_entries);
                assert_entries_equal(a->append.entries, b->append.entries, a->append.n_entries);
                return;
        }
        if (a->type == RAFT_MSG_SNAPSHOT) {
                assert_snapshot_equal(&a->snapshot, &b->snapshot);
                return;
        }
        uint64_t x[8], y[8];
        size_t n = small_fields(a, x);
        assert_int_equal(small_fields(b, y), n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(x[i], y[i]);
}

/* Encodes m into a fresh writer (the caller closes it). */
static void encode(const struct raft_message *m, struct syn_writer *w)
{
        syn_writer_init(w, 0);
        assert_int_equal(peer_raft_encode(w, m), 0);
}

static void test_round_trip_every_type(void **state)
{
        (void)state;
        struct sample s[SAMPLES];
        memset(s, 0, sizeof s);
        samples(s);
        bool seen[RAFT_MSG_READ_INDEX_RESP + 1] = {false};
        for (int i = 0; i < SAMPLES; i++) {
                struct syn_writer w;
                encode(&s[i].msg, &w);
                assert_int_equal(peer_raft_decode(w.data, w.len, &dec_a), 0);
                assert_msg_equal(&s[i].msg, &dec_a.msg);
                seen[s[i].msg.type] = true;
                /* Payloads are borrowed from the input, not copied. */
                if (s[i].msg.type == RAFT_MSG_APPEND && dec_a.msg.append.n_entries > 1) {
                        const uint8_t *p = dec_a.msg.append.entries[1].data;
                        assert_true(p >= w.data);
                        assert_true(p < w.data + w.len);
                        assert_null(dec_a.msg.append.entries[0].data); /* the NOOP */
                }
                syn_writer_close(&w);
        }
        for (int t = RAFT_MSG_VOTE; t <= RAFT_MSG_READ_INDEX_RESP; t++)
                assert_true(seen[t]);
}

static void check_seed(const char *name, const uint8_t *bytes, size_t len)
{
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", PEER_SEED_DIR, name);
        if (getenv("SYNOD_REWRITE") != NULL) {
                FILE *f = fopen(path, "wb");
                assert_non_null(f);
                assert_int_equal(fwrite(bytes, 1, len, f), len);
                fclose(f);
                return;
        }
        static uint8_t seed[4096];
        FILE *f = fopen(path, "rb");
        if (f == NULL)
                fail_msg("missing seed %s (SYNOD_REWRITE=1 writes it)", path);
        size_t n = fread(seed, 1, sizeof seed, f);
        fclose(f);
        if (n != len || memcmp(seed, bytes, len) != 0)
                fail_msg("the encoding of %s differs from %s: a wire change must bump "
                         "PEER_PROTOCOL_VERSION; then rewrite with SYNOD_REWRITE=1",
                         name, path);
}

static void handshakes(struct peer_handshake *h)
{
        h[0] = (struct peer_handshake){.kind = PEER_HELLO,
                                       .version = PEER_PROTOCOL_VERSION,
                                       .cluster_id = 0x5359d0d0cafe0001ull,
                                       .from_id = 1,
                                       .target_id = 2};
        h[1] = (struct peer_handshake){
            .kind = PEER_HELLO_OK, .version = PEER_PROTOCOL_VERSION, .from_id = 2};
        h[2] = (struct peer_handshake){
            .kind = PEER_REFUSE, .version = PEER_PROTOCOL_VERSION, .reason = PEER_REFUSE_CLUSTER};
}

static void test_encodings_match_seeds(void **state)
{
        (void)state;
        struct sample s[SAMPLES];
        memset(s, 0, sizeof s);
        samples(s);
        for (int i = 0; i < SAMPLES; i++) {
                struct syn_writer w;
                encode(&s[i].msg, &w);
                check_seed(s[i].name, w.data, w.len);
                syn_writer_close(&w);
        }
        static const char *names[3] = {"hello", "hello-ok", "refuse"};
        struct peer_handshake h[3];
        handshakes(h);
        for (int i = 0; i < 3; i++) {
                struct syn_writer w;
                syn_writer_init(&w, 0);
                assert_int_equal(peer_handshake_encode(&w, &h[i]), 0);
                check_seed(names[i], w.data, w.len);
                syn_writer_close(&w);
        }
}

static void test_truncated_and_trailing_rejected(void **state)
{
        (void)state;
        struct sample s[SAMPLES];
        memset(s, 0, sizeof s);
        samples(s);
        for (int i = 0; i < SAMPLES; i++) {
                struct syn_writer w;
                encode(&s[i].msg, &w);
                for (size_t n = 0; n < w.len; n++) {
                        /* A heap copy of exactly n bytes: ASan sees any read past it. */
                        uint8_t *cut = malloc(n + 1);
                        memcpy(cut, w.data, n);
                        assert_int_equal(peer_raft_decode(cut, n, &dec_a), SYN_EPROTO);
                        free(cut);
                }
                syn_write_u8(&w, 0);
                assert_int_equal(peer_raft_decode(w.data, w.len, &dec_a), SYN_EPROTO);
                syn_writer_close(&w);
        }
}

/* Every single-bit flip: rejected, or canonical (re-encodes to the same bytes). */
static void test_bit_flips_rejected_or_canonical(void **state)
{
        (void)state;
        struct sample s[SAMPLES];
        memset(s, 0, sizeof s);
        samples(s);
        int accepted = 0;
        for (int i = 0; i < SAMPLES; i++) {
                struct syn_writer w;
                encode(&s[i].msg, &w);
                for (size_t bit = 0; bit < w.len * 8; bit++) {
                        w.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                        if (peer_raft_decode(w.data, w.len, &dec_a) == 0) {
                                accepted++;
                                struct syn_writer again;
                                encode(&dec_a.msg, &again);
                                assert_int_equal(again.len, w.len);
                                assert_memory_equal(again.data, w.data, w.len);
                                syn_writer_close(&again);
                        }
                        w.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                }
                syn_writer_close(&w);
        }
        assert_true(accepted > 0); /* ids, terms and payload bytes may take any value */
}

/* Encodes m, overwrites n bytes at offset with `bytes`, and expects SYN_EPROTO. */
static void expect_rejected(const struct raft_message *m, size_t offset, const uint8_t *bytes,
                            size_t n)
{
        struct syn_writer w;
        encode(m, &w);
        assert_true(offset + n <= w.len);
        memcpy(w.data + offset, bytes, n);
        assert_int_equal(peer_raft_decode(w.data, w.len, &dec_a), SYN_EPROTO);
        syn_writer_close(&w);
}

static void test_out_of_range_values_rejected(void **state)
{
        (void)state;
        struct sample s[SAMPLES];
        memset(s, 0, sizeof s);
        samples(s);
        const uint8_t zero = 0, twelve = 12, four = 4, flag_bit = 0x80;
        expect_rejected(&s[0].msg, 0, &zero, 1);           /* message type 0 */
        expect_rejected(&s[0].msg, 0, &twelve, 1);         /* message type past the last */
        expect_rejected(&s[0].msg, 25 + 16, &flag_bit, 1); /* unknown vote flag */
        /* append: header 25, prev_index 8, prev_term 8, commit 8, count 4 at 49 */
        uint8_t count[4];
        syn_put_be32(count, RAFT_MSG_ENTRIES_MAX + 1);
        expect_rejected(&s[2].msg, 49, count, 4);
        expect_rejected(&s[2].msg, 53, &zero, 1); /* first entry's type 0 */
        expect_rejected(&s[2].msg, 53, &four, 1); /* first entry's type past CONF */
        uint8_t elen[4];
        syn_put_be32(elen, RAFT_ENTRY_BYTES_MAX + 1);
        expect_rejected(&s[2].msg, 53 + 9, elen, 4); /* the NOOP's length */
        /* the CONF entry (third) with a duplicate voter: 53 + 13 (NOOP) + 13 + payload_a,
         * then its header 13, then version 1 + counts 8, voters 2 and 3 at +9+8 */
        size_t conf = 53 + 13 + 13 + sizeof payload_a + 13;
        uint8_t dup[8];
        syn_put_be64(dup, 1);
        expect_rejected(&s[2].msg, conf + 9 + 8, dup, 8);
        /* prev_index whose entries would pass WAL_INDEX_MAX */
        uint8_t prev[8];
        syn_put_be64(prev, WAL_INDEX_MAX - 3);
        expect_rejected(&s[2].msg, 25, prev, 8);
        /* snapshot: header 25, index 8, term 8, config length at 41 */
        uint8_t cfg_len[4];
        syn_put_be32(cfg_len, RAFT_CONFIG_ENCODED_BYTES_MAX + 1);
        expect_rejected(&s[7].msg, 41, cfg_len, 4);
        size_t after_cfg = 45 + conf_payload_len; /* offset 8, flags 1, length 4 */
        expect_rejected(&s[7].msg, after_cfg + 8, &flag_bit, 1);
        uint8_t dlen[4];
        syn_put_be32(dlen, RAFT_SNAPSHOT_CHUNK_BYTES + 1);
        expect_rejected(&s[7].msg, after_cfg + 9, dlen, 4);
        expect_rejected(&s[11].msg, 25 + 16, &flag_bit, 1); /* unknown read-index flag */
}

static void test_largest_append_round_trips(void **state)
{
        (void)state;
        static struct raft_entry entries[RAFT_MSG_ENTRIES_MAX + 1];
        static uint8_t big[RAFT_ENTRY_BYTES_MAX + 1];
        for (uint32_t i = 0; i <= RAFT_MSG_ENTRIES_MAX; i++)
                entries[i] = (struct raft_entry){
                    .term = 9, .index = 101 + i, .type = RAFT_ENTRY_NORMAL, .data = big, .len = 1};
        entries[0].len = RAFT_ENTRY_BYTES_MAX; /* one maximal entry goes alone or first */
        struct raft_message m = {.type = RAFT_MSG_APPEND, .from = 3, .to = 1, .term = 9};
        m.append = (struct raft_msg_append){.prev_index = 100,
                                            .prev_term = 9,
                                            .entries = entries,
                                            .n_entries = RAFT_MSG_ENTRIES_MAX};
        struct syn_writer w;
        encode(&m, &w);
        assert_true(w.len <= PEER_RAFT_MSG_BYTES_MAX);
        assert_int_equal(peer_raft_decode(w.data, w.len, &dec_a), 0);
        assert_msg_equal(&m, &dec_a.msg);
        assert_int_equal(peer_raft_decode(w.data, w.len, &dec_b), 0);
        size_t len = w.len;
        /* Refused, leaving the writer as it was: one entry too many, one too large. */
        m.append.n_entries = RAFT_MSG_ENTRIES_MAX + 1;
        assert_int_equal(peer_raft_encode(&w, &m), SYN_ETOOBIG);
        m.append.n_entries = 1;
        entries[0].len = RAFT_ENTRY_BYTES_MAX + 1;
        assert_int_equal(peer_raft_encode(&w, &m), SYN_ETOOBIG);
        assert_int_equal(w.len, len);
        assert_false(w.failed);
        syn_writer_close(&w);
}

static void test_encoder_refuses_what_decoder_rejects(void **state)
{
        (void)state;
        struct sample s[SAMPLES];
        memset(s, 0, sizeof s);
        samples(s);
        static uint8_t big[RAFT_SNAPSHOT_CHUNK_BYTES + 1];
        struct raft_message m = s[7].msg;
        m.snapshot.data = big;
        m.snapshot.len = sizeof big;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(peer_raft_encode(&w, &m), SYN_ETOOBIG);
        assert_int_equal(w.len, 0);
        m.snapshot.len = RAFT_SNAPSHOT_CHUNK_BYTES;
        assert_int_equal(peer_raft_encode(&w, &m), 0);
        assert_int_equal(peer_raft_decode(w.data, w.len, &dec_a), 0);
        syn_writer_close(&w);
        /* A writer whose cap is too small: refused, nothing appended, not failed. */
        syn_writer_init(&w, 16);
        syn_write_u8(&w, 0xaa);
        assert_int_equal(peer_raft_encode(&w, &s[0].msg), SYN_ETOOBIG);
        assert_int_equal(w.len, 1);
        assert_false(w.failed);
        syn_writer_close(&w);
}

static void test_handshake_round_trip_and_rejects(void **state)
{
        (void)state;
        struct peer_handshake h[3], out;
        handshakes(h);
        for (int i = 0; i < 3; i++) {
                struct syn_writer w;
                syn_writer_init(&w, 0);
                assert_int_equal(peer_handshake_encode(&w, &h[i]), 0);
                assert_true(w.len <= PEER_HANDSHAKE_BYTES_MAX);
                assert_int_equal(peer_handshake_decode(w.data, w.len, &out), 0);
                assert_int_equal(out.kind, h[i].kind);
                assert_int_equal(out.version, h[i].version);
                assert_int_equal(out.cluster_id, h[i].cluster_id);
                assert_int_equal(out.from_id, h[i].from_id);
                assert_int_equal(out.target_id, h[i].target_id);
                assert_int_equal(out.reason, h[i].reason);
                for (size_t n = 0; n < w.len; n++)
                        assert_int_equal(peer_handshake_decode(w.data, n, &out), SYN_EPROTO);
                syn_write_u8(&w, 0);
                assert_int_equal(peer_handshake_decode(w.data, w.len, &out), SYN_EPROTO);
                syn_writer_close(&w);
        }
        /* magic, version 2, kind HELLO, and a body we do not know: only the version read */
        uint8_t other[4 + 4 + 1 + 40] = {0x53, 0x59, 0x4e, 0x50, 0, 0, 0, 2, PEER_HELLO};
        assert_int_equal(peer_handshake_decode(other, sizeof other, &out), 0);
        assert_int_equal(out.version, 2);
        assert_int_equal(out.kind, PEER_HELLO);
        assert_int_equal(out.from_id, 0);
        other[0] = 'X';
        assert_int_equal(peer_handshake_decode(other, sizeof other, &out), SYN_EPROTO);
        /* a REFUSE with an unknown reason; a kind past REFUSE */
        uint8_t refuse[10] = {0x53,        0x59,
                              0x4e,        0x50,
                              0,           0,
                              0,           PEER_PROTOCOL_VERSION,
                              PEER_REFUSE, PEER_REFUSE_REASON_MAX + 1};
        assert_int_equal(peer_handshake_decode(refuse, sizeof refuse, &out), SYN_EPROTO);
        refuse[8] = PEER_REFUSE + 1;
        assert_int_equal(peer_handshake_decode(refuse, 9, &out), SYN_EPROTO);
        assert_string_equal(peer_refuse_reason_name(PEER_REFUSE_CLUSTER), "cluster id differs");
        assert_string_equal(peer_refuse_reason_name(0), "unknown reason");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip_every_type),
            cmocka_unit_test(test_encodings_match_seeds),
            cmocka_unit_test(test_truncated_and_trailing_rejected),
            cmocka_unit_test(test_bit_flips_rejected_or_canonical),
            cmocka_unit_test(test_out_of_range_values_rejected),
            cmocka_unit_test(test_largest_append_round_trips),
            cmocka_unit_test(test_encoder_refuses_what_decoder_rejects),
            cmocka_unit_test(test_handshake_round_trip_and_rejects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
