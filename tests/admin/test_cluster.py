"""leader, voting_view and zabstate on a 3-server synod cluster (each server with its own
--admin-port, as scripts/cluster.sh starts them), and the Raft metrics on the leader."""

import json
import time

import pytest

import cluster as cluster_lib
import servers
from conftest import http
from test_metrics import scrape, value

AGREE_TIMEOUT_S = 30.0


@pytest.fixture
def cluster():
    cfg = dict(servers.SYNOD_CLUSTER_CFG)
    cfg["admin.enableServer"] = "true"
    c = cluster_lib.make_cluster(3, target="synod", cfg_overrides=cfg, name="admin")
    try:
        c.start()
        c.wait_leader()
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
    want = {str(m.server_id): "127.0.0.1:%d:%d:participant;127.0.0.1:%d" % (
        m.peer_port, m.election_port, m.client_port) for m in members}
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
