"""Watches: one-shot data/exists/child watches fire exactly once with the right type;
persistent and persistent-recursive watches (addWatch); checkWatches/removeWatches; and
SetWatches/SetWatches2 on reconnect delivering events missed while disconnected.

kazoo 2.8 has no addWatch/removeWatches and does not send SetWatches when it reconnects,
so those parts use the raw client (tests/lib/zkwire.py); changes are made with kazoo.

On a cluster the watcher and the writer are on different servers: a watcher syncs before it
sets a watch on a node another client created (else its server may not have the node yet,
and the watch would start from an older state), as an application would.
"""

import threading
import time

import pytest

import zkwire
from consistency import raw_sync
from waiting import wait_until

QUIET_S = 0.5  # how long "no further event" is watched for


class Events:
    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def __call__(self, ev):
        with self.lock:
            self.items.append((ev.type, ev.path))

    def get(self):
        with self.lock:
            return list(self.items)


def settle(events, n, what):
    """Wait for n events, then make sure no more arrive for QUIET_S."""
    wait_until(lambda: len(events.get()) >= n, 10, what=what)
    time.sleep(QUIET_S)
    return events.get()


def test_data_watch_fires_once_on_change(clients, prefix):
    zk, other = clients(), clients()
    p = prefix + "/d"
    zk.create(p, b"0")
    ev = Events()
    zk.get(p, watch=ev)
    other.set(p, b"1")
    other.set(p, b"2")  # the watch is one-shot: no second event
    assert settle(ev, 1, "NodeDataChanged") == [("CHANGED", p)]
    # after the event the new data is visible to the watcher (after a sync: on a cluster the
    # event only says the watcher's server has applied the first set)
    zk.sync(p)
    assert zk.get(p)[0] == b"2"


def test_exists_watch_on_missing_node_fires_created(clients, prefix):
    zk, other = clients(), clients()
    p = prefix + "/later"
    ev = Events()
    assert zk.exists(p, watch=ev) is None
    other.create(p, b"")
    other.set(p, b"x")
    assert settle(ev, 1, "NodeCreated") == [("CREATED", p)]


def test_data_watch_fires_deleted(clients, prefix):
    zk, other = clients(), clients()
    p = prefix + "/gone"
    zk.create(p, b"")
    ev = Events()
    assert zk.exists(p, watch=ev) is not None
    other.delete(p)
    assert settle(ev, 1, "NodeDeleted") == [("DELETED", p)]


def test_child_watch_fires_once_and_not_for_data(clients, prefix):
    zk, other = clients(), clients()
    ev = Events()
    assert zk.get_children(prefix, watch=ev) == []
    other.set(prefix, b"data change is not a child change")
    time.sleep(QUIET_S)
    assert ev.get() == []
    other.create(prefix + "/k1", b"")
    other.create(prefix + "/k2", b"")
    assert settle(ev, 1, "NodeChildrenChanged") == [("CHILD", prefix)]
    # re-arm; a child delete fires it again (the sync: the event came with k1's create)
    zk.sync(prefix)
    ev2 = Events()
    assert sorted(zk.get_children(prefix, watch=ev2)) == ["k1", "k2"]
    other.delete(prefix + "/k1")
    assert settle(ev2, 1, "NodeChildrenChanged on delete") == [("CHILD", prefix)]


def test_child_watch_gets_deleted_when_node_goes(clients, prefix):
    zk, other = clients(), clients()
    p = prefix + "/parent"
    zk.create(p, b"")
    ev = Events()
    zk.get_children(p, watch=ev)
    other.delete(p)
    assert settle(ev, 1, "NodeDeleted on child watch") == [("DELETED", p)]


def test_set_acl_does_not_fire_watches(clients, prefix):
    from kazoo.security import OPEN_ACL_UNSAFE
    zk, other = clients(), clients()
    p = prefix + "/acl"
    zk.create(p, b"")
    ev = Events()
    zk.get(p, watch=ev)
    zk.get_children(p, watch=ev)
    other.set_acls(p, OPEN_ACL_UNSAFE)
    time.sleep(QUIET_S)
    assert ev.get() == []


def test_watches_from_several_clients_each_fire(clients, prefix):
    a, b, writer = clients(), clients(), clients()
    p = prefix + "/shared"
    writer.create(p, b"")
    a.sync(p)
    b.sync(p)
    ea, eb = Events(), Events()
    a.get(p, watch=ea)
    b.exists(p, watch=eb)
    writer.set(p, b"new")
    assert settle(ea, 1, "a's event") == [("CHANGED", p)]
    assert settle(eb, 1, "b's event") == [("CHANGED", p)]


def _events(raw_client):
    return [(e.type, e.path) for e in raw_client.drain_events(QUIET_S)]


def test_persistent_watch(raw, zk, prefix):
    p = prefix + "/pw"
    zk.create(p, b"")
    c = raw()
    raw_sync(c, p)
    reply = c.add_watch(p, zkwire.ADD_WATCH_PERSISTENT)
    assert reply.err == 0
    assert zkwire.decode_int(reply.body) == 0  # AddWatch answers ErrorResponse{0}
    zk.set(p, b"1")
    zk.set(p, b"2")
    zk.create(p + "/child", b"")
    zk.create(p + "/child/grand", b"")  # below a direct child: not reported
    zk.set(p + "/child", b"x")  # a child's data: not reported
    zk.delete(p + "/child/grand")
    zk.delete(p + "/child")
    zk.delete(p)
    zk.create(p, b"")
    assert _events(c) == [
        (zkwire.EV_NODE_DATA_CHANGED, p), (zkwire.EV_NODE_DATA_CHANGED, p),
        (zkwire.EV_NODE_CHILDREN_CHANGED, p), (zkwire.EV_NODE_CHILDREN_CHANGED, p),
        (zkwire.EV_NODE_DELETED, p), (zkwire.EV_NODE_CREATED, p)]
    assert all(e.state == 3 for e in c.events)  # nothing left; states were SyncConnected


def test_persistent_recursive_watch(raw, zk, prefix):
    p = prefix + "/rw"
    zk.create(p, b"")
    c = raw()
    raw_sync(c, p)
    assert c.add_watch(p, zkwire.ADD_WATCH_PERSISTENT_RECURSIVE).err == 0
    zk.create(p + "/a", b"")
    zk.create(p + "/a/b", b"")
    zk.set(p + "/a/b", b"x")
    zk.set(p, b"y")
    zk.delete(p + "/a/b")
    zk.create(prefix + "/rwx", b"")  # a sibling with the same name prefix: not below p
    got = _events(c)
    # recursive watches never report NodeChildrenChanged
    assert got == [
        (zkwire.EV_NODE_CREATED, p + "/a"), (zkwire.EV_NODE_CREATED, p + "/a/b"),
        (zkwire.EV_NODE_DATA_CHANGED, p + "/a/b"), (zkwire.EV_NODE_DATA_CHANGED, p),
        (zkwire.EV_NODE_DELETED, p + "/a/b")]


def test_persistent_watch_plus_one_shot_gives_one_event(raw, zk, prefix):
    p = prefix + "/both"
    zk.create(p, b"")
    c = raw()
    raw_sync(c, p)
    assert c.add_watch(p, zkwire.ADD_WATCH_PERSISTENT).err == 0
    assert c.get_data(p, watch=True).err == 0
    zk.set(p, b"1")
    assert _events(c) == [(zkwire.EV_NODE_DATA_CHANGED, p)]


def test_check_and_remove_watches(raw, zk, prefix):
    p = prefix + "/cw"
    zk.create(p, b"")
    c = raw()
    raw_sync(c, p)
    assert c.check_watches(p, zkwire.WATCHER_DATA).err == -121  # NoWatcher
    assert c.get_data(p, watch=True).err == 0
    assert c.check_watches(p, zkwire.WATCHER_DATA).err == 0
    assert c.check_watches(p, zkwire.WATCHER_CHILDREN).err == -121
    assert c.check_watches(p, zkwire.WATCHER_ANY).err == 0
    assert c.get_children(p, watch=True).err == 0
    assert c.remove_watches(p, zkwire.WATCHER_DATA).err == 0
    assert c.check_watches(p, zkwire.WATCHER_DATA).err == -121
    assert c.remove_watches(p, zkwire.WATCHER_DATA).err == -121
    zk.set(p, b"no data event now")
    zk.create(p + "/kid", b"")
    assert _events(c) == [(zkwire.EV_NODE_CHILDREN_CHANGED, p)]
    # the fired child watch is gone
    assert c.check_watches(p, zkwire.WATCHER_CHILDREN).err == -121
    # removing a persistent watch with type Any
    assert c.add_watch(p, zkwire.ADD_WATCH_PERSISTENT).err == 0
    assert c.remove_watches(p, zkwire.WATCHER_ANY).err == 0
    zk.set(p, b"after removal")
    assert _events(c) == []


def test_watches_are_per_connection(raw, zk, prefix):
    p = prefix + "/pc"
    zk.create(p, b"")
    a, b = raw(), raw()
    raw_sync(a, p)
    assert a.get_data(p, watch=True).err == 0
    # removeWatches only looks at the caller's own watches: a's watch survives
    assert b.remove_watches(p, zkwire.WATCHER_DATA).err == -121
    assert a.check_watches(p, zkwire.WATCHER_DATA).err == 0
    zk.set(p, b"1")
    assert _events(a) == [(zkwire.EV_NODE_DATA_CHANGED, p)]
    assert _events(b) == []


@pytest.mark.synod_only(reason="ZooKeeper 3.8.0 answers checkWatches with OK when any "
                        "connection watches the path (its containsWatcher ignores the "
                        "connection); the protocol says watches of this connection")
def test_check_watches_ignores_other_connections(raw, zk, prefix):
    p = prefix + "/cw2"
    zk.create(p, b"")
    a, b = raw(), raw()
    raw_sync(a, p)
    assert a.get_data(p, watch=True).err == 0
    assert b.check_watches(p, zkwire.WATCHER_DATA).err == -121


@pytest.mark.synod_only(reason="ZooKeeper has no per-connection watch limits")
def test_set_watches_over_the_watch_limits_closes_the_connection(raw, prefix):
    """SetWatches whose watches the per-connection limits (base/limits.h: 64 MiB of watch
    bookkeeping, each watch charged 128 bytes + its path) refuse in part must not be answered
    OK: the server closes the connection, so the client reconnects instead of believing its
    watches are set."""
    bytes_max, charge = 64 * 1024 * 1024, 128 + 16 * 1024
    per_packet = 60  # 60 paths of 16 KiB: one frame under jute.maxbuffer
    c = raw()
    registered = 0
    closed = False
    for _ in range(bytes_max // charge // per_packet + 2):
        paths = [("%s/w%06d" % (prefix, registered + i)).ljust(16 * 1024, "x")
                 for i in range(per_packet)]
        try:
            reply = c.set_watches(c.last_zxid, exist=paths)
        except (zkwire.ConnectionClosed, ConnectionError):
            closed = True
            break
        assert reply.err == 0
        registered += per_packet
    assert closed, "SetWatches over the limit was answered instead of closing"
    assert registered * charge <= bytes_max < (registered + per_packet) * charge
    assert c.wait_closed(timeout_s=5.0)


def _end(client):
    """closeSession (so the session does not linger), then close the socket."""
    try:
        client.close_session()
    except (OSError, zkwire.ConnectionClosed, zkwire.DecodeError):
        pass
    client.close()


def _reattach(old):
    """A new connection for old's session (old's socket is dropped without closeSession),
    to old's server (another server could still be behind old's last zxid and refuse it)."""
    old.close()
    c = zkwire.RawClient(old.host, old.port)
    resp = c.connect(timeout_ms=10000, session_id=old.session_id, passwd=old.passwd,
                     last_zxid=old.last_zxid)
    assert resp.session_id == old.session_id and resp.timeout_ms > 0
    return c


def test_set_watches_after_reconnect_fires_missed_events(raw, proxy, zk, prefix):
    """Cut the connection (proxy), change things with another client, restore, re-attach the
    session on a new connection and send SetWatches with the last zxid seen."""
    d, gone, same, e, ch = (prefix + s for s in ("/d", "/gone", "/same", "/e", "/ch"))
    for path in (d, gone, same, ch):
        zk.create(path, b"")
    px = proxy()
    a = raw(host=px.host, port=px.port)
    raw_sync(a, prefix)
    assert a.get_data(d, watch=True).err == 0
    assert a.get_data(gone, watch=True).err == 0
    assert a.get_data(same, watch=True).err == 0
    assert a.exists(e, watch=True).err == -101
    assert a.get_children(ch, watch=True).err == 0
    rel = a.last_zxid
    px.cut()  # disconnected: the server drops this connection's watches
    assert a.wait_closed(5)
    zk.set(d, b"changed")
    zk.delete(gone)
    zk.create(e, b"")
    zk.create(ch + "/kid", b"")
    px.restore()
    b = zkwire.RawClient(px.host, px.port)
    try:
        resp = b.connect(timeout_ms=10000, session_id=a.session_id, passwd=a.passwd,
                         last_zxid=rel)
        assert resp.session_id == a.session_id and resp.timeout_ms > 0
        reply = b.set_watches(rel, data=[d, gone, same], exist=[e], child=[ch])
        assert reply.err == 0 and reply.body == b""
        got = sorted(_events(b))
        assert got == sorted([(zkwire.EV_NODE_DATA_CHANGED, d), (zkwire.EV_NODE_DELETED, gone),
                              (zkwire.EV_NODE_CREATED, e),
                              (zkwire.EV_NODE_CHILDREN_CHANGED, ch)])
        # the unchanged path was re-registered and fires on the next change, once
        zk.set(same, b"1")
        zk.set(same, b"2")
        assert _events(b) == [(zkwire.EV_NODE_DATA_CHANGED, same)]
    finally:
        _end(b)


def test_set_watches2_restores_persistent_watches(raw, zk, prefix):
    p, r = prefix + "/p", prefix + "/r"
    zk.create(p, b"")
    zk.create(r, b"")
    a = raw()
    raw_sync(a, prefix)
    assert a.add_watch(p, zkwire.ADD_WATCH_PERSISTENT).err == 0
    assert a.add_watch(r, zkwire.ADD_WATCH_PERSISTENT_RECURSIVE).err == 0
    b = _reattach(a)
    try:
        assert b.set_watches2(b.last_zxid, persistent=[p], recursive=[r]).err == 0
        zk.set(p, b"1")
        zk.set(p, b"2")
        zk.create(r + "/x", b"")
        assert _events(b) == [(zkwire.EV_NODE_DATA_CHANGED, p),
                              (zkwire.EV_NODE_DATA_CHANGED, p),
                              (zkwire.EV_NODE_CREATED, r + "/x")]
    finally:
        _end(b)


def test_watch_event_arrives_before_later_reply(raw, zk, prefix):
    """A client sees the event before it can read the new data (ordering guarantee)."""
    p = prefix + "/order"
    zk.create(p, b"old")
    c = raw()
    raw_sync(c, p)
    assert c.get_data(p, watch=True).err == 0
    writer = raw()
    assert writer.set_data(p, b"new").err == 0
    reply = c.get_data(p)
    data, _ = zkwire.decode_get_data(reply.body)
    if data == b"new":
        assert list(c.events) == [zkwire.WatchEvent(zkwire.EV_NODE_DATA_CHANGED, 3, p)]
    else:  # read served before the write reached this server's view: event must follow
        assert c.wait_event(5) == zkwire.WatchEvent(zkwire.EV_NODE_DATA_CHANGED, 3, p)


def test_kazoo_data_watch_recipe(clients, prefix):
    """DataWatch re-arms its watch after each event and sees every committed value when
    changes are spaced out."""
    zk, writer = clients(), clients()
    p = prefix + "/dw"
    seen = []
    lock = threading.Lock()

    @zk.DataWatch(p)
    def watch(data, stat):
        with lock:
            seen.append((data, stat.version if stat else None))

    wait_until(lambda: seen == [(None, None)], 10, what="initial DataWatch call")
    writer.create(p, b"v0")
    wait_until(lambda: len(seen) == 2, 10, what="created")
    for i in range(1, 4):
        writer.set(p, b"v%d" % i)
        wait_until(lambda: len(seen) == 2 + i, 10, what="change %d" % i)
    writer.delete(p)
    wait_until(lambda: len(seen) == 6, 10, what="deleted")
    assert seen == [(None, None), (b"v0", 0), (b"v1", 1), (b"v2", 2), (b"v3", 3),
                    (None, None)]


def test_kazoo_children_watch_recipe(clients, prefix):
    zk, writer = clients(), clients()
    seen = []
    lock = threading.Lock()

    @zk.ChildrenWatch(prefix)
    def watch(children):
        with lock:
            seen.append(sorted(children))

    wait_until(lambda: seen == [[]], 10, what="initial ChildrenWatch call")
    writer.create(prefix + "/a", b"")
    wait_until(lambda: seen[-1] == ["a"], 10, what="a")
    writer.create(prefix + "/b", b"", ephemeral=True)
    wait_until(lambda: seen[-1] == ["a", "b"], 10, what="b")
    writer.stop()  # the ephemeral goes with the session
    wait_until(lambda: seen[-1] == ["a"], 10, what="ephemeral b gone")


def test_kazoo_tree_cache(clients, prefix):
    from kazoo.recipe.cache import TreeCache, TreeEvent
    zk, writer = clients(), clients()
    writer.create(prefix + "/t/a", b"1", makepath=True)
    cache = TreeCache(zk, prefix + "/t")
    events = Events()
    cache.listen(lambda ev: _record(events, ev))
    cache.start()
    try:
        wait_until(lambda: cache.get_data(prefix + "/t/a") is not None, 10,
                   what="cache initialised")
        writer.create(prefix + "/t/a/b", b"2")
        writer.set(prefix + "/t/a", b"1b")
        wait_until(lambda: cache.get_data(prefix + "/t/a/b") is not None and
                   cache.get_data(prefix + "/t/a").data == b"1b", 10, what="cache updates")
        writer.delete(prefix + "/t/a/b")
        wait_until(lambda: cache.get_data(prefix + "/t/a/b") is None, 10, what="cache removal")
        assert cache.get_children(prefix + "/t") == frozenset(["a"])
        # listeners run on kazoo's event thread, after the cache itself is updated
        wanted = [(TreeEvent.NODE_ADDED, prefix + "/t/a/b"),
                  (TreeEvent.NODE_UPDATED, prefix + "/t/a"),
                  (TreeEvent.NODE_REMOVED, prefix + "/t/a/b")]
        wait_until(lambda: all(w in events.get() for w in wanted), 10,
                   what="TreeCache listener events")
    finally:
        cache.close()


def _record(events, ev):
    with events.lock:
        events.items.append((ev.event_type, ev.event_data.path if ev.event_data else None))
