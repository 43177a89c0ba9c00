/*
 * Encoding of Raft messages and of the link handshake (the contract is proto/peer.h; the
 * layout, field by field, is in docs/peer-protocol.md).
 *
 * The encoder first computes the exact size of a message, checking on the way every limit
 * the decoder enforces (the pair of checks: what we send, we would accept), then reserves
 * that many bytes and writes them; the size it computed is asserted afterwards. So an
 * error never leaves half a message in the writer.
 *
 * The decoder reads through a syn_reader whose sticky `failed` flag also records a value
 * that is out of range (decode_fail), so each function reads straight through and the
 * caller checks once. The layout is canonical (no redundant fields, flag bits that must be
 * zero, a configuration in raft_config_encode's one encoding), so whatever decodes
 * re-encodes to the same bytes.
 */
#include "proto/peer.h"

#include <string.h>

#include "base/assert.h"
#include "base/err.h"

/* type, from, to, term */
#define PEER_RAFT_HEADER_BYTES (1 + 8 + 8 + 8)
/* per entry of an append: type, term, payload length */
#define PEER_ENTRY_HEADER_BYTES (1 + 8 + 4)
/* append: prev_index, prev_term, commit, entry count */
#define PEER_APPEND_FIXED_BYTES (8 + 8 + 8 + 4)
/* snapshot: index, term, config length, offset, flags, data length */
#define PEER_SNAPSHOT_FIXED_BYTES (8 + 8 + 4 + 8 + 1 + 4)
/* handshake: magic, version, kind; HELLO adds three ids */
#define PEER_HANDSHAKE_HEADER_BYTES (4 + 4 + 1)

_Static_assert(PEER_RAFT_HEADER_BYTES + PEER_APPEND_FIXED_BYTES +
                       RAFT_MSG_ENTRIES_MAX * PEER_ENTRY_HEADER_BYTES + RAFT_MSG_BYTES_DEFAULT +
                       RAFT_ENTRY_BYTES_MAX <=
                   PEER_RAFT_MSG_BYTES_MAX,
               "the largest append the core builds with the default max_msg_bytes encodes");
_Static_assert(PEER_RAFT_HEADER_BYTES + PEER_SNAPSHOT_FIXED_BYTES + RAFT_CONFIG_ENCODED_BYTES_MAX +
                       RAFT_SNAPSHOT_CHUNK_BYTES <=
                   PEER_RAFT_MSG_BYTES_MAX,
               "a full snapshot chunk encodes");
_Static_assert(PEER_HANDSHAKE_HEADER_BYTES + 3 * 8 <= PEER_HANDSHAKE_BYTES_MAX,
               "our HELLO fits the handshake limit");

/* Flag bits of each message type; any other bit set is malformed. */
enum {
        FLAG_VOTE_PRE = 1,
        FLAG_VOTE_TRANSFER = 2,
        FLAG_VOTE_RESP_PRE = 1,
        FLAG_VOTE_RESP_GRANTED = 2,
        FLAG_APPEND_RESP_SUCCESS = 1,
        FLAG_SNAPSHOT_DONE = 1,
        FLAG_SNAPSHOT_RESP_DONE = 1,
        FLAG_READ_INDEX_RESP_OK = 1,
};

static uint8_t flag(bool on, uint8_t bit)
{
        return on ? bit : 0;
}

static bool msg_type_valid(uint32_t type)
{
        return type >= RAFT_MSG_VOTE && type <= RAFT_MSG_READ_INDEX_RESP;
}

static bool entry_type_valid(uint32_t type)
{
        return type == RAFT_ENTRY_NORMAL || type == RAFT_ENTRY_NOOP || type == RAFT_ENTRY_CONF;
}

/* ---- encoding ---- */

/* Body size of an append after its header; SYN_ETOOBIG past the decoder's limits. */
static int append_bytes(const struct raft_msg_append *a, size_t *out)
{
        if (a->n_entries > RAFT_MSG_ENTRIES_MAX)
                return SYN_ETOOBIG;
        SYN_ASSERT(a->n_entries == 0 || a->entries != NULL);
        SYN_ASSERT(a->n_entries == 0 || a->prev_index <= WAL_INDEX_MAX - a->n_entries);
        size_t n = PEER_APPEND_FIXED_BYTES;
        for (uint32_t i = 0; i < a->n_entries; i++) {
                const struct raft_entry *e = &a->entries[i];
                SYN_ASSERT(e->index == a->prev_index + 1 + i);
                SYN_ASSERT(entry_type_valid(e->type));
                SYN_ASSERT(e->len == 0 || e->data != NULL);
                if (e->len > RAFT_ENTRY_BYTES_MAX)
                        return SYN_ETOOBIG;
                n += PEER_ENTRY_HEADER_BYTES + e->len;
                if (n > PEER_RAFT_MSG_BYTES_MAX)
                        return SYN_ETOOBIG; /* also keeps n from overflowing */
        }
        *out = n;
        return 0;
}

/* Size of the whole encoding of m; cfg_len is the encoded snapshot configuration. */
static int encoded_bytes(const struct raft_message *m, size_t cfg_len, size_t *out)
{
        size_t body = 0;
        switch (m->type) {
        case RAFT_MSG_VOTE:
                body = 8 + 8 + 1;
                break;
        case RAFT_MSG_VOTE_RESP:
                body = 1;
                break;
        case RAFT_MSG_APPEND: {
                int rc = append_bytes(&m->append, &body);
                if (rc != 0)
                        return rc;
                break;
        }
        case RAFT_MSG_APPEND_RESP:
                body = 1 + 4 * 8;
                break;
        case RAFT_MSG_HEARTBEAT:
                body = 8 + 8;
                break;
        case RAFT_MSG_HEARTBEAT_RESP:
        case RAFT_MSG_READ_INDEX:
                body = 8;
                break;
        case RAFT_MSG_SNAPSHOT:
                if (m->snapshot.len > RAFT_SNAPSHOT_CHUNK_BYTES)
                        return SYN_ETOOBIG;
                SYN_ASSERT(m->snapshot.len == 0 || m->snapshot.data != NULL);
                body = PEER_SNAPSHOT_FIXED_BYTES + cfg_len + m->snapshot.len;
                break;
        case RAFT_MSG_SNAPSHOT_RESP:
        case RAFT_MSG_READ_INDEX_RESP:
                body = 8 + 8 + 1;
                break;
        case RAFT_MSG_TIMEOUT_NOW:
                body = 0;
                break;
        default:
                SYN_UNREACHABLE();
        }
        *out = PEER_RAFT_HEADER_BYTES + body;
        return *out > PEER_RAFT_MSG_BYTES_MAX ? SYN_ETOOBIG : 0;
}

static void write_append(struct syn_writer *w, const struct raft_msg_append *a)
{
        syn_write_be64(w, a->prev_index);
        syn_write_be64(w, a->prev_term);
        syn_write_be64(w, a->commit);
        syn_write_be32(w, a->n_entries);
        for (uint32_t i = 0; i < a->n_entries; i++) {
                const struct raft_entry *e = &a->entries[i];
                syn_write_u8(w, (uint8_t)e->type);
                syn_write_be64(w, e->term);
                syn_write_be32(w, (uint32_t)e->len);
                syn_write_bytes(w, e->data, e->len);
        }
}

static void write_snapshot(struct syn_writer *w, const struct raft_msg_snapshot *s,
                           const uint8_t *cfg, size_t cfg_len)
{
        syn_write_be64(w, s->meta.index);
        syn_write_be64(w, s->meta.term);
        syn_write_be32(w, (uint32_t)cfg_len);
        syn_write_bytes(w, cfg, cfg_len);
        syn_write_be64(w, s->offset);
        syn_write_u8(w, flag(s->done, FLAG_SNAPSHOT_DONE));
        syn_write_be32(w, (uint32_t)s->len);
        syn_write_bytes(w, s->data, s->len);
}

/* The fields after the header of every type but append and snapshot. */
static void write_small(struct syn_writer *w, const struct raft_message *m)
{
        switch (m->type) {
        case RAFT_MSG_VOTE:
                syn_write_be64(w, m->vote.last_log_index);
                syn_write_be64(w, m->vote.last_log_term);
                syn_write_u8(w, flag(m->vote.pre_vote, FLAG_VOTE_PRE) |
                                    flag(m->vote.transfer, FLAG_VOTE_TRANSFER));
                break;
        case RAFT_MSG_VOTE_RESP:
                syn_write_u8(w, flag(m->vote_resp.pre_vote, FLAG_VOTE_RESP_PRE) |
                                    flag(m->vote_resp.granted, FLAG_VOTE_RESP_GRANTED));
                break;
        case RAFT_MSG_APPEND_RESP:
                syn_write_u8(w, flag(m->append_resp.success, FLAG_APPEND_RESP_SUCCESS));
                syn_write_be64(w, m->append_resp.index);
                syn_write_be64(w, m->append_resp.hint_index);
                syn_write_be64(w, m->append_resp.hint_term);
                syn_write_be64(w, m->append_resp.last_index);
                break;
        case RAFT_MSG_HEARTBEAT:
                syn_write_be64(w, m->heartbeat.commit);
                syn_write_be64(w, m->heartbeat.read_seq);
                break;
        case RAFT_MSG_HEARTBEAT_RESP:
                syn_write_be64(w, m->heartbeat_resp.read_seq);
                break;
        case RAFT_MSG_SNAPSHOT_RESP:
                syn_write_be64(w, m->snapshot_resp.index);
                syn_write_be64(w, m->snapshot_resp.next_offset);
                syn_write_u8(w, flag(m->snapshot_resp.done, FLAG_SNAPSHOT_RESP_DONE));
                break;
        case RAFT_MSG_READ_INDEX:
                syn_write_be64(w, m->read_index.ctx);
                break;
        case RAFT_MSG_READ_INDEX_RESP:
                syn_write_be64(w, m->read_index_resp.ctx);
                syn_write_be64(w, m->read_index_resp.index);
                syn_write_u8(w, flag(m->read_index_resp.ok, FLAG_READ_INDEX_RESP_OK));
                break;
        default: /* TIMEOUT_NOW has no fields; append and snapshot are not small */
                break;
        }
}

/* Makes room for n more bytes: SYN_ETOOBIG over w's cap, SYN_ENOMEM if it cannot grow. */
static int reserve(struct syn_writer *w, size_t n)
{
        if (!w->failed && (w->len > w->cap_max || n > w->cap_max - w->len))
                return SYN_ETOOBIG;
        return syn_writer_reserve(w, n) ? 0 : SYN_ENOMEM;
}

int peer_raft_encode(struct syn_writer *w, const struct raft_message *m)
{
        SYN_ASSERT(msg_type_valid(m->type));
        uint8_t cfg[RAFT_CONFIG_ENCODED_BYTES_MAX];
        size_t cfg_len = 0;
        if (m->type == RAFT_MSG_SNAPSHOT) {
                SYN_ASSERT(raft_config_valid(&m->snapshot.meta.config));
                int n = raft_config_encode(&m->snapshot.meta.config, cfg, sizeof cfg);
                SYN_ASSERT(n > 0);
                cfg_len = (size_t)n;
        }
        size_t size = 0;
        int rc = encoded_bytes(m, cfg_len, &size);
        if (rc == 0)
                rc = reserve(w, size);
        if (rc != 0)
                return rc;
        size_t start = w->len;
        syn_write_u8(w, (uint8_t)m->type);
        syn_write_be64(w, m->from);
        syn_write_be64(w, m->to);
        syn_write_be64(w, m->term);
        if (m->type == RAFT_MSG_APPEND)
                write_append(w, &m->append);
        else if (m->type == RAFT_MSG_SNAPSHOT)
                write_snapshot(w, &m->snapshot, cfg, cfg_len);
        else
                write_small(w, m);
        SYN_ASSERT(!w->failed);
        SYN_ASSERT(w->len == start + size);
        return 0;
}

/* ---- decoding ---- */

/* Marks the input malformed: the reader's sticky flag then means "reject". */
static void decode_fail(struct syn_reader *r)
{
        r->failed = true;
}

/* Reads a flag byte whose bits outside `known` must be zero. */
static uint8_t read_flags(struct syn_reader *r, uint8_t known)
{
        uint8_t v = syn_read_u8(r);
        if ((v & ~known) != 0)
                decode_fail(r);
        return v;
}

/* n bytes as a borrowed pointer, NULL when n == 0 (raft.h: data is NULL iff empty). */
static const uint8_t *read_payload(struct syn_reader *r, size_t n)
{
        const uint8_t *p = syn_read_bytes(r, n);
        return n > 0 ? p : NULL;
}

static void read_entry(struct syn_reader *r, struct raft_entry *e, uint64_t index)
{
        uint8_t type = syn_read_u8(r);
        e->term = syn_read_be64(r);
        uint32_t len = syn_read_be32(r);
        if (r->failed || !entry_type_valid(type) || len > RAFT_ENTRY_BYTES_MAX) {
                decode_fail(r);
                return;
        }
        e->type = (enum raft_entry_type)type;
        e->index = index;
        e->len = len;
        e->data = read_payload(r, len);
        struct raft_config c;
        if (!r->failed && type == RAFT_ENTRY_CONF && raft_config_decode(&c, e->data, len) != 0)
                decode_fail(r);
}

static void read_append(struct syn_reader *r, struct peer_raft_decoded *out)
{
        struct raft_msg_append *a = &out->msg.append;
        a->prev_index = syn_read_be64(r);
        a->prev_term = syn_read_be64(r);
        a->commit = syn_read_be64(r);
        uint32_t n = syn_read_be32(r);
        if (r->failed || n > RAFT_MSG_ENTRIES_MAX || (n > 0 && a->prev_index > WAL_INDEX_MAX - n)) {
                decode_fail(r);
                return;
        }
        /* Bounded by RAFT_MSG_ENTRIES_MAX, checked above. */
        for (uint32_t i = 0; i < n && !r->failed; i++)
                read_entry(r, &out->entries[i], a->prev_index + 1 + i);
        a->n_entries = n;
        a->entries = n > 0 ? out->entries : NULL;
}

static void read_snapshot(struct syn_reader *r, struct raft_msg_snapshot *s)
{
        s->meta.index = syn_read_be64(r);
        s->meta.term = syn_read_be64(r);
        uint32_t cfg_len = syn_read_be32(r);
        if (cfg_len > RAFT_CONFIG_ENCODED_BYTES_MAX) {
                decode_fail(r);
                return;
        }
        const uint8_t *cfg = syn_read_bytes(r, cfg_len);
        if (cfg == NULL || raft_config_decode(&s->meta.config, cfg, cfg_len) != 0) {
                decode_fail(r);
                return;
        }
        s->offset = syn_read_be64(r);
        s->done = read_flags(r, FLAG_SNAPSHOT_DONE) & FLAG_SNAPSHOT_DONE;
        uint32_t len = syn_read_be32(r);
        if (len > RAFT_SNAPSHOT_CHUNK_BYTES) {
                decode_fail(r);
                return;
        }
        s->len = len;
        s->data = read_payload(r, len);
}

static void read_vote(struct syn_reader *r, struct raft_message *m)
{
        m->vote.last_log_index = syn_read_be64(r);
        m->vote.last_log_term = syn_read_be64(r);
        uint8_t f = read_flags(r, FLAG_VOTE_PRE | FLAG_VOTE_TRANSFER);
        m->vote.pre_vote = f & FLAG_VOTE_PRE;
        m->vote.transfer = f & FLAG_VOTE_TRANSFER;
}

static void read_append_resp(struct syn_reader *r, struct raft_msg_append_resp *a)
{
        a->success = read_flags(r, FLAG_APPEND_RESP_SUCCESS) & FLAG_APPEND_RESP_SUCCESS;
        a->index = syn_read_be64(r);
        a->hint_index = syn_read_be64(r);
        a->hint_term = syn_read_be64(r);
        a->last_index = syn_read_be64(r);
}

/* The fields after the header of every type but append and snapshot. */
static void read_small(struct syn_reader *r, struct raft_message *m)
{
        uint8_t f;
        switch (m->type) {
        case RAFT_MSG_VOTE:
                read_vote(r, m);
                break;
        case RAFT_MSG_VOTE_RESP:
                f = read_flags(r, FLAG_VOTE_RESP_PRE | FLAG_VOTE_RESP_GRANTED);
                m->vote_resp.pre_vote = f & FLAG_VOTE_RESP_PRE;
                m->vote_resp.granted = f & FLAG_VOTE_RESP_GRANTED;
                break;
        case RAFT_MSG_APPEND_RESP:
                read_append_resp(r, &m->append_resp);
                break;
        case RAFT_MSG_HEARTBEAT:
                m->heartbeat.commit = syn_read_be64(r);
                m->heartbeat.read_seq = syn_read_be64(r);
                break;
        case RAFT_MSG_HEARTBEAT_RESP:
                m->heartbeat_resp.read_seq = syn_read_be64(r);
                break;
        case RAFT_MSG_SNAPSHOT_RESP:
                m->snapshot_resp.index = syn_read_be64(r);
                m->snapshot_resp.next_offset = syn_read_be64(r);
                f = read_flags(r, FLAG_SNAPSHOT_RESP_DONE);
                m->snapshot_resp.done = f & FLAG_SNAPSHOT_RESP_DONE;
                break;
        case RAFT_MSG_READ_INDEX:
                m->read_index.ctx = syn_read_be64(r);
                break;
        case RAFT_MSG_READ_INDEX_RESP:
                m->read_index_resp.ctx = syn_read_be64(r);
                m->read_index_resp.index = syn_read_be64(r);
                f = read_flags(r, FLAG_READ_INDEX_RESP_OK);
                m->read_index_resp.ok = f & FLAG_READ_INDEX_RESP_OK;
                break;
        default: /* TIMEOUT_NOW has no fields; append and snapshot are not small */
                break;
        }
}

int peer_raft_decode(const uint8_t *data, size_t len, struct peer_raft_decoded *out)
{
        struct raft_message *m = &out->msg;
        memset(m, 0, sizeof *m);
        if (len > PEER_RAFT_MSG_BYTES_MAX)
                return SYN_EPROTO;
        struct syn_reader r;
        syn_reader_init(&r, data, len);
        uint8_t type = syn_read_u8(&r);
        m->from = syn_read_be64(&r);
        m->to = syn_read_be64(&r);
        m->term = syn_read_be64(&r);
        if (r.failed || !msg_type_valid(type)) {
                memset(m, 0, sizeof *m);
                return SYN_EPROTO;
        }
        m->type = (enum raft_msg_type)type;
        if (type == RAFT_MSG_APPEND)
                read_append(&r, out);
        else if (type == RAFT_MSG_SNAPSHOT)
                read_snapshot(&r, &m->snapshot);
        else
                read_small(&r, m);
        if (r.failed || syn_reader_left(&r) != 0) {
                memset(m, 0, sizeof *m);
                return SYN_EPROTO;
        }
        return 0;
}

/* ---- handshake ---- */

const char *peer_refuse_reason_name(enum peer_refuse_reason reason)
{
        switch (reason) {
        case PEER_REFUSE_VERSION:
                return "protocol version differs";
        case PEER_REFUSE_CLUSTER:
                return "cluster id differs";
        case PEER_REFUSE_TARGET:
                return "it is not the server id that was dialed";
        case PEER_REFUSE_MEMBER:
                return "not a member of its configuration";
        }
        return "unknown reason";
}

int peer_handshake_encode(struct syn_writer *w, const struct peer_handshake *h)
{
        SYN_ASSERT(h->kind >= PEER_HELLO);
        SYN_ASSERT(h->kind <= PEER_REFUSE);
        if (!syn_writer_reserve(w, PEER_HANDSHAKE_HEADER_BYTES + 3 * 8))
                return SYN_ENOMEM;
        syn_write_be32(w, PEER_MAGIC);
        syn_write_be32(w, PEER_PROTOCOL_VERSION);
        syn_write_u8(w, (uint8_t)h->kind);
        switch (h->kind) {
        case PEER_HELLO:
                syn_write_be64(w, h->cluster_id);
                syn_write_be64(w, h->from_id);
                syn_write_be64(w, h->target_id);
                break;
        case PEER_HELLO_OK:
                syn_write_be64(w, h->from_id);
                break;
        case PEER_REFUSE:
                SYN_ASSERT(h->reason >= PEER_REFUSE_VERSION);
                SYN_ASSERT(h->reason <= PEER_REFUSE_REASON_MAX);
                syn_write_u8(w, (uint8_t)h->reason);
                break;
        }
        SYN_ASSERT(!w->failed);
        return 0;
}

int peer_handshake_decode(const uint8_t *data, size_t len, struct peer_handshake *out)
{
        memset(out, 0, sizeof *out);
        struct syn_reader r;
        syn_reader_init(&r, data, len);
        uint32_t magic = syn_read_be32(&r);
        uint32_t version = syn_read_be32(&r);
        uint8_t kind = syn_read_u8(&r);
        if (r.failed || magic != PEER_MAGIC || kind < PEER_HELLO || kind > PEER_REFUSE)
                return SYN_EPROTO;
        out->kind = (enum peer_handshake_kind)kind;
        out->version = version;
        if (version != PEER_PROTOCOL_VERSION)
                return 0; /* the rest is in a layout we do not know */
        uint8_t reason = 0;
        if (kind == PEER_HELLO) {
                out->cluster_id = syn_read_be64(&r);
                out->from_id = syn_read_be64(&r);
                out->target_id = syn_read_be64(&r);
        } else if (kind == PEER_HELLO_OK) {
                out->from_id = syn_read_be64(&r);
        } else {
                reason = syn_read_u8(&r);
                if (reason < PEER_REFUSE_VERSION || reason > PEER_REFUSE_REASON_MAX)
                        decode_fail(&r);
                out->reason = (enum peer_refuse_reason)reason;
        }
        if (r.failed || syn_reader_left(&r) != 0) {
                memset(out, 0, sizeof *out);
                return SYN_EPROTO;
        }
        return 0;
}
