"""Sessions: ephemerals vanish on close and on expiry, reconnect with the same session
(keeps ephemerals), session moves, invalid sessions.

Expiry is forced without touching kazoo internals: the client talks to the server through
a CuttableProxy; cut() breaks the connection and refuses reconnects, so the server stops
hearing from the session and expires it after the negotiated timeout.

On a cluster the clients of a test are on different servers; an observer syncs before it
reads what another client changed (consistency.py).
"""

import threading

from kazoo.client import KazooState

import zkwire
from waiting import wait_until


class StateLog:
    """Records kazoo connection state changes (called on kazoo's event thread)."""

    def __init__(self, client):
        self.states = []
        self.lock = threading.Lock()
        client.add_listener(self)

    def __call__(self, state):
        with self.lock:
            self.states.append(state)

    def seen(self, state):
        with self.lock:
            return state in self.states


def test_ephemeral_vanishes_on_close_and_fires_watch(clients, prefix):
    owner, watcher = clients(), clients()
    owner.create(prefix + "/eph", b"", ephemeral=True)
    events = []
    watcher.sync(prefix + "/eph")
    assert watcher.exists(prefix + "/eph", watch=events.append) is not None
    owner.stop()  # sends closeSession and waits for its reply
    # the close is synchronous: the node is gone for everyone (who syncs) once stop() returned
    watcher.sync(prefix + "/eph")
    assert watcher.exists(prefix + "/eph") is None
    wait_until(lambda: events, 5, what="NodeDeleted for the closed session's ephemeral")
    assert [(e.type, e.path) for e in events] == [("DELETED", prefix + "/eph")]


def test_ephemeral_vanishes_on_expiry(clients, proxy, prefix):
    px = proxy()
    victim = clients(hosts=px.hosts, timeout=2.0)
    log = StateLog(victim)
    observer = clients()
    old_id = victim.client_id[0]
    victim.create(prefix + "/eph", b"", ephemeral=True)
    victim.create(prefix + "/eseq-", b"", ephemeral=True, sequence=True)
    observer.sync(prefix)
    assert len(observer.get_children(prefix)) == 2
    deleted = []
    observer.exists(prefix + "/eph", watch=deleted.append)
    px.cut()
    wait_until(lambda: log.seen(KazooState.SUSPENDED), 10, what="client suspended")
    wait_until(lambda: observer.get_children(prefix) == [], 20, 0.2,
               "ephemerals removed by session expiry")
    wait_until(lambda: deleted, 5, what="NodeDeleted from the expiry")
    assert [(e.type, e.path) for e in deleted] == [("DELETED", prefix + "/eph")]
    px.restore()
    # on reconnect the server answers the expired session with timeOut=0: kazoo goes LOST
    # and then starts a new session
    wait_until(lambda: log.seen(KazooState.LOST), 20, what="client sees session loss")
    wait_until(lambda: victim.connected, 20, what="client reconnects with a new session")
    assert victim.client_id[0] != old_id
    assert observer.get_children(prefix) == []


def test_expired_session_cannot_be_resumed(server, raw, zk, prefix):
    """On a cluster `again` is on another server than c, which may not have applied the
    expiry yet when zk has seen it: it must refuse all the same. ZooKeeper's follower then
    sometimes closes the connection without sending its refusal; on a cluster that counts
    as a refusal too (the session is not resumed)."""
    c = raw(timeout_ms=2000)
    assert c.timeout_ms == 2000
    assert c.create(prefix + "/eph", flags=1).err == 0
    sid, pw = c.session_id, c.passwd
    # stay silent: no pings, the server expires the session and closes the connection
    assert c.wait_closed(20), "server did not close the expired session's connection"
    wait_until(lambda: zk.exists(prefix + "/eph") is None, 10, what="ephemeral removed")
    srv = server.pick()
    again = zkwire.RawClient(srv.host, srv.port)
    try:
        try:
            resp = again.connect(timeout_ms=10000, session_id=sid, passwd=pw)
        except zkwire.ConnectionClosed:
            if server.topology != "cluster":
                raise
            resp = None  # refused by closing (a ZooKeeper follower, see above)
        if resp is not None:
            assert resp.timeout_ms == 0 and resp.session_id == 0
            assert resp.passwd == b"\0" * 16
            assert again.wait_closed(10)
    finally:
        again.close()


def test_reconnect_same_session_keeps_ephemerals(clients, proxy, prefix):
    px = proxy()
    c = clients(hosts=px.hosts, timeout=10.0)
    log = StateLog(c)
    observer = clients()
    sid = c.client_id
    c.create(prefix + "/eph", b"mine", ephemeral=True)
    px.cut()
    wait_until(lambda: log.seen(KazooState.SUSPENDED), 10, what="client suspended")
    px.restore()
    wait_until(lambda: c.connected and log.states[-1] == KazooState.CONNECTED, 15,
               what="client reconnected")
    assert not log.seen(KazooState.LOST)
    assert c.client_id == sid
    assert px.accepted >= 2  # really a new TCP connection
    observer.sync(prefix + "/eph")
    st = observer.exists(prefix + "/eph")
    assert st is not None and st.ephemeralOwner == sid[0]
    assert c.get(prefix + "/eph")[0] == b"mine"
    c.set(prefix + "/eph", b"still mine")
    observer.sync(prefix + "/eph")
    assert observer.get(prefix + "/eph")[0] == b"still mine"


def test_session_moves_to_new_connection(raw, zk, prefix):
    """A new connection to the same server takes the session over and the server closes the
    old one. (On a cluster both are on one server: a server is not told when a session moves
    to another server; ZooKeeper answers the old connection's next request SESSIONMOVED.)"""
    first = raw(timeout_ms=10000)
    assert first.create(prefix + "/eph", flags=1).err == 0
    second = zkwire.RawClient(first.host, first.port)
    try:
        resp = second.connect(timeout_ms=10000, session_id=first.session_id,
                              passwd=first.passwd, last_zxid=first.last_zxid)
        assert resp.session_id == first.session_id and resp.passwd == first.passwd
        assert resp.timeout_ms == 10000
        # the server closes the connection that used to own the session
        assert first.wait_closed(10)
        assert second.ping().err == 0
        zk.sync(prefix + "/eph")
        assert zk.exists(prefix + "/eph").ephemeralOwner == first.session_id
        second.close_session()
    finally:
        second.close()
    wait_until(lambda: zk.exists(prefix + "/eph") is None, 10, what="ephemeral removed")


def test_wrong_password_is_refused(server, raw):
    """(On a cluster good, bad and again are on three different servers.)"""
    good = raw()
    srv = server.pick()
    bad = zkwire.RawClient(srv.host, srv.port)
    try:
        wrong = bytes(b ^ 0xFF for b in good.passwd)
        resp = bad.connect(timeout_ms=10000, session_id=good.session_id, passwd=wrong)
        assert resp.timeout_ms == 0 and resp.session_id == 0
        assert bad.wait_closed(10)
    finally:
        bad.close()
    # The session itself survives. (ZooKeeper 3.8 closes the connection that owned the
    # session before it checks the password, so the test does not rely on `good`'s socket.)
    srv = server.pick()
    again = zkwire.RawClient(srv.host, srv.port)
    try:
        resp = again.connect(timeout_ms=10000, session_id=good.session_id, passwd=good.passwd)
        assert resp.session_id == good.session_id and resp.timeout_ms == 10000
        assert again.ping().err == 0
    finally:
        again.close()


def test_unknown_session_is_refused(member):
    c = zkwire.RawClient(member.host, member.port)
    try:
        resp = c.connect(timeout_ms=10000, session_id=0x1234567, passwd=b"\x01" * 16)
        assert resp.timeout_ms == 0 and resp.session_id == 0
        assert c.wait_closed(10)
    finally:
        c.close()


def test_auth_is_resent_after_reconnect(clients, proxy, prefix):
    from kazoo.security import make_digest_acl
    px = proxy()
    c = clients(hosts=px.hosts, timeout=10.0)
    log = StateLog(c)
    c.add_auth("digest", "frank:pw")
    c.create(prefix + "/private", b"p", acl=[make_digest_acl("frank", "pw", all=True)])
    px.cut()
    wait_until(lambda: log.seen(KazooState.SUSPENDED), 10, what="client suspended")
    px.restore()
    wait_until(lambda: c.connected and log.states[-1] == KazooState.CONNECTED, 15,
               what="client reconnected")
    # the new connection carries the digest identity again (kazoo re-sends auth packets)
    assert c.get(prefix + "/private")[0] == b"p"
    c.set(prefix + "/private", b"q")
