"""A clean server restart (SIGTERM, start again on the same port and data dir): data,
sessions and their ephemerals survive, the client reconnects with the same session, and
zxids keep increasing. (kill -9 durability is a separate suite.) With
SYNOD_TEST_TOPOLOGY=cluster own_server is a private 3-server cluster and restart() stops every
server and starts them all again: the same checks for a whole-cluster restart."""

import threading

from kazoo.client import KazooClient, KazooState

from waiting import wait_until


def test_restart_keeps_data_sessions_and_ephemerals(own_server):
    states = []
    lock = threading.Lock()

    def listener(state):
        with lock:
            states.append(state)

    c = KazooClient(hosts=own_server.hosts, timeout=15.0)
    c.add_listener(listener)
    c.start(timeout=10)
    try:
        c.create("/keep", b"persistent data")
        c.create("/keep/seq-", b"", sequence=True)
        c.create("/eph", b"e", ephemeral=True)
        _, before = c.get("/keep")
        sid = c.client_id
        own_server.restart()
        wait_until(lambda: states and states[-1] == KazooState.CONNECTED and
                   KazooState.SUSPENDED in states, 30, what="client reconnected after restart")
        assert KazooState.LOST not in states
        assert c.client_id == sid
        data, after = c.get("/keep")
        assert data == b"persistent data" and after == before
        st = c.exists("/eph")
        assert st is not None and st.ephemeralOwner == sid[0]
        # sequence counters and zxids continue where they were
        assert c.create("/keep/seq-", b"", sequence=True) == "/keep/seq-0000000001"
        assert c.exists("/keep/seq-0000000001").czxid > before.pzxid
        other = KazooClient(hosts=own_server.hosts, timeout=10.0)
        other.start(timeout=10)
        try:
            assert other.exists("/eph").ephemeralOwner == sid[0]
        finally:
            other.stop()
            other.close()
    finally:
        c.stop()
        c.close()
