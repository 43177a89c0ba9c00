/*
 * The bodies of peer frames: Raft messages and the link handshake (docs/peer-protocol.md).
 *
 * A PURE codec: no libuv, no I/O, no allocation of its own (encoders append to a
 * caller's syn_writer). net/peer.c frames the bodies (length + CRC32C) and runs the
 * handshake; the server decides which bodies to send. Integers are big-endian, like
 * every other synod format (base/buf.h).
 *
 * A Raft message is one byte of type (enum raft_msg_type), the sender, the receiver and
 * the term, then the fields of that type. Entry indexes are not on the wire: the entries
 * of an append are consecutive after prev_index by definition (raft.h), so they cannot
 * disagree with it. Flags are one byte whose unused bits must be zero. The layout is
 * versioned by PEER_PROTOCOL_VERSION, which both ends of a link agree on in the handshake.
 *
 * Decoders are total: every length, count and enum is checked against a named limit
 * (base/limits.h) before use, trailing bytes are an error, and a body that decodes
 * re-encodes to the same bytes (fuzz/fuzz_peer_msg.c checks this).
 */
#ifndef SYN_PROTO_PEER_H
#define SYN_PROTO_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/limits.h"
#include "raft/raft.h"

/* Version of the peer protocol (handshake, Raft message layout). Bump on any change of
 * either; servers of different versions refuse each other's links. */
#define PEER_PROTOCOL_VERSION 1
/* First four bytes of every handshake body: "SYNP". Anything else is not a synod peer. */
#define PEER_MAGIC 0x53594e50u

/* ---- Raft messages ---- */

/*
 * Appends the encoding of m to w. Errors (nothing is appended): SYN_ETOOBIG if the
 * message would break a limit the decoder enforces (more than RAFT_MSG_ENTRIES_MAX
 * entries, an entry over RAFT_ENTRY_BYTES_MAX, a snapshot chunk over
 * RAFT_SNAPSHOT_CHUNK_BYTES, more than PEER_RAFT_MSG_BYTES_MAX in all) or w's cap_max is
 * too small; SYN_ENOMEM if w cannot grow (w->failed is then set). m is borrowed for the
 * call. A malformed m from the core (unknown type, entries that do not follow prev_index,
 * an invalid configuration) is a bug and asserts.
 */
int peer_raft_encode(struct syn_writer *w, const struct raft_message *m);

/* A decoded Raft message and the entries its append points to. About 40 KiB: callers
 * allocate one and reuse it. */
struct peer_raft_decoded {
        struct raft_message msg; /* msg.append.entries points to entries[] below */
        struct raft_entry entries[RAFT_MSG_ENTRIES_MAX];
};

/*
 * Decodes one Raft message from data[0, len) (hostile) into out. Returns 0, or
 * SYN_EPROTO if the bytes are not exactly one valid message: truncated, trailing bytes,
 * an unknown message or entry type, unknown flag bits, a count or length over its limit,
 * log indexes beyond WAL_INDEX_MAX, or a configuration raft_config_decode rejects.
 * On success, entry payloads and snapshot data point INTO data (borrowed: valid while
 * data is) and are NULL when empty. Never allocates. out is overwritten either way.
 */
int peer_raft_decode(const uint8_t *data, size_t len, struct peer_raft_decoded *out);

/* ---- the link handshake ---- */

enum peer_handshake_kind {
        PEER_HELLO = 1, /* dialer -> acceptor: first frame of every link */
        PEER_HELLO_OK,  /* acceptor -> dialer: the link is up */
        PEER_REFUSE,    /* acceptor -> dialer: why not; the acceptor then closes */
};

enum peer_refuse_reason {
        PEER_REFUSE_VERSION = 1, /* another protocol version */
        PEER_REFUSE_CLUSTER,     /* another cluster id */
        PEER_REFUSE_TARGET,      /* the dialer meant another server id */
        PEER_REFUSE_MEMBER,      /* the dialer's id is not a member here (or is ours, or 0) */
};
#define PEER_REFUSE_REASON_MAX PEER_REFUSE_MEMBER

/* "cluster id differs", ...; "unknown reason" for other values. Static storage. */
const char *peer_refuse_reason_name(enum peer_refuse_reason reason);

struct peer_handshake {
        enum peer_handshake_kind kind;
        /* The sender's PEER_PROTOCOL_VERSION. The encoder always writes ours; the decoder
         * reports the sender's and, if it differs, decodes nothing after it. */
        uint32_t version;
        uint64_t cluster_id;            /* HELLO */
        uint64_t from_id;               /* HELLO: the dialer; HELLO_OK: the acceptor */
        uint64_t target_id;             /* HELLO: whom the dialer means to reach */
        enum peer_refuse_reason reason; /* REFUSE */
};

/* Appends the body of h (at most PEER_HANDSHAKE_BYTES_MAX bytes) to w, with version
 * PEER_PROTOCOL_VERSION. Returns 0 or SYN_ENOMEM (w->failed set; nothing appended). */
int peer_handshake_encode(struct syn_writer *w, const struct peer_handshake *h);

/*
 * Decodes a handshake body (hostile) into out. Returns 0 or SYN_EPROTO (wrong magic,
 * unknown kind, truncated, trailing bytes, unknown refusal reason). When out->version is
 * not PEER_PROTOCOL_VERSION only the magic, version and kind were read (a later version
 * may lay out the rest differently) and the other fields are zero.
 */
int peer_handshake_decode(const uint8_t *data, size_t len, struct peer_handshake *out);

#endif
