#!/usr/bin/python3
"""Records the seed corpus of fuzz/fuzz_client_reply.c from a real server.

fuzz_client_reply plays a server to libsynod: its input is the server's byte stream on
one connection (ConnectResponse, then replies and notifications). The client in the
harness queues twelve requests (xids 1..12) under the chroot /app; this script sends
the same requests, in the same order and encoding, to a real ZooKeeper 3.8 (or synod,
with SYNOD_TEST_TARGET=synod SYNOD_BIN=...) and stores exactly the bytes the server
sent back, so every seed is a real reply stream the harness's client can match up:

  handshake      the ConnectResponse alone
  fresh          all twelve replies on an empty /app (successes)
  again          the same twelve again: NODEEXISTS, BADVERSION inside the multi ...
  events         fresh, then changes made by another session fire the data, child,
                 exists and recursive persistent watches (notifications, xid -1)
  expired        the reply to a ConnectRequest for a session that does not exist

Usage: gen_client_reply_corpus.py OUT_DIR   (writes OUT_DIR/<name>; the repo keeps
them in fuzz/corpus/client_reply/).
"""

import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import servers  # noqa: E402
import zkmulti  # noqa: E402
import zkwire  # noqa: E402
from zkwire import Writer  # noqa: E402

OP_GET_ACL = 6
OP_SET_ACL = 7
EPHEMERAL_SEQUENTIAL = 3


def harness_requests():
    """(op, body) of fz_submit_all in fuzz_client_reply.c, chroot /app applied."""
    acl = zkwire.OPEN_ACL_UNSAFE
    multi = zkmulti.encode_multi([("create", "/app/m", b"x", 0), ("set", "/app/m", b"y", -1),
                                  ("check", "/app/m", 1), ("delete", "/app/m", -1)])
    return [
        (zkwire.OP_CREATE2, Writer().ustring("/app/a").buffer(b"hello").acls(acl).int(0)),
        (zkwire.OP_CREATE2,
         Writer().ustring("/app/a/s-").buffer(None).acls(acl).int(EPHEMERAL_SEQUENTIAL)),
        (zkwire.OP_GET_DATA, Writer().ustring("/app/a").bool(True)),
        (zkwire.OP_GET_CHILDREN2, Writer().ustring("/app/a").bool(True)),
        (zkwire.OP_EXISTS, Writer().ustring("/app/nope").bool(True)),
        (zkwire.OP_ADD_WATCH,
         Writer().ustring("/app").int(zkwire.ADD_WATCH_PERSISTENT_RECURSIVE)),
        (zkwire.OP_SET_DATA, Writer().ustring("/app/a").buffer(b"bye").int(-1)),
        (OP_GET_ACL, Writer().ustring("/app/a")),
        (OP_SET_ACL, Writer().ustring("/app/a").acls(acl).int(-1)),
        (zkmulti.OP_MULTI, multi),  # bytes already
        (zkwire.OP_SYNC, Writer().ustring("/app/a")),
        (zkwire.OP_DELETE, Writer().ustring("/app/nope").int(-1)),
    ]


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def record(sock, quiet_s=0.7):
    """Every byte the server sends until it is quiet for quiet_s."""
    out = b""
    sock.settimeout(quiet_s)
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return out
        if not chunk:
            return out
        out += chunk


def session(server, poke=None, session_id=0, passwd=b"\0" * 16, requests=True):
    """The raw server stream for one harness-like connection; poke() runs after the
    replies (from another session) to trigger notifications."""
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.sendall(frame(zkwire.encode_connect(4000, session_id, passwd, 0, False)))
    stream = record(sock, 0.5)
    if requests:
        for xid, (op, body) in enumerate(harness_requests(), start=1):
            sock.sendall(frame(struct.pack(">ii", xid, op) + (body if isinstance(body, bytes) else body.bytes())))
        stream += record(sock)
    if poke is not None:
        poke()
        stream += record(sock)
    sock.close()
    return stream


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    srv = servers.make_server("corpus")
    srv.start()
    try:
        admin = zkwire.RawClient(srv.host, srv.port)
        admin.connect(10000)
        admin.create("/app")

        def reset():
            for p in ("/app/a", "/app/nope", "/app/m"):
                for child in ("/app/a/x",):
                    admin.delete(child)
                admin.delete(p)

        def poke():
            admin.set_data("/app/a", b"changed")
            admin.create("/app/a/x")
            admin.create("/app/nope")

        seeds = {}
        seeds["handshake"] = session(srv, requests=False)
        seeds["fresh"] = session(srv)
        reset()
        seeds["again_setup"] = session(srv)
        seeds["again"] = session(srv)
        reset()
        seeds["events"] = session(srv, poke=poke)
        reset()
        seeds["expired"] = session(srv, session_id=0x7FFF00000000ABCD, requests=False)
        admin.close_session()
    finally:
        srv.destroy()
    for name, data in seeds.items():
        if name == "again_setup":
            continue
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        print("%-10s %5d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
