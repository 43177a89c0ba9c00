"""Raw-protocol checks with tests/lib/zkwire.py: handshake layout, timeout negotiation,
replies without body on error, unknown opcodes, hostile frame lengths, lastZxidSeen ahead
of the server, zxids in replies, pipelining order, path validation, and the newer
read ops kazoo 2.8 lacks (getAllChildrenNumber, getEphemerals)."""

import struct

import pytest

import zkwire
from consistency import raw_sync
from procs import four_letter


def fresh(server):
    """A connection without a session, to one server (the next one, on a cluster)."""
    srv = server.pick()
    return zkwire.RawClient(srv.host, srv.port)


def test_handshake_37_bytes_with_read_only_flag(server):
    c = fresh(server)
    try:
        resp = c.connect(timeout_ms=10000, read_only=False)
        assert resp.payload_len == 37
        assert resp.protocol_version == 0
        assert resp.read_only is False
        assert resp.session_id != 0 and len(resp.passwd) == 16
        assert resp.timeout_ms == 10000
        c.close_session()
    finally:
        c.close()


def test_handshake_36_bytes_without_read_only_flag(server):
    c = fresh(server)
    try:
        resp = c.connect(timeout_ms=10000, read_only=None)
        assert resp.payload_len == 36 and resp.read_only is None
        assert resp.session_id != 0 and len(resp.passwd) == 16
        assert c.ping().err == 0
    finally:
        c.close()


@pytest.mark.parametrize("requested,expected", [
    (1, "min"), (10 ** 9, "max"), (5000, 5000), (0, "min"), (-5, "min")])
def test_session_timeout_negotiation_clamps(server, requested, expected):
    want = {"min": server.min_session_timeout_ms,
            "max": server.max_session_timeout_ms}.get(expected, expected)
    c = fresh(server)
    try:
        assert c.connect(timeout_ms=requested).timeout_ms == want
        c.close_session()
    finally:
        c.close()


def test_error_reply_has_no_body(raw, prefix):
    c = raw()
    reply = c.get_data(prefix + "/missing")
    assert reply.err == -101 and reply.body == b""
    assert reply.zxid > 0
    reply = c.create(prefix + "/missing/child", op=zkwire.OP_CREATE)
    assert reply.err == -101 and reply.body == b""
    assert c.ping().err == 0  # connection still fine


def test_ping_reply(raw):
    c = raw()
    reply = c.ping()
    assert (reply.xid, reply.err, reply.body) == (-2, 0, b"")


@pytest.mark.parametrize("op", [10, 23, 999, -55])
def test_unknown_opcode_is_unimplemented(raw, op):
    # ZooKeeper 3.8 replies ZUNIMPLEMENTED and then closes the connection
    c = raw()
    reply = c.call(op, b"")
    assert (reply.xid, reply.err, reply.body) == (1, -6, b"")
    assert c.wait_closed(10)


def test_oversized_frame_closes_connection(raw, zk, prefix):
    c = raw()
    c.send_raw(struct.pack(">iii", 64 * 1024 * 1024, 1, zkwire.OP_CREATE))
    assert c.wait_closed(10)
    assert zk.get_children(prefix) == []


def test_oversized_request_payload_closes_connection(raw, zk, prefix):
    """A real 2 MiB create (data over jute.maxbuffer): connection closed, nothing created."""
    c = raw()
    body = zkwire.Writer().ustring(prefix + "/huge").buffer(b"x" * (2 * 1024 * 1024))
    body.acls(zkwire.OPEN_ACL_UNSAFE).int(0)
    frame = struct.pack(">ii", c.next_xid(), zkwire.OP_CREATE) + body.bytes()
    try:
        c.send_frame(frame)
    except OSError:
        pass  # the server may close while we are still sending
    assert c.wait_closed(10)
    assert zk.exists(prefix + "/huge") is None


def test_data_just_under_limit_is_accepted(zk, prefix):
    data = b"y" * (1024 * 1024 - 1024)
    zk.create(prefix + "/near-limit", data)
    assert zk.get(prefix + "/near-limit")[0] == data


def test_negative_frame_length_closes_connection(raw):
    c = raw()
    c.send_raw(struct.pack(">i", -7))
    assert c.wait_closed(10)


def test_oversized_handshake_closes_connection(server):
    c = fresh(server)
    try:
        c.send_raw(struct.pack(">i", 50 * 1024 * 1024) + b"\0" * 64)
        assert c.wait_closed(10)
    finally:
        c.close()


def test_last_zxid_ahead_closes_without_response(server, raw):
    known = raw()
    assert known.ping().zxid >= 0
    ahead = known.ping().zxid + 1000000
    c = fresh(server)
    try:
        c.send_frame(zkwire.encode_connect(10000, last_zxid=ahead))
        assert c.wait_closed(10)
        assert c.bytes_before_close == 0
    finally:
        c.close()


def test_reply_zxids(raw, prefix):
    c = raw()
    r1 = c.create(prefix + "/a", b"x")
    assert r1.err == 0
    _, st = zkwire.decode_create2(r1.body)
    assert r1.zxid == st.czxid  # a write's reply carries its own zxid
    r2 = c.set_data(prefix + "/a", b"y")
    st2 = zkwire.decode_stat(r2.body)
    assert r2.zxid == st2.mzxid and r2.zxid > r1.zxid
    r3 = c.get_data(prefix + "/a")
    assert r3.zxid >= r2.zxid  # reads report the last processed zxid
    assert c.ping().zxid >= r2.zxid


def test_pipelined_requests_answered_in_order(raw, prefix):
    c = raw()
    n = 60
    frames = []
    for i in range(n):
        xid = c.next_xid()
        if i % 3 == 0:
            body = zkwire.Writer().ustring("%s/n%03d" % (prefix, i)).buffer(b"")
            body.acls(zkwire.OPEN_ACL_UNSAFE).int(0)
            frames.append(struct.pack(">ii", xid, zkwire.OP_CREATE) + body.bytes())
        else:
            body = zkwire.Writer().ustring(prefix).bool(False).bytes()
            frames.append(struct.pack(">ii", xid, zkwire.OP_GET_CHILDREN) + body)
    c.send_raw(b"".join(struct.pack(">i", len(f)) + f for f in frames))
    xids = []
    children_counts = []
    for i in range(n):
        reply = c._read_reply(10)
        assert reply.err == 0
        xids.append(reply.xid)
        if i % 3 != 0:
            children_counts.append(len(zkwire.decode_children(reply.body)))
    assert xids == list(range(1, n + 1))
    # each read sees exactly the creates sent before it on this session
    assert children_counts == [i // 3 + 1 for i in range(n) if i % 3 != 0]


# Gets of a large node that fill the connection's output past synod's 4 MiB backpressure
# threshold (its reads are then held back), queued behind a setData and followed by
# another, all sent in one write before any reply is read. 130 gets of nearly 1 MiB are
# more than the 64 MiB at which synod closes a connection that does not read: the
# second setData must not be proposed past so many (the reads ahead of it would all
# have to run, whatever the output, before its entry is applied).
HELD_BACK_CASES = [(512 * 1024, 40), (1024 * 1024 - 1024, 130)]


def _mntr_value(member, key):
    for line in four_letter(member.host, member.port, b"mntr").splitlines():
        name, _, value = line.partition("\t")
        if name == key:
            return int(value)
    raise AssertionError("mntr has no %s" % key)


@pytest.mark.parametrize("value_bytes,gets", HELD_BACK_CASES,
                         ids=["%dx%dKiB" % (g, v // 1024) for v, g in HELD_BACK_CASES])
def test_held_back_reads_answer_before_a_later_write(server, raw, prefix, target, value_bytes,
                                                     gets):
    """Reads queued ahead of a write answer with the state before it, even when the
    server held them back for a full output and proposed the write past them."""
    member = server.pick()
    c = raw(host=member.host, port=member.port)
    path = prefix + "/big"
    big = b"a" * value_bytes
    assert c.create(path, b"", op=zkwire.OP_CREATE).err == 0
    before = _mntr_value(member, "zk_synod_reads_before_apply") if target == "synod" else 0
    body = zkwire.Writer().ustring(path).buffer(big).int(-1).bytes()
    frames = [struct.pack(">ii", c.next_xid(), zkwire.OP_SET_DATA) + body]
    for _ in range(gets):
        body = zkwire.Writer().ustring(path).bool(False).bytes()
        frames.append(struct.pack(">ii", c.next_xid(), zkwire.OP_GET_DATA) + body)
    body = zkwire.Writer().ustring(path).buffer(b"b").int(-1).bytes()
    frames.append(struct.pack(">ii", c.next_xid(), zkwire.OP_SET_DATA) + body)
    body = zkwire.Writer().ustring(path).bool(False).bytes()
    frames.append(struct.pack(">ii", c.next_xid(), zkwire.OP_GET_DATA) + body)
    c.send_raw(b"".join(struct.pack(">i", len(f)) + f for f in frames))
    replies = [c._read_reply(30) for _ in frames]
    first = replies[0].xid
    assert [r.xid for r in replies] == list(range(first, first + len(frames)))
    assert all(r.err == 0 for r in replies)
    for r in replies[1:gets + 1]:
        data, stat = zkwire.decode_get_data(r.body)
        assert data == big and stat.version == 1
    data, stat = zkwire.decode_get_data(replies[-1].body)
    assert data == b"b" and stat.version == 2
    if target == "synod":  # the held-back reads ran just before the setData's apply
        assert _mntr_value(member, "zk_synod_reads_before_apply") > before


@pytest.mark.parametrize("path", ["relative", "/a/", "/a\u0000b", "/a\u0001", "/a\u007f",
                                  "/a\ue000", ""])
def test_invalid_paths_are_bad_arguments(raw, prefix, path):
    c = raw()
    assert c.create(prefix + "/a", op=zkwire.OP_CREATE).err == 0
    full = prefix + path if path.startswith("/a") else path
    reply = c.create(full, op=zkwire.OP_CREATE)
    assert reply.err == -8, (full, reply.err)


@pytest.mark.parametrize("path", ["/a//b", "/a/./b", "/a/../b", "/a/."])
def test_invalid_path_components_are_refused(raw, prefix, path):
    # ZooKeeper 3.8.0 looks the parent up first, so these get -101 NoNode or -8
    c = raw()
    assert c.create(prefix + "/a", op=zkwire.OP_CREATE).err == 0
    reply = c.create(prefix + path, op=zkwire.OP_CREATE)
    assert reply.err in (-8, -101), (path, reply.err)
    names = zkwire.decode_children(c.get_children(prefix + "/a").body)
    assert names == []


def test_invalid_create_flags(raw, prefix):
    c = raw()
    assert c.create(prefix + "/f", flags=9, op=zkwire.OP_CREATE).err == -8
    assert c.exists(prefix + "/f").err == -101


def test_get_all_children_number(raw, zk, prefix):
    for p in ("/a", "/a/b", "/a/b/c", "/a/d", "/e"):
        zk.create(prefix + p, b"")
    c = raw()
    raw_sync(c, prefix)  # (on a cluster: zk's creates reached c's server)
    assert zkwire.decode_int(c.get_all_children_number(prefix).body) == 5
    assert zkwire.decode_int(c.get_all_children_number(prefix + "/a").body) == 3
    assert zkwire.decode_int(c.get_all_children_number(prefix + "/e").body) == 0
    assert c.get_all_children_number(prefix + "/nope").err == -101


def test_get_ephemerals(raw, zk, prefix):
    c = raw()
    for p in ("/x1", "/x2", "/y1"):
        assert c.create(prefix + p, flags=1).err == 0
    zk.create(prefix + "/others", b"", ephemeral=True)  # another session's
    zk.create(prefix + "/persistent", b"")
    got = zkwire.decode_children(c.get_ephemerals(prefix).body)
    assert sorted(got) == [prefix + "/x1", prefix + "/x2", prefix + "/y1"]
    got = zkwire.decode_children(c.get_ephemerals(prefix + "/x").body)
    assert sorted(got) == [prefix + "/x1", prefix + "/x2"]
    everything = zkwire.decode_children(c.get_ephemerals("/").body)
    assert sorted(everything) == [prefix + "/x1", prefix + "/x2", prefix + "/y1"]
    fresh_client = raw()
    assert zkwire.decode_children(fresh_client.get_ephemerals("/").body) == []


def test_sync(zk, clients, prefix):
    other = clients()
    other.create(prefix + "/s", b"v")
    assert zk.sync(prefix + "/s") == prefix + "/s"
    assert zk.get(prefix + "/s")[0] == b"v"


def test_close_session_reply_then_close(raw, zk, prefix):
    c = raw()
    assert c.create(prefix + "/e", flags=1).err == 0
    reply = c.call(zkwire.OP_CLOSE_SESSION)
    assert reply.err == 0 and reply.body == b""
    assert c.wait_closed(10)
    zk.sync(prefix + "/e")  # (on a cluster: the close reached zk's server)
    assert zk.exists(prefix + "/e") is None


def test_read_only_request_on_rw_server(server):
    c = fresh(server)
    try:
        resp = c.connect(timeout_ms=10000, read_only=True)
        assert resp.read_only is False and resp.session_id != 0
        c.close_session()
    finally:
        c.close()
