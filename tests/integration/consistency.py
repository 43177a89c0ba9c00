"""What a client does to see other clients' writes on a replicated service.

ZooKeeper answers reads from the server a client is connected to: a write acknowledged to
one client is visible at once to clients of the same server, but a client of another server
may read an older state until that server catches up. `sync` makes the caller's server catch
up with the leader first (every read after it on the session sees every write completed
before it). The tests sync where an application would have to; on a standalone server a sync
changes nothing. kazoo has KazooClient.sync(path); raw_sync is the same for a raw client.
"""

import zkwire


def raw_sync(client, path):
    """sync(path) on a zkwire.RawClient's session; asserts it succeeded."""
    reply = client.call(zkwire.OP_SYNC, zkwire.Writer().ustring(path).bytes())
    assert reply.err == 0, "sync %s: err %d" % (path, reply.err)
    return reply
