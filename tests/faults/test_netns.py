"""The harness's network (netns.py): addresses only from 198.18.0.0/15, links that carry TCP
between every pair, partitions that cut exactly what they say (both ways, one way, bridge),
netem that slows a link, heal, and nothing left behind, including by a harness killed -9.

Needs root (CAP_SYS_ADMIN), iproute2 and nftables; where namespaces cannot be made the test
FAILS with the reason: a fault run without its network tests nothing."""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

import netns

PORT = 7777
CONNECT_TIMEOUT_S = 1.0
LISTEN_BACKLOG = 16
N_SERVERS = 3
LOSS_DATAGRAMS = 400
UDP_PORT = 7778
UDP_WAIT_S = 1.0
UDP_BURST = 20
UDP_PAUSE_S = 0.02
SLOW_CONNECT_S = 0.1


@pytest.fixture
def net():
    n = netns.Network(N_SERVERS, log=lambda msg: None)
    try:
        n.create()
    except netns.NetnsUnavailable as e:
        pytest.fail(str(e))
    yield n
    n.destroy()


class Listener:
    """A TCP listener on server i's address inside its namespace, accepting in a thread."""

    def __init__(self, net, i):
        with net.inside(net.server_ns(i)):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((net.server_addr(i), PORT))
        self.sock.listen(LISTEN_BACKLOG)
        self.sock.settimeout(0.2)
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
                c.sendall(b"hi")
                c.close()
            except OSError:
                pass

    def close(self):
        self.stopped = True
        self.thread.join()
        self.sock.close()


def reaches(net, from_ns, addr):
    """True when a TCP connection from from_ns to addr:PORT gets the listener's greeting."""
    try:
        with net.connect(from_ns, addr, PORT, CONNECT_TIMEOUT_S) as s:
            return s.recv(2) == b"hi"
    except OSError:
        return False


def udp_delivered(net, i):
    """How many of LOSS_DATAGRAMS sent by server i reach the client namespace. The
    receiver drains after every burst, so its buffer never overflows."""
    with net.inside(net.client_ns):
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with net.inside(net.server_ns(i)):
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    got = 0
    with rx, tx:
        rx.bind((net.client_addr, UDP_PORT))

        def drain(wait_s):
            n = 0
            rx.settimeout(wait_s)
            for _ in range(LOSS_DATAGRAMS):
                try:
                    rx.recv(64)
                except socket.timeout:
                    break
                n += 1
            return n

        for n in range(LOSS_DATAGRAMS):
            try:
                tx.sendto(b"%d" % n, (net.client_addr, UDP_PORT))
            except PermissionError:
                pass  # dropped by the output rule: a local sender is told so
            if n % UDP_BURST == UDP_BURST - 1:
                got += drain(UDP_PAUSE_S)
        got += drain(UDP_WAIT_S)
    return got


def matrix(net):
    return {(a, b): reaches(net, net.server_ns(a), net.server_addr(b))
            for a in net.ids() for b in net.ids() if a != b}


@pytest.fixture
def listeners(net):
    ls = [Listener(net, i) for i in net.ids()]
    yield ls
    for listener in ls:
        listener.close()


def test_addresses_are_in_the_test_block_and_nothing_is_in_our_namespace(net):
    for i in net.ids():
        out = subprocess.run(["ip", "-n", net.server_ns(i), "-o", "-4", "addr"], check=True,
                             capture_output=True, text=True).stdout
        assert "198.18.0.%d/24" % i in out
        routes = subprocess.run(["ip", "-n", net.server_ns(i), "route"], check=True,
                                capture_output=True, text=True).stdout
        assert "default" not in routes
    ours = subprocess.run(["ip", "-o", "link"], check=True, capture_output=True,
                          text=True).stdout
    assert net.tag not in ours and "vs1" not in ours


def test_every_pair_and_the_client_reach_each_other(net, listeners):
    assert all(matrix(net).values())
    for i in net.ids():
        assert reaches(net, net.client_ns, net.server_addr(i))


def test_partition_bridge_one_way_and_heal(net, listeners):
    net.partition([{1, 2}, {2, 3}])  # a bridge: 2 sees both sides
    m = matrix(net)
    assert not m[(1, 3)] and not m[(3, 1)]
    assert m[(1, 2)] and m[(2, 1)] and m[(2, 3)] and m[(3, 2)]
    # clients are never cut off
    assert all(reaches(net, net.client_ns, net.server_addr(i)) for i in net.ids())
    net.heal()
    assert all(matrix(net).values())
    net.drop_from(1, [2])  # 1 no longer hears 2: no TCP handshake either way completes
    m = matrix(net)
    assert not m[(1, 2)] and not m[(2, 1)] and m[(1, 3)] and m[(3, 1)]
    net.heal()
    net.isolate(3, [1, 2])
    m = matrix(net)
    assert [k for k, v in m.items() if not v] == [(1, 3), (2, 3), (3, 1), (3, 2)]
    net.heal()
    assert all(matrix(net).values())


def test_slow_and_lossy_links(net, listeners):
    def connect_s():
        t = time.monotonic()
        ok = reaches(net, net.client_ns, net.server_addr(1))
        return ok, time.monotonic() - t

    how = net.degrade(1, "lossy")
    assert how
    got = udp_delivered(net, 1)
    # 20 % loss of LOSS_DATAGRAMS: the mean is 80 % delivered, 5 standard deviations from
    # either bound.
    assert LOSS_DATAGRAMS * 0.6 < got < LOSS_DATAGRAMS * 0.95, (how, got)
    net.heal()
    assert udp_delivered(net, 1) == LOSS_DATAGRAMS
    how = net.degrade(1, "slow")
    if net.netem_available():
        ok, slow = connect_s()
        assert ok and slow >= SLOW_CONNECT_S, (how, slow)
    else:
        assert how.startswith("tbf")
        assert net.degrade(1, "reorder") is None
    net.heal()
    ok, fast = connect_s()
    assert ok and fast < SLOW_CONNECT_S


def test_destroy_removes_everything(net):
    tag = net.tag
    net.destroy()
    assert not [n for n in netns.list_namespaces() if n.startswith(tag)]


def start_child_with_a_network():
    """A python child that makes a 2-server network, says `up`, then sleeps."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import sys, time; sys.path.insert(0, %r); import netns; "
            "netns.Network(2, log=lambda m: None).create(); print('up', flush=True); "
            "time.sleep(60)" % here)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_namespaces_of_a_dead_harness_are_removed_at_start():
    # A child makes its network and is killed -9: no atexit, no handler runs.
    child = start_child_with_a_network()
    try:
        assert child.stdout.readline().strip() == "up"
    finally:
        child.kill()
        child.wait()
    tag = "%s%d-" % (netns.PREFIX, child.pid)
    assert [n for n in netns.list_namespaces() if n.startswith(tag)]
    netns.clean_stale(log=lambda m: None)
    assert not [n for n in netns.list_namespaces() if n.startswith(tag)]


def test_sigterm_removes_the_namespaces():
    child = start_child_with_a_network()
    assert child.stdout.readline().strip() == "up"
    child.terminate()
    assert child.wait(timeout=30) == 128 + 15
    tag = "%s%d-" % (netns.PREFIX, child.pid)
    assert not [n for n in netns.list_namespaces() if n.startswith(tag)]
