"""Frames of synod's peer protocol (docs/peer-protocol.md), for tests that speak to a peer
port as a rogue server would: a HELLO claiming a member's id, then Raft messages.

Every frame is u32 body length, u32 CRC32C of the body, the body (big-endian). A Raft
message's body is the server's channel byte (1 = Raft) then the message.
"""

import struct

from crc32c import crc32c

PEER_MAGIC = 0x53594E50
PEER_PROTOCOL_VERSION = 1
KIND_HELLO = 1
CHANNEL_RAFT = 1
MSG_VOTE = 1
MSG_APPEND = 3


def frame(body):
    return struct.pack(">II", len(body), crc32c(body)) + body


def hello(cluster_id, from_id, target_id):
    return frame(struct.pack(">IIBQQQ", PEER_MAGIC, PEER_PROTOCOL_VERSION, KIND_HELLO,
                             cluster_id, from_id, target_id))


def _raft(msg_type, from_id, to_id, term, fields):
    return frame(struct.pack(">BBQQQ", CHANNEL_RAFT, msg_type, from_id, to_id, term) + fields)


def vote(from_id, to_id, term, last_index, last_term):
    return _raft(MSG_VOTE, from_id, to_id, term, struct.pack(">QQB", last_index, last_term, 0))


def empty_append(from_id, to_id, term, commit):
    """An append of no entries at the start of the log: a leader's claim of `term`."""
    return _raft(MSG_APPEND, from_id, to_id, term, struct.pack(">QQQI", 0, 0, commit, 0))
