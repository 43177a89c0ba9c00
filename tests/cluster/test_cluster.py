"""A replicated cluster as its clients see it: 3 servers, clients spread over them, the
leader killed, hung or restarted. Every test passes against a ZooKeeper 3.8 ensemble too.

Timing is printed, never asserted (machines here are shared and noisy): the failover figures
with their targets are in `make bench`."""

import struct
import threading
import time

import pytest
from kazoo.exceptions import ConnectionLoss, NodeExistsError, OperationTimeoutError
from kazoo.protocol.states import KazooState

import servers
import zkwire

POLL_S = 0.05
CATCH_UP_TIMEOUT_S = 60.0


def wait_for(predicate, timeout_s, what):
    """Polls predicate() until true; bounded in time and rounds."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / POLL_S) + 1):
        if predicate():
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout_s, what))


def server_zxid(c, i):
    """Last zxid applied by server i, or -1 if it does not answer."""
    return servers.srvr_zxid(lambda cmd, timeout_s: c.four_letter(i, cmd, timeout_s))


def wait_caught_up(c, i, others):
    """Waits until server i has applied at least what every server in `others` has."""
    def caught_up():
        mine = server_zxid(c, i)
        return mine >= 0 and all(mine >= server_zxid(c, j) for j in others)
    wait_for(caught_up, CATCH_UP_TIMEOUT_S, "server.%d to catch up" % i)


def write_until(zk, path, deadline_s):
    """Creates `path`, retrying through connection loss (the outcome of a lost request is
    unknown, so NodeExists after a retry means an earlier attempt made it)."""
    deadline = time.monotonic() + deadline_s
    attempt = 0
    while True:
        attempt += 1
        try:
            zk.create(path, b"v", makepath=True)
            return
        except NodeExistsError:
            if attempt > 1:
                return
            raise
        except (ConnectionLoss, OperationTimeoutError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(POLL_S)


def test_write_through_one_server_is_read_through_another_after_sync(cluster, clients):
    ids = cluster.ids()
    a = clients(cluster.host(ids[0]))
    b = clients(cluster.host(ids[1]))
    a.create("/x", b"one")
    b.sync("/x")
    assert b.get("/x")[0] == b"one"
    a.set("/x", b"two")
    b.sync("/")
    assert b.get("/x")[0] == b"two"


def test_watches_fire_for_writes_through_other_servers(cluster, clients):
    ids = cluster.ids()
    writer = clients(cluster.host(ids[0]))
    watchers = [clients(cluster.host(i)) for i in ids[1:]]
    writer.create("/w", b"")
    seen = {i: [] for i in range(len(watchers))}
    fired = {i: threading.Event() for i in range(len(watchers))}

    def watch_of(i):
        def on_event(event):
            seen[i].append((event.type, event.path))
            fired[i].set()
        return on_event

    for i, zk in enumerate(watchers):
        zk.sync("/w")
        zk.get("/w", watch=watch_of(i))
    writer.set("/w", b"changed")
    for i in range(len(watchers)):
        assert fired[i].wait(15), "no notification on watcher %d" % i
        assert seen[i] == [("CHANGED", "/w")]
    # children watches too: a create through one server, the event on the others
    for i in fired:
        fired[i].clear()
        seen[i].clear()
    for i, zk in enumerate(watchers):
        zk.get_children("/w", watch=watch_of(i))
    writer.create("/w/child", b"")
    for i in range(len(watchers)):
        assert fired[i].wait(15), "no child notification on watcher %d" % i
        assert seen[i] == [("CHILD", "/w")]


def test_sequential_names_stay_unique_and_increasing_through_every_server(cluster, clients):
    ids = cluster.ids()
    setup = clients(cluster.host(ids[0]))
    setup.create("/seq", b"")
    per_client = 150
    results = {}
    errors = []

    def run(i):
        zk = clients(cluster.host(ids[i % len(ids)]))
        names = []
        try:
            for _ in range(per_client):
                names.append(zk.create("/seq/n-", b"", sequence=True))
        except Exception as e:  # reported below, with the thread's index
            errors.append((i, repr(e)))
        results[i] = names

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    everything = [n for names in results.values() for n in names]
    assert len(everything) == len(set(everything)) == 6 * per_client
    for names in results.values():  # one session sees its own creates in order
        assert names == sorted(names)
    for i in ids:  # every server holds the same children
        zk = clients(cluster.host(i))
        zk.sync("/seq")
        assert sorted("/seq/" + n for n in zk.get_children("/seq")) == sorted(everything)


def test_leader_killed_under_writes_loses_nothing_acknowledged(cluster, clients):
    ids = cluster.ids()
    leader = cluster.leader()
    followers = [i for i in ids if i != leader]
    owner = clients(cluster.host(followers[0]))
    owner.create("/eph", b"mine", ephemeral=True)
    owner_states = []
    owner.add_listener(owner_states.append)
    setup = clients(cluster.hosts())
    setup.ensure_path("/acked")

    acked = []
    acked_lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def writer(w):
        zk = clients(cluster.hosts())
        n = 0
        try:
            while not stop.is_set():
                path = "/acked/w%d-%06d" % (w, n)
                write_until(zk, path, 30)
                with acked_lock:
                    acked.append((time.monotonic(), path))
                n += 1
        except Exception as e:
            errors.append((w, repr(e)))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= 50, 30, "writes before the kill")
    killed_at = time.monotonic()
    cluster.kill9(leader)
    new_leader = cluster.wait_leader(exclude=leader)
    wait_for(lambda: any(t > killed_at + 0.05 for t, _ in acked), 30, "writes after the kill")
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(60)
    assert not errors, errors
    first_after = min(t for t, _ in acked if t > killed_at) - killed_at
    print("leader %d killed; new leader %d; first write acknowledged %.0f ms later"
          % (leader, new_leader, first_after * 1000))

    paths = sorted(p for _, p in acked)
    for i in followers:
        zk = clients(cluster.host(i))
        zk.sync("/acked")
        children = set("/acked/" + c for c in zk.get_children("/acked"))
        missing = [p for p in paths if p not in children]
        assert not missing, "server.%d misses %d acknowledged writes: %s" % (
            i, len(missing), missing[:5])
        assert zk.exists("/eph") is not None, "the ephemeral of a live session vanished"
    assert KazooState.LOST not in owner_states
    assert owner.exists("/eph") is not None

    cluster.start(leader)  # the killed server comes back and catches up
    wait_caught_up(cluster, leader, followers)
    back = clients(cluster.host(leader))
    children = set("/acked/" + c for c in back.get_children("/acked"))
    assert all(p in children for p in paths)


def test_follower_restarted_after_compaction_catches_up_by_snapshot(make_cluster, clients,
                                                                    target):
    c = make_cluster(3, {"snapCount": 100})
    leader = c.leader()
    victim = [i for i in c.ids() if i != leader][0]
    c.kill9(victim)
    zk = clients(c.host(leader))
    zk.create("/bulk", b"")
    # more than the entries a leader keeps after compacting (RAFT_SNAPSHOT_TRAILING_DEFAULT)
    pending = [zk.create_async("/bulk/n%05d" % i, b"x" * 64) for i in range(3000)]
    for p in pending:
        p.get(timeout=60)
    c.start(victim)
    wait_caught_up(c, victim, [leader])
    back = clients(c.host(victim))
    assert len(back.get_children("/bulk")) == 3000
    assert back.get("/bulk/n02999")[0] == b"x" * 64
    if target == "synod":
        assert "installing the leader's snapshot" in c.log_tail(victim, 200000)


def test_hung_leader_steps_down_and_never_answers_a_write_of_its_old_term(cluster, clients):
    ids = cluster.ids()
    leader = cluster.leader()
    others = [i for i in ids if i != leader]
    host, port = cluster.host(leader).split(":")
    stale = zkwire.RawClient(host, int(port))
    stale.connect(timeout_ms=30000)
    cluster.pause(leader)
    # Sent while the leader is stopped: it reads this only after SIGCONT, as an old leader.
    body = zkwire.Writer().ustring("/stale").buffer(b"x").acls(zkwire.OPEN_ACL_UNSAFE).int(0)
    xid = stale.next_xid()
    stale.send_frame(struct.pack(">ii", xid, zkwire.OP_CREATE) + body.bytes())
    new_leader = cluster.wait_leader(exclude=leader)
    good = clients(",".join(cluster.host(i) for i in others))
    good.create("/after", b"new term")
    time.sleep(1.0)
    cluster.resume(leader)
    wait_for(lambda: cluster.mode(leader) == "follower", 30, "the old leader to step down")
    try:
        reply = stale.recv_frame(timeout_s=10)
        answered = True
    except (OSError, zkwire.ConnectionClosed):
        answered = False
    good.sync("/")
    stale_stat = good.exists("/stale")
    exists = stale_stat is not None
    if exists:
        # written after the new term's /after: never an entry of the old leader's term
        assert stale_stat.czxid > good.exists("/after").czxid
    if answered:
        xid_got, zxid, err = struct.unpack(">iqi", reply[:16])
        # an answer is fine only if it tells the truth about the new term's state
        assert xid_got == xid
        assert (err == 0) == exists, "old leader answered err %d, node exists=%s" % (err, exists)
    else:
        assert not exists, "a write only the stale leader saw was committed"
    print("hung leader %d replaced by %d; stale write answered=%s exists=%s"
          % (leader, new_leader, answered, exists))
    wait_caught_up(cluster, leader, [new_leader])
    back = clients(cluster.host(leader))
    assert back.get("/after")[0] == b"new term"


@pytest.mark.synod_only(reason="a ZooKeeper follower that loses its leader closes every "
                        "client connection; a synod follower keeps them and their waits")
def test_sync_waiting_on_a_follower_is_answered_by_the_next_leader(cluster, clients):
    leader = cluster.leader()
    follower = next(i for i in cluster.ids() if i != leader)
    host, port = cluster.host(follower).split(":")
    raw = zkwire.RawClient(host, int(port), io_timeout_s=10.0)
    raw.connect(timeout_ms=30000)
    assert raw.create("/ri", b"before").err == 0
    cluster.pause(leader)
    try:
        # The follower forwards the ReadIndex request to the stopped leader, which never
        # answers it; Raft does not pass a follower's pending requests on to the next
        # leader, so the server must ask again once it knows that leader. Had it not, the
        # wait would expire (10 election timeouts) and the server would close this
        # connection; the reply below would then be ConnectionClosed, not a timeout.
        reply = raw.call(zkwire.OP_SYNC, zkwire.Writer().ustring("/ri").bytes(),
                         timeout_s=60.0)
        new_leader = cluster.wait_leader(exclude=leader)
    finally:
        cluster.resume(leader)
    assert reply.err == 0, "sync answered %r" % (reply,)
    assert raw.set_data("/ri", b"after").err == 0
    raw.close()
    print("sync on server.%d answered after server.%d took over from server.%d"
          % (follower, new_leader, leader))


def test_ephemerals_of_a_vanished_client_go_on_every_server_at_one_zxid(cluster, clients):
    ids = cluster.ids()
    host, port = cluster.host(ids[0]).split(":")
    gone = zkwire.RawClient(host, int(port))
    gone.connect(timeout_ms=4000)  # the smallest the servers allow is 2 * tickTime
    setup = clients(cluster.host(ids[1]))
    setup.create("/eph", b"")
    for name in ("a", "b", "c"):
        reply = gone.create("/eph/" + name, flags=1)  # EPHEMERAL
        assert reply.err == 0
    watchers = {}
    for i in ids[1:]:
        zk = clients(cluster.host(i))
        zk.sync("/eph")
        assert sorted(zk.get_children("/eph")) == ["a", "b", "c"]
        fired = []
        zk.get_children("/eph", watch=fired.append)
        watchers[i] = (zk, fired)
    gone.sock.close()  # no CloseSession: the session expires on the leader's clock
    for i, (zk, fired) in watchers.items():
        wait_for(lambda: fired, 30, "the children watch on server.%d" % i)
        assert len(fired) == 1 and fired[0].type == "CHILD"
    pzxids = set()
    for i in ids:
        zk = clients(cluster.host(i))
        zk.sync("/eph")
        children, stat = zk.get_children("/eph", include_data=True)
        assert children == []
        pzxids.add(stat.pzxid)
    assert len(pzxids) == 1, "servers disagree on when the ephemerals went: %s" % pzxids


@pytest.mark.synod_only(reason="the window tested, a server that lost its leader but serves "
                        "on for a grace period, is synod's: a ZooKeeper follower stops at once")
def test_expired_session_is_not_let_back_in_by_a_server_that_lost_its_leader(cluster, clients):
    leader = cluster.leader()
    lagging = next(i for i in cluster.ids() if i != leader)
    others = [i for i in cluster.ids() if i != lagging]
    host, port = cluster.host(leader).split(":")
    gone = zkwire.RawClient(host, int(port))
    gone.connect(timeout_ms=4000)  # the smallest the servers allow is 2 * tickTime
    assert gone.create("/abandoned", flags=1).err == 0  # EPHEMERAL
    sid, passwd = gone.session_id, gone.passwd
    watcher = clients(cluster.host(leader))
    wait_caught_up(cluster, lagging, [leader])
    cluster.pause(lagging)  # it will still hold the session when it wakes
    gone.sock.close()  # no CloseSession: the session expires on the leader's clock

    def expired():
        watcher.sync("/")
        return watcher.exists("/abandoned") is None
    wait_for(expired, 60, "the abandoned session to expire")
    for i in others:
        cluster.pause(i)
    cluster.resume(lagging)
    try:
        # Once it has noticed that its leader is gone it serves on for a grace period,
        # with the expired session still in its table: the reconnect must not be
        # answered from that table.
        wait_for(lambda: cluster.mntr(lagging).get("zk_synod_leader_id") == "0", 30,
                 "server.%d to notice that its leader is gone" % lagging)
        back_host, back_port = cluster.host(lagging).split(":")
        back = zkwire.RawClient(back_host, int(back_port))
        try:
            accepted = back.connect(timeout_ms=4000, session_id=sid, passwd=passwd).timeout_ms > 0
        except (OSError, zkwire.ConnectionClosed):
            accepted = False
        back.close()
    finally:
        for i in others:
            cluster.resume(i)
    assert not accepted, "server.%d let expired session %#x back in" % (lagging, sid)


def test_roles_and_membership_in_zookeeper_formats(cluster, clients, target):
    ids = cluster.ids()
    leader = cluster.leader()
    assert sorted(cluster.modes().values()) == ["follower", "follower", "leader"]
    wait_for(lambda: cluster.mntr(leader).get("zk_synced_followers") == "2", 30,
             "both followers in sync")
    if target == "synod":  # synod's own rows: every peer's link and lag
        m = cluster.mntr(leader)
        for i in ids:
            if i != leader:
                assert m["zk_synod_peer_%d_connected" % i] == "1"
                assert m["zk_synod_peer_%d_lag" % i] == "0"
    assert cluster.mntr(leader)["zk_server_state"] == "leader"
    for i in ids:
        if i != leader:
            assert cluster.mntr(i)["zk_server_state"] == "follower"
    # /zookeeper/config is the membership in the dynamic-config format clients parse
    zk = clients(cluster.host(ids[0]))
    lines = zk.get("/zookeeper/config")[0].decode().splitlines()
    assert lines[-1].startswith("version=")
    servers = sorted(line for line in lines if line.startswith("server."))
    assert len(servers) == len(ids)
    for i, line in zip(ids, servers):
        port = str(cluster.members[i].client_port)
        assert line.startswith("server.%d=127.0.0.1:" % i) and line.endswith(":" + port), line
        assert ":participant;" in line
    conf = cluster.four_letter(ids[0], "conf")
    assert "membership: " in conf and "server.%d=" % ids[-1] in conf


def config_ids(zk):
    """Server ids listed in /zookeeper/config. Retried through connection loss: a client
    of a server that was just removed is moved to another one."""
    def read():
        zk.sync("/zookeeper/config")
        return zk.get("/zookeeper/config")[0].decode()
    text = zk.retry(read)
    return sorted(int(line.split("=", 1)[0][len("server."):])
                  for line in text.splitlines() if line.startswith("server."))


def test_servers_added_and_removed_at_runtime_under_load(make_cluster, clients):
    c = make_cluster(3, {"reconfigEnabled": "true"})
    admin = clients(c.hosts(), auth_data=[("digest", "super:test")])
    assert config_ids(admin) == [1, 2, 3]
    admin.ensure_path("/load")
    acked = []
    stop = threading.Event()
    errors = []

    def writer(w):
        zk = clients(",".join(c.host(i) for i in (1, 2, 3)))
        n = 0
        try:
            while not stop.is_set():
                path = "/load/w%d-%06d" % (w, n)
                write_until(zk, path, 60)
                acked.append(path)
                n += 1
        except Exception as e:
            errors.append((w, repr(e)))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= 30, 30, "writes before the changes")
    for _ in range(2):  # a 4th and a 5th server join as voters
        new = c.add_server()
        c.start(new)
        admin.reconfig(joining=c.members[new].server_line().replace(";", ":participant;", 1),
                       leaving=None, new_members=None)
        wait_for(lambda: c.mode(new) == "follower" or c.mode(new) == "leader", 60,
                 "server.%d to join as a voter" % new)
        assert new in config_ids(admin)
    leader = c.wait_leader()
    wait_for(lambda: c.mntr(leader).get("zk_synced_followers") == "4", 60,
             "four followers in sync")
    victim = 1 if leader != 1 else 2
    admin.reconfig(joining=None, leaving=str(victim), new_members=None)
    assert victim not in config_ids(admin)
    n_before = len(acked)
    wait_for(lambda: len(acked) >= n_before + 30, 60, "writes after the changes")
    stop.set()
    for t in threads:
        t.join(120)
    assert not errors, errors
    members = [i for i in c.ids() if i != victim]
    for i in members:
        zk = clients(c.host(i))
        zk.sync("/load")
        have = set("/load/" + n for n in zk.get_children("/load"))
        missing = [p for p in acked if p not in have]
        assert not missing, "server.%d misses %d acknowledged writes" % (i, len(missing))
    print("members now %s; %d writes acknowledged" % (config_ids(admin), len(acked)))
