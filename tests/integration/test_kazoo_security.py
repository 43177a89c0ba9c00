"""Security fixes beyond ZooKeeper 3.8.0's behaviour.

Persistent and persistent-recursive watches honour READ (CVE-2024-23944, fixed in
ZooKeeper 3.8.4): a delivery owed only to such a watch is dropped unless the watcher
may READ the node the event is about (its parent for NodeChildrenChanged; for
NodeDeleted, the ACL the node had before deletion). One-shot watches keep 3.8
behaviour: READ was checked (or, for exists, not) when they were set.

Changes are made with kazoo; the watchers are raw clients (kazoo 2.8 has no addWatch).
"""

import struct

import pytest
from kazoo.security import OPEN_ACL_UNSAFE, make_digest_acl

import zkwire
from consistency import raw_sync

QUIET_S = 0.5

CVE_REASON = ("CVE-2024-23944: Debian's ZooKeeper 3.8.0 predates the fix (3.8.4) and "
              "delivers persistent/recursive watch events about nodes the watcher "
              "cannot READ")


def _events(raw_client):
    return [(e.type, e.path) for e in raw_client.drain_events(QUIET_S)]


@pytest.mark.synod_only(reason=CVE_REASON)
def test_recursive_and_persistent_watches_need_read(clients, raw, prefix):
    alice = clients(auth_data=[("digest", "alice:secret")])
    secret = prefix + "/secret"
    alice.create(secret, b"", acl=[make_digest_acl("alice", "secret", all=True)])

    bob = raw()  # no identity but his ip: no READ on secret
    raw_sync(bob, secret)  # (on a cluster: alice's create reached bob's server)
    assert bob.add_watch(prefix, zkwire.ADD_WATCH_PERSISTENT_RECURSIVE).err == 0
    assert bob.add_watch(secret, zkwire.ADD_WATCH_PERSISTENT).err == 0
    # exists needs no permission and its one-shot watch keeps 3.8 behaviour
    assert bob.exists(secret + "/later", watch=True).err == -101  # ZNONODE

    friend = raw()  # alice on another connection: sees everything
    friend.add_auth("digest", b"alice:secret")
    raw_sync(friend, secret)
    assert friend.add_watch(prefix, zkwire.ADD_WATCH_PERSISTENT_RECURSIVE).err == 0

    hidden = secret + "/hidden"
    alice.create(hidden, b"", acl=[make_digest_acl("alice", "secret", all=True)])
    alice.set(hidden, b"x")
    alice.set(secret, b"y")
    alice.create(secret + "/later", b"", acl=[make_digest_acl("alice", "secret", all=True)])
    alice.create(secret + "/open", b"", acl=OPEN_ACL_UNSAFE)  # readable: reported
    alice.delete(hidden)
    alice.create(prefix + "/public", b"")
    for child in ("later", "open"):
        alice.delete(secret + "/" + child)
    alice.delete(secret)

    assert _events(bob) == [
        (zkwire.EV_NODE_CREATED, secret + "/later"),  # the one-shot exists watch
        (zkwire.EV_NODE_CREATED, secret + "/open"),
        (zkwire.EV_NODE_CREATED, prefix + "/public"),
        (zkwire.EV_NODE_DELETED, secret + "/open"),
    ]
    assert _events(friend) == [
        (zkwire.EV_NODE_CREATED, hidden),
        (zkwire.EV_NODE_DATA_CHANGED, hidden),
        (zkwire.EV_NODE_DATA_CHANGED, secret),
        (zkwire.EV_NODE_CREATED, secret + "/later"),
        (zkwire.EV_NODE_CREATED, secret + "/open"),
        (zkwire.EV_NODE_DELETED, hidden),
        (zkwire.EV_NODE_CREATED, prefix + "/public"),
        (zkwire.EV_NODE_DELETED, secret + "/later"),
        (zkwire.EV_NODE_DELETED, secret + "/open"),
        (zkwire.EV_NODE_DELETED, secret),
    ]


def test_queued_requests_with_trailing_bytes(raw, zk, prefix):
    """Bytes after a request's record are ignored (Java's deserializers never check
    for leftovers). Requests queued behind a write are kept without them; they must
    still decode and run in order."""
    p = prefix + "/pad"
    zk.create(p, b"v0")
    c = raw()
    pad = b"\xee" * 65536
    x1 = c.next_xid()
    body = zkwire.Writer().ustring(p).buffer(b"v1").int(-1).bytes()
    c.send_frame(struct.pack(">ii", x1, zkwire.OP_SET_DATA) + body + pad)
    x2 = c.next_xid()
    body = zkwire.Writer().ustring(p).bool(False).bytes()
    c.send_frame(struct.pack(">ii", x2, zkwire.OP_GET_DATA) + body + pad)
    r1 = c._read_reply(10)
    r2 = c._read_reply(10)
    assert (r1.xid, r1.err) == (x1, 0)
    assert (r2.xid, r2.err) == (x2, 0)
    assert zkwire.decode_get_data(r2.body)[0] == b"v1"
    assert c.get_data(p).err == 0  # the connection is still in step
