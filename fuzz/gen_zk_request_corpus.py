#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/fuzz_zk_request.c into fuzz/corpus/zk_request/.

An independent encoder of the ZooKeeper client protocol (jute, big-endian),
written from the protocol description in docs/protocol-notes.md (its second
half) rather than from src/proto, so the seeds also cross-check our codec.
Seeds come in three shapes, matching the three ways the target reads its input:
  stream-*   a client byte stream: ConnectRequest frame, then request frames
  req-*      one request payload (RequestHeader + record), no length prefix
  resp-*     a selector byte (index into the target's reply-type table) + a reply body
Run: python3 fuzz/gen_zk_request_corpus.py  (rewrites the directory's seeds).
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "zk_request")


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def boolean(v):
    return b"\x01" if v else b"\x00"


def buf(b):
    if b is None:
        return i32(-1)
    if isinstance(b, str):
        b = b.encode()
    return i32(len(b)) + b


def vec(items, enc):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def acl(perms, scheme, ident):
    return i32(perms) + buf(scheme) + buf(ident)


OPEN = [(31, "world", "anyone")]


def acls(lst):
    return vec(lst, lambda a: acl(*a))


def create(path, data, acl_list, flags):
    return buf(path) + buf(data) + acls(acl_list) + i32(flags)


def multi_header(op_type, done, err):
    return i32(op_type) + boolean(done) + i32(err)


def request(xid, op, body=b""):
    return i32(xid) + i32(op) + body


def frame(payload):
    return i32(len(payload)) + payload


def connect(read_only=True):
    body = i32(0) + i64(0) + i32(30000) + i64(0) + buf(b"\x00" * 16)
    return body + (boolean(False) if read_only else b"")


def requests():
    paths = ["/a", "/b/c"]
    multi = (multi_header(1, False, -1) + create("/m", "d", OPEN, 0) +
             multi_header(2, False, -1) + buf("/m/x") + i32(-1) +
             multi_header(5, False, -1) + buf("/m") + buf(None) + i32(3) +
             multi_header(13, False, -1) + buf("/m") + i32(0) +
             multi_header(21, False, -1) + create("/t", None, OPEN, 5) + i64(1000) +
             multi_header(-1, True, -1))
    multi_read = (multi_header(4, False, -1) + buf("/m") + boolean(False) +
                  multi_header(8, False, -1) + buf("/") + boolean(True) +
                  multi_header(-1, True, -1))
    return {
        "create": request(1, 1, create("/a", "hello", OPEN, 0)),
        "create2-seq": request(2, 15, create("/b-", None, None, 3)),
        "create-container": request(3, 19, create("/c", "", OPEN + [(1, "digest", "u:h=")], 4)),
        "create-ttl": request(4, 21, create("/t", "x", OPEN, 5) + i64(60000)),
        "delete": request(5, 2, buf("/a") + i32(-1)),
        "exists": request(6, 3, buf("/a") + boolean(True)),
        "get-data": request(7, 4, buf("/a") + boolean(False)),
        "set-data": request(8, 5, buf("/a") + buf("v") + i32(2)),
        "get-acl": request(9, 6, buf("/a")),
        "set-acl": request(10, 7, buf("/a") + acls(OPEN) + i32(0)),
        "get-children": request(11, 8, buf("/") + boolean(True)),
        "sync": request(12, 9, buf("/")),
        "ping": request(-2, 11),
        "get-children2": request(13, 12, buf("/a") + boolean(False)),
        "check": request(14, 13, buf("/a") + i32(1)),
        "multi": request(15, 14, multi),
        "multi-empty": request(16, 14, multi_header(-1, True, -1)),
        "reconfig": request(17, 16, buf("server.4=127.0.0.1:2888:3888;2181") + buf(None) +
                            buf(None) + i64(-1)),
        "check-watches": request(18, 17, buf("/a") + i32(3)),
        "remove-watches": request(19, 18, buf("/a") + i32(1)),
        "multi-read": request(20, 22, multi_read),
        "auth": request(-4, 100, i32(0) + buf("digest") + buf("user:pw")),
        "set-watches": request(-8, 101, i64(7) + vec(paths, buf) + vec([], buf) +
                               vec(None, buf)),
        "sasl": request(21, 102, buf(b"\x60\x01")),
        "get-ephemerals": request(22, 103, buf("/")),
        "get-all-children-number": request(23, 104, buf("/a")),
        "set-watches2": request(-8, 105, i64(7) + vec(paths, buf) + vec(["/x"], buf) +
                                vec(paths, buf) + vec(["/p"], buf) + vec(["/r"], buf)),
        "add-watch": request(24, 106, buf("/a") + i32(1)),
        "who-am-i": request(25, 107),
        "close-session": request(26, -11),
        "unknown-op": request(27, 99),
    }


STAT = (i64(1) + i64(2) + i64(3) + i64(4) + i32(5) + i32(6) + i32(7) + i64(0) + i32(5) +
        i32(0) + i64(1))
# Must match the order of `types` in fuzz_zk_request.c round_trip_response().
RESP_TYPES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 100, 101,
              102, 103, 104, 105, 106, 107, -11]


def responses():
    failed = (multi_header(-1, False, 0) + i32(0) + multi_header(-1, False, -103) + i32(-103) +
              multi_header(-1, False, -2) + i32(-2) + multi_header(-1, True, -1))
    ok = (multi_header(1, False, 0) + buf("/m") + multi_header(15, False, 0) + buf("/s-0001") +
          STAT + multi_header(2, False, 0) + multi_header(5, False, 0) + STAT +
          multi_header(-1, True, -1))
    return {
        "create": (1, buf("/a")),
        "exists": (3, STAT),
        "get-data": (4, buf("hello") + STAT),
        "get-acl": (6, acls(OPEN) + STAT),
        "get-children": (8, vec(["a", "b"], buf)),
        "get-children2": (12, vec(["a"], buf) + STAT),
        "multi-failed": (14, failed),
        "multi-ok": (14, ok),
        "create2": (15, buf("/b-0000000001") + STAT),
        "get-all-children-number": (104, i32(3)),
        "add-watch": (106, i32(0)),
        "who-am-i": (107, vec([("ip", "127.0.0.1")], lambda c: buf(c[0]) + buf(c[1]))),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    reqs = requests()
    for name, payload in reqs.items():
        with open(os.path.join(OUT, "req-" + name), "wb") as f:
            f.write(payload)
    stream = frame(connect()) + b"".join(frame(reqs[k]) for k in
                                         ("create", "exists", "multi", "ping", "set-watches"))
    seeds = {
        "stream-session": stream,
        "stream-old-client": frame(connect(read_only=False)) + frame(reqs["get-data"]),
        "stream-4lw": b"ruok",
        "stream-bad-length": i32(-1) + b"xxxx",
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    for name, (op, body) in responses().items():
        with open(os.path.join(OUT, "resp-" + name), "wb") as f:
            f.write(bytes([RESP_TYPES.index(op)]) + body)


if __name__ == "__main__":
    main()
