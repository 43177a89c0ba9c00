"""Mutual TLS between servers (sslQuorum, ssl.quorum.*): a cluster whose servers share the
cluster CA's certificate elects, replicates and fails over; a rogue process that claims a
member's id and sends a vote and a leader's append is refused at the TLS handshake (with a
certificate of another CA, without one, or in plain TCP), so the cluster's term, leader and
commit do not move. The same rogue against a cluster without TLS does move the term, which
shows that what it sends would be obeyed if it got through.
"""

import os
import socket
import ssl
import sys
import time

import pytest
from kazoo.client import KazooClient

from conftest import wait_log

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cluster as cluster_lib  # noqa: E402
import peerwire  # noqa: E402
import servers  # noqa: E402
import suite  # noqa: E402

SESSION_TIMEOUT_S = 15.0
ROGUE_TERM_JUMP = 1000
SETTLE_S = 1.0
READ_TIMEOUT_S = 3.0


@pytest.fixture
def make_cluster(request):
    def make(cfg):
        overrides = dict(servers.SYNOD_CLUSTER_CFG)
        overrides.update(cfg)
        c = cluster_lib.make_cluster(3, "synod", overrides, name=request.node.name[:30])
        made.append(c)
        c.start()
        c.wait_leader()
        return c

    with suite.destroyed_after(request, cluster_lib.Cluster.log_tails) as made:
        yield make


@pytest.fixture
def tls_cluster(make_cluster, pki):
    return make_cluster({
        "sslQuorum": "true",
        "ssl.quorum.keyStore.location": pki.key_store("cluster", "ca"),
        "ssl.quorum.trustStore.location": pki.ca("ca"),
    })




def raft_state(c):
    """(term, leader id, commit index) as each running server sees them."""
    state = {}
    for i in c.ids():
        if c.running(i):
            m = c.mntr(i)
            state[i] = (int(m["zk_synod_raft_term"]), int(m["zk_synod_leader_id"]),
                        int(m["zk_synod_commit_index"]))
    return state


def cluster_id(c, i):
    for line in c.four_letter(i, "conf").splitlines():
        if line.startswith("clusterId="):
            return int(line.split("=", 1)[1], 0)
    raise AssertionError("conf shows no clusterId")


def rogue_messages(c, target, claimed):
    """A HELLO as member `claimed`, a vote and a leader's append far ahead in term."""
    term = max(t for t, _, _ in raft_state(c).values()) + ROGUE_TERM_JUMP
    return (peerwire.hello(cluster_id(c, target), claimed, target)
            + peerwire.vote(claimed, target, term, 1 << 40, term)
            + peerwire.empty_append(claimed, target, term, 0))


def send_rogue(sock, data):
    """Sends and reads until the server closes; the server may cut us off mid-way."""
    try:
        sock.sendall(data)
        sock.settimeout(READ_TIMEOUT_S)
        while sock.recv(4096):
            pass
    except (OSError, ssl.SSLError):
        pass


def rogue_tls(c, target, pki, key_store_name=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(pki.ca("ca"))  # the rogue trusts the cluster: only we refuse
    if key_store_name is not None:
        ctx.load_cert_chain(pki.cert_path(key_store_name), pki.key_path(key_store_name))
    raw = socket.create_connection(("127.0.0.1", c.members[target].peer_port), timeout=5)
    try:
        with ctx.wrap_socket(raw) as s:
            send_rogue(s, rogue_messages(c, target, claimed=next(i for i in c.ids() if i != target)))
    except (OSError, ssl.SSLError):
        raw.close()


def rogue_plain(c, target):
    with socket.create_connection(("127.0.0.1", c.members[target].peer_port), timeout=5) as s:
        send_rogue(s, rogue_messages(c, target, claimed=next(i for i in c.ids() if i != target)))


def read_log(c, i):
    with open(c.members[i].log_path, encoding="utf-8", errors="replace") as f:
        return f.read()


def test_cluster_over_mutual_tls_replicates_and_fails_over(tls_cluster):
    c = tls_cluster
    leader = c.wait_leader()
    zk = KazooClient(hosts=c.hosts(), timeout=SESSION_TIMEOUT_S)
    zk.start(timeout=SESSION_TIMEOUT_S)
    try:
        zk.create("/replicated", b"1")
    finally:
        zk.stop()
        zk.close()
    for i in c.ids():
        one = KazooClient(hosts=c.host(i), timeout=SESSION_TIMEOUT_S)
        one.start(timeout=SESSION_TIMEOUT_S)
        try:
            one.sync("/replicated")
            assert one.get("/replicated")[0] == b"1"
        finally:
            one.stop()
            one.close()
    c.kill9(leader)
    new_leader = c.wait_leader(exclude=leader)
    zk = KazooClient(hosts=c.host(new_leader), timeout=SESSION_TIMEOUT_S)
    zk.start(timeout=SESSION_TIMEOUT_S)
    try:
        zk.set("/replicated", b"2")
        assert zk.get("/replicated")[0] == b"2"
    finally:
        zk.stop()
        zk.close()
    for i in c.ids():
        assert "TLS handshake failed" not in read_log(c, i)


def test_rogue_peers_refused(tls_cluster, pki):
    c = tls_cluster
    leader = c.wait_leader()
    followers = [i for i in c.ids() if i != leader]
    before = raft_state(c)
    pki.key_store("rogue", "other-ca")
    # One refusal per server: a server logs peer refusals at WARN once per 10 s.
    rogue_tls(c, followers[0], pki, "rogue")
    rogue_tls(c, followers[1], pki)
    rogue_plain(c, leader)
    assert wait_log(lambda: read_log(c, followers[0]),
                    "TLS handshake failed: certificate refused: unable to get local issuer")
    assert wait_log(lambda: read_log(c, followers[1]),
                    "TLS handshake failed: peer did not return a certificate")
    assert wait_log(lambda: read_log(c, leader), "TLS handshake failed: ")
    time.sleep(SETTLE_S)
    after = raft_state(c)
    assert {i: s[:2] for i, s in after.items()} == {i: s[:2] for i, s in before.items()}
    assert all(after[i][2] >= before[i][2] for i in c.ids())
    for i in c.ids():
        assert int(c.mntr(i)["zk_synod_peer_tls_failures"]) == 1


def test_the_same_rogue_moves_a_cluster_without_tls(make_cluster):
    c = make_cluster({})
    leader = c.wait_leader()
    follower = next(i for i in c.ids() if i != leader)
    term = raft_state(c)[follower][0]
    rogue_plain(c, follower)
    assert raft_state(c)[follower][0] >= term + ROGUE_TERM_JUMP
