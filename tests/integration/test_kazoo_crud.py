"""CRUD with versions, every create mode with its Stat, sequential numbering, containers, TTL.

Each assertion is a ZooKeeper 3.8 behaviour (the suite passes against ZooKeeper itself).
Containers and TTL nodes are created through the raw client (kazoo 2.8 has no API for them);
everything else goes through kazoo. On a cluster a client syncs before it reads what a client
of another server wrote (consistency.py).
"""

import re
import threading
import time

import pytest
from kazoo.exceptions import (BadVersionError, NoChildrenForEphemeralsError, NodeExistsError,
                              NoNodeError, NotEmptyError)

import zkwire
from waiting import wait_until

SEQ_RE = re.compile(r"^(.*?)(\d{10})$")


def test_create_get_set_delete_with_versions(zk, prefix):
    p = prefix + "/node"
    created = zk.create(p, b"v0")
    assert created == p
    data, st = zk.get(p)
    assert data == b"v0"
    assert st.version == 0 and st.dataLength == 2 and st.numChildren == 0
    assert st.czxid == st.mzxid == st.pzxid
    assert st.ephemeralOwner == 0

    st1 = zk.set(p, b"value-1", version=0)
    assert st1.version == 1
    assert st1.mzxid > st.mzxid and st1.czxid == st.czxid
    assert st1.mtime >= st1.ctime and st1.dataLength == 7
    with pytest.raises(BadVersionError):
        zk.set(p, b"stale", version=0)
    assert zk.get(p)[0] == b"value-1"  # failed set changed nothing
    st2 = zk.set(p, b"")  # -1 = any version
    assert st2.version == 2 and st2.dataLength == 0

    with pytest.raises(NodeExistsError):
        zk.create(p, b"again")
    with pytest.raises(BadVersionError):
        zk.delete(p, version=1)
    assert zk.exists(p) is not None
    zk.delete(p, version=2)
    assert zk.exists(p) is None
    with pytest.raises(NoNodeError):
        zk.get(p)
    with pytest.raises(NoNodeError):
        zk.set(p, b"x")
    with pytest.raises(NoNodeError):
        zk.delete(p)


def test_errors_missing_parent_and_not_empty(zk, prefix):
    with pytest.raises(NoNodeError):
        zk.create(prefix + "/missing/child", b"")
    zk.create(prefix + "/a", b"")
    zk.create(prefix + "/a/b", b"")
    with pytest.raises(NotEmptyError):
        zk.delete(prefix + "/a")
    assert zk.get_children(prefix + "/a") == ["b"]
    zk.delete(prefix + "/a/b")
    zk.delete(prefix + "/a")
    assert zk.get_children(prefix) == []


def test_null_and_large_data(zk, prefix):
    big = bytes(range(256)) * 2000  # 512000 bytes, well under jute.maxbuffer
    zk.create(prefix + "/big", big)
    data, st = zk.get(prefix + "/big")
    assert data == big and st.dataLength == len(big)
    zk.create(prefix + "/empty")
    data, st = zk.get(prefix + "/empty")
    assert data == b"" and st.dataLength == 0


def test_parent_stat_tracks_children(zk, prefix):
    _, parent0 = zk.get(prefix)
    _, c1 = zk.create(prefix + "/c1", b"1", include_data=True)
    _, c2 = zk.create(prefix + "/c2", b"22", include_data=True)
    assert c1.czxid < c2.czxid
    _, parent = zk.get(prefix)
    assert parent.numChildren == 2
    assert parent.cversion == parent0.cversion + 2
    assert parent.pzxid == c2.czxid
    assert parent.version == parent0.version  # child changes are not data changes
    assert parent.mzxid == parent0.mzxid
    zk.delete(prefix + "/c1")
    _, after = zk.get(prefix)
    assert after.numChildren == 1
    assert after.cversion == parent0.cversion + 3
    assert after.pzxid > c2.czxid
    zk.set(prefix + "/c2", b"changed")
    _, after_set = zk.get(prefix)
    assert after_set.pzxid == after.pzxid  # setData of a child does not touch pzxid
    assert sorted(zk.get_children(prefix)) == ["c2"]


def test_ephemeral_stat_and_no_children(zk, prefix):
    path, st = zk.create(prefix + "/eph", b"e", ephemeral=True, include_data=True)
    assert path == prefix + "/eph"
    assert st.ephemeralOwner == zk.client_id[0]
    assert st.ephemeralOwner != 0
    assert zk.exists(path).ephemeralOwner == zk.client_id[0]
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(path + "/child", b"")


def test_sequential_numbering_keeps_counting(zk, prefix):
    names = [zk.create(prefix + "/seq-", b"", sequence=True) for _ in range(3)]
    assert names == [prefix + "/seq-%010d" % i for i in range(3)]
    zk.delete(names[2])
    zk.delete(names[1])
    # the counter counts child creations of the parent; deletes never give numbers back
    nxt = zk.create(prefix + "/seq-", b"", sequence=True)
    assert nxt == prefix + "/seq-%010d" % 3
    # other (non-sequential) children advance the same counter
    zk.create(prefix + "/plain", b"")
    eph = zk.create(prefix + "/eseq-", b"", ephemeral=True, sequence=True)
    assert eph == prefix + "/eseq-%010d" % 5
    st = zk.exists(eph)
    assert st.ephemeralOwner == zk.client_id[0]
    # cversion counts creates and deletes: 6 creates + 2 deletes
    _, parent = zk.get(prefix)
    assert parent.cversion == 8
    assert parent.numChildren == 4


def test_sequential_name_with_trailing_slash(zk, prefix):
    zk.create(prefix + "/dir", b"")
    created = zk.create(prefix + "/dir/", b"", sequence=True)
    m = SEQ_RE.match(created)
    assert m and m.group(1) == prefix + "/dir/" and m.group(2) == "%010d" % 0


def test_ephemeral_owner_differs_per_session(clients, prefix):
    a, b = clients(), clients()
    assert a.client_id[0] != b.client_id[0]
    a.create(prefix + "/ea", ephemeral=True)
    b.create(prefix + "/eb", ephemeral=True)
    a.sync(prefix + "/eb")  # (b applied /ea before its own later /eb)
    assert a.exists(prefix + "/eb").ephemeralOwner == b.client_id[0]
    assert b.exists(prefix + "/ea").ephemeralOwner == a.client_id[0]


def _raw_create(raw, path, flags, op, ttl_ms=None, data=b""):
    c = raw()
    reply = c.create(path, data, flags=flags, op=op, ttl_ms=ttl_ms)
    return c, reply


def test_container_stat_and_reaping(zk, raw, prefix):
    """A container is deleted once it has had a child and has none; an empty container
    that never had a child is left alone."""
    c, reply = _raw_create(raw, prefix + "/cont", 4, zkwire.OP_CREATE_CONTAINER)
    assert reply.err == 0
    path, st = zkwire.decode_create2(reply.body)
    assert path == prefix + "/cont"
    assert st.ephemeralOwner == 0 and st.version == 0 and st.numChildren == 0
    assert c.create(prefix + "/never", flags=4, op=zkwire.OP_CREATE_CONTAINER).err == 0
    c.close()
    zk.sync(prefix)
    assert zk.exists(prefix + "/cont").ephemeralOwner == 0
    zk.create(prefix + "/cont/child", b"")
    _, parent = zk.get(prefix + "/cont")
    assert parent.numChildren == 1
    time.sleep(2.5)  # a container with a child survives reaper passes
    assert zk.exists(prefix + "/cont") is not None
    zk.delete(prefix + "/cont/child")
    wait_until(lambda: zk.exists(prefix + "/cont") is None, 15, 0.2, "container reaped")
    assert zk.exists(prefix + "/never") is not None


def test_ttl_node_expires(zk, raw, prefix):
    c, reply = _raw_create(raw, prefix + "/ttl", 5, zkwire.OP_CREATE_TTL, ttl_ms=500,
                           data=b"t")
    assert reply.err == 0, zkwire_err(reply)
    path, st = zkwire.decode_create2(reply.body)
    assert path == prefix + "/ttl"
    assert st.ephemeralOwner == 0 and st.dataLength == 1
    # persistent-sequential-TTL gets a sequence suffix
    reply = c.create(prefix + "/sttl-", flags=6, op=zkwire.OP_CREATE_TTL, ttl_ms=500)
    assert reply.err == 0
    spath, _ = zkwire.decode_create2(reply.body)
    assert SEQ_RE.match(spath).group(1) == prefix + "/sttl-"
    # a TTL node with a child is not removed while the child exists
    reply = c.create(prefix + "/kept", flags=5, op=zkwire.OP_CREATE_TTL, ttl_ms=500)
    assert reply.err == 0
    c.close()
    zk.create(prefix + "/kept/child", b"")
    wait_until(lambda: zk.exists(prefix + "/ttl") is None, 20, 0.2, "TTL node expiry")
    wait_until(lambda: zk.exists(spath) is None, 20, 0.2, "sequential TTL node expiry")
    assert zk.exists(prefix + "/kept") is not None


def test_ttl_bad_arguments(raw, prefix):
    c = raw()
    # TTL out of range, and a non-TTL create mode with the TTL opcode: BadArguments (-8)
    assert c.create(prefix + "/t0", flags=5, op=zkwire.OP_CREATE_TTL, ttl_ms=0).err == -8
    assert c.create(prefix + "/tbig", flags=5, op=zkwire.OP_CREATE_TTL,
                    ttl_ms=1 << 40).err == -8
    assert c.create(prefix + "/tmode", flags=0, op=zkwire.OP_CREATE_TTL,
                    ttl_ms=1000).err == -8
    assert c.exists(prefix + "/t0").err == -101
    assert c.exists(prefix + "/tmode").err == -101


def zkwire_err(reply):
    return "err %d" % reply.err


def test_concurrent_create_same_path_has_one_winner(clients, prefix):
    """Two users registering the same name at once: exactly one succeeds."""
    contenders = [clients() for _ in range(4)]
    results = []
    lock = threading.Lock()
    start = threading.Barrier(len(contenders))

    def register(c, ident):
        start.wait(10)
        try:
            c.create(prefix + "/name", ident.encode(), ephemeral=True)
            outcome = "won"
        except NodeExistsError:
            outcome = "exists"
        with lock:
            results.append((ident, outcome))

    threads = [threading.Thread(target=register, args=(c, "u%d" % i), daemon=True)
               for i, c in enumerate(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    winners = [i for i, o in results if o == "won"]
    assert len(results) == 4 and len(winners) == 1
    data, st = contenders[0].get(prefix + "/name")
    assert data == winners[0].encode()
    owner = contenders[int(winners[0][1:])]
    assert st.ephemeralOwner == owner.client_id[0]


def test_get_children_with_parent_stat(zk, prefix):
    zk.create(prefix + "/a", b"")
    zk.create(prefix + "/b", b"")
    children, st = zk.get_children(prefix, include_data=True)  # getChildren2
    assert sorted(children) == ["a", "b"]
    assert st.numChildren == 2 and st == zk.exists(prefix)


def test_many_children(zk, prefix):
    n = 1000
    asyncs = [zk.create_async("%s/c%04d" % (prefix, i), b"") for i in range(n)]
    for a in asyncs:
        a.get(timeout=30)
    children = zk.get_children(prefix)
    assert sorted(children) == ["c%04d" % i for i in range(n)]
    assert zk.exists(prefix).numChildren == n


def test_chroot_client(server, clients, zk, prefix):
    """Chroot is client-side: the server sees absolute paths, the client relative ones."""
    zk.create(prefix + "/app", b"")
    rooted = clients(hosts=server.hosts + prefix + "/app")
    assert rooted.create("/x", b"in chroot") == "/x"
    zk.sync(prefix + "/app/x")
    assert zk.get(prefix + "/app/x")[0] == b"in chroot"
    seq = rooted.create("/s-", b"", sequence=True)
    assert seq == "/s-0000000001"
    events = []
    rooted.get_children("/", watch=events.append)
    zk.create(prefix + "/app/y", b"")
    wait_until(lambda: events, 10, what="chrooted child event")
    assert [(e.type, e.path) for e in events] == [("CHILD", "/")]
    assert sorted(rooted.get_children("/")) == ["s-0000000001", "x", "y"]


def test_async_pipelined_ops_keep_order(zk, prefix):
    """Writes and reads of one session are applied and answered in the order sent."""
    p = prefix + "/ctr"
    zk.create(p, b"0")
    asyncs = []
    for i in range(1, 51):
        asyncs.append(("set", zk.set_async(p, str(i).encode())))
        asyncs.append(("get", zk.get_async(p)))
    for i, (kind, a) in enumerate(asyncs):
        value = a.get(timeout=30)
        if kind == "get":
            data, st = value
            assert data == str(i // 2 + 1).encode()
            assert st.version == i // 2 + 1
