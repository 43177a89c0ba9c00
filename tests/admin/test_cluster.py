"""leader, voting_view and zabstate on a 3-server synod cluster (each server with its own
--admin-port, as scripts/cluster.sh starts them), compared field by field with a 3-server
ZooKeeper 3.8 ensemble's AdminServers, and the Raft metrics on the leader."""

import json
import time

import pytest

import cluster as cluster_lib
import servers
from conftest import http
from test_commands import MONITOR_KEYS, compare, json_type
from test_metrics import scrape, value

AGREE_TIMEOUT_S = 30.0


# The cluster-only fields mntr prints (monitor must have them with ZooKeeper's types).
QUORUM_MONITOR_KEYS = ["quorum_size", "peer_state"]
LEADER_MONITOR_KEYS = ["learners", "synced_followers", "synced_non_voting_followers",
                       "synced_observers", "pending_syncs", "leader_uptime",
                       "last_proposal_size", "max_proposal_size", "min_proposal_size"]


def started(target):
    cfg = dict(servers.SYNOD_CLUSTER_CFG) if target == "synod" else {}
    cfg["admin.enableServer"] = "true"
    c = cluster_lib.make_cluster(3, target=target, cfg_overrides=cfg, name="admin")
    try:
        c.start()
        c.wait_leader()
    except Exception:
        c.destroy()
        raise
    return c


@pytest.fixture
def cluster():
    c = started("synod")
    try:
        yield c
    finally:
        c.destroy()


def command(member, name):
    status, _, body = http(member.admin_port, "/commands/" + name)
    assert status == 200
    return json.loads(body)


def test_leader_and_voting_view(cluster):
    members = [cluster.members[i] for i in cluster.ids()]
    deadline = time.monotonic() + AGREE_TIMEOUT_S
    while True:
        leaders = [command(m, "leader") for m in members]
        ids = {r["leader_id"] for r in leaders}
        if len(ids) == 1 and sum(r["is_leader"] for r in leaders) == 1:
            break
        assert time.monotonic() < deadline, leaders
        time.sleep(0.2)
    leader_id = ids.pop()
    assert leader_id == cluster.leader()
    for m, r in zip(members, leaders):
        assert r["is_leader"] == (m.server_id == leader_id)
        assert r["leader_ip"] == "127.0.0.1"
        assert r["error"] is None
    want = {str(m.server_id): {"server_addresses": ["127.0.0.1:%d" % m.peer_port],
                               "election_addresses": ["127.0.0.1:%d" % m.election_port],
                               "client_address": "127.0.0.1:%d" % m.client_port,
                               "learner_type": "participant"} for m in members}
    for m in members:
        assert command(m, "voting_view")["current_config"] == want
        assert command(m, "zabstate")["zabstate"] == "broadcast"
        assert command(m, "zabstate")["voting"] is True
        state = command(m, "server_stats")["server_stats"]["server_state"]
        assert state == ("leader" if m.server_id == leader_id else "follower")

    leader = cluster.members[leader_id]
    families, samples = scrape(leader.admin_port)
    assert families["synod_info"].samples[0].labels["server_state"] == "leader"
    assert families["synod_info"].samples[0].labels["peer_state"] == "leading - broadcast"
    assert value(samples, "quorum_size") == 3
    assert value(samples, "learners") == 2
    assert value(samples, "synod_raft_term") >= 1
    for m in members:
        if m.server_id != leader_id:
            assert value(samples, "synod_peer_connected", peer=str(m.server_id)) == 1
            assert value(samples, "synod_peer_lag", peer=str(m.server_id)) >= 0


def test_not_serving_without_a_quorum():
    """One server of three alone never has a leader: the commands that need a serving server
    answer ZooKeeper's "not currently serving" error, the others still answer."""
    cfg = dict(servers.SYNOD_CLUSTER_CFG)
    cfg["admin.enableServer"] = "true"
    c = cluster_lib.make_cluster(3, target="synod", cfg_overrides=cfg, name="admin-alone")
    try:
        c.start(1)
        m = c.members[1]
        for name in ("stats", "connections", "ruok", "dump", "leader"):
            r = command(m, name)
            assert r == {"command": name, "error":
                         "This ZooKeeper instance is not currently serving requests"}, r
        env = command(m, "environment")
        assert env["error"] is None and env["synod.version"]
        mon = command(m, "monitor")
        assert mon["error"] is None and mon["synod_leader_id"] == 0
        assert mon["peer_state"] == "looking - election"
        assert command(m, "zabstate")["zabstate"] == "election"
        _, samples = scrape(m.admin_port)
        assert value(samples, "synod_peer_connected", peer="2") == 0
    finally:
        c.destroy()


def leader_and_follower(c):
    deadline = time.monotonic() + AGREE_TIMEOUT_S
    while True:
        leader = c.leader()
        if leader is not None and command(c.members[leader], "zabstate")["zabstate"] == "broadcast":
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    follower = next(i for i in c.ids() if i != leader)
    return c.members[leader], c.members[follower]


def test_cluster_commands_have_zookeepers_fields():
    """The same commands on a ZooKeeper ensemble's leader and follower and on synod's."""
    zk = started("zookeeper")
    try:
        syn = started("synod")
        try:
            pairs = zip(leader_and_follower(zk), leader_and_follower(syn))
            compared = 0
            for role, (z, s) in zip(("leader", "follower"), pairs):
                for name in ("leader", "voting_view", "zabstate", "server_stats", "stats",
                             "configuration", "watch_summary", "is_read_only"):
                    zj, sj = command(z, name), command(s, name)
                    compared += compare(zj, sj, "%s %s" % (role, name))
                    if name == "voting_view":
                        zv, sv = zj["current_config"]["1"], sj["current_config"]["1"]
                        compared += compare(zv, sv, "%s voting_view.1" % role)
                zm, sm = command(z, "monitor"), command(s, "monitor")
                keys = MONITOR_KEYS + QUORUM_MONITOR_KEYS + (
                    LEADER_MONITOR_KEYS if role == "leader" else [])
                for key in keys:
                    assert key in zm and key in sm, (role, key)
                    assert json_type(zm[key]) == json_type(sm[key]), (role, key)
                    compared += 1
                assert sm["peer_state"] == zm["peer_state"], role
                assert sm["quorum_size"] == zm["quorum_size"] == 3
                assert command(s, "zabstate")["zabstate"] == command(z, "zabstate")["zabstate"]
                assert command(s, "leader")["is_leader"] == command(z, "leader")["is_leader"]
            assert compared > 150, compared
        finally:
            syn.destroy()
    finally:
        zk.destroy()
