"""pytest fixtures for the kazoo integration suite.

The suite runs unchanged against Apache ZooKeeper 3.8 and against synod; env
SYNOD_TEST_TARGET=zookeeper|synod picks the server (SYNOD_BIN names the synod binary).
Tests whose expected behaviour must differ are marked zk_only(reason=...) or
synod_only(reason=...) and skipped on the other target.

Env SYNOD_TEST_TOPOLOGY=standalone|cluster picks one server (default) or a 3-server cluster
of the target (servers.ClusterServer). On a cluster the clients are spread over the servers:
every kazoo client gets all three in its connection string, starting at the next server
round-robin (randomize_hosts=False, so it connects there first), and every raw client and
proxy goes to the next server round-robin. Clients on different servers see each other's
writes at once only after `sync`, as ZooKeeper promises; the tests sync where an application
would have to. synod_cluster_xfail(reason=..., strict=True) marks an xfail on a synod
cluster only: a synod bug the ZooKeeper cluster does not have (each is in the README);
strict=False only for a failure that depends on timing.

Fixtures:
- server: one server (or cluster) shared by the whole session (tests must not stop it).
- own_server: a private server (or cluster) for tests that stop, restart or overload it.
- member: one server of `server` (the next round-robin; `server` itself when standalone),
  for tests that look at one server's state (4lw counters, watch lists).
- zk: a connected KazooClient on `server`, closed after the test.
- prefix: a unique znode path for the test (created, on every server of a cluster before the
  test starts; removed with everything under it).
- clients: factory for more KazooClients (closed after the test).
- raw: factory for zkwire.RawClient connections with a fresh session (closed after).
- proxy: factory for a CuttableProxy in front of one server (stopped after).
"""

import os
import re
import sys
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import NoNodeError  # noqa: E402

import servers  # noqa: E402
import suite  # noqa: E402
import zkwire  # noqa: E402
from proxy import CuttableProxy  # noqa: E402

KAZOO_TIMEOUT_S = 10.0
# Per-test bound: kazoo's synchronous calls wait forever for a reply a server never sends.
TEST_TIMEOUT_S = int(os.environ.get("SYNOD_TEST_TIMEOUT_S", "120"))


@pytest.fixture(autouse=True)
def _test_time_limit():
    with suite.time_limit(TEST_TIMEOUT_S):
        yield


def pytest_report_header(config):
    return "target: %s, topology: %s" % (servers.target_name(), servers.topology_name())


def pytest_collection_modifyitems(config, items):
    target = servers.target_name()
    topology = servers.topology_name()
    suite.skip_other_targets(items, target)
    for item in items:
        mark = item.get_closest_marker("synod_cluster_xfail")
        if mark is None:
            continue
        reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
        if not reason:
            raise pytest.UsageError("synod_cluster_xfail on %s needs a reason" % item.nodeid)
        if topology == "cluster" and target == "synod":
            item.add_marker(pytest.mark.xfail(strict=mark.kwargs.get("strict", True),
                                              reason=reason))


@pytest.fixture(scope="session")
def target():
    return servers.target_name()


@pytest.fixture(scope="session")
def server():
    srv = servers.make_target_server("shared")
    try:
        srv.start()
        yield srv
    finally:
        srv.destroy()


@pytest.fixture
def own_server():
    srv = servers.make_target_server("own")
    try:
        srv.start()
        yield srv
    finally:
        srv.destroy()


@pytest.fixture
def member(server):
    return server.pick()


def _require_alive(srv):
    """Fail at once, with the server's log tail, when the shared server has died (instead of
    every later test waiting for connection timeouts)."""
    if not srv.running():
        pytest.fail("%s server is not running; log tail:\n%s" % (srv.kind, srv.log_tail()),
                    pytrace=False)


def _new_client(hosts, **kwargs):
    kwargs.setdefault("timeout", KAZOO_TIMEOUT_S)
    c = KazooClient(hosts=hosts, **kwargs)
    c.start(timeout=KAZOO_TIMEOUT_S)
    return c


def _close_client(c):
    try:
        c.stop()
    finally:
        c.close()


@pytest.fixture
def clients(server):
    _require_alive(server)
    made = []

    def make(hosts=None, **kwargs):
        if hosts is None:
            hosts = server.rotated_hosts()
            kwargs.setdefault("randomize_hosts", False)
        c = _new_client(hosts, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        _close_client(c)


@pytest.fixture
def zk(clients):
    return clients()


@pytest.fixture
def prefix(request, server):
    """A unique, existing path for this test; deleted recursively afterwards."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:60]
    path = "/itest/%s-%s" % (name, uuid.uuid4().hex[:8])
    _require_alive(server)
    admin = _new_client(server.hosts)
    admin.add_auth("digest", "%s:%s" % (servers.SUPER_USER, servers.SUPER_PASSWORD))
    admin.ensure_path(path)
    if len(server.members()) > 1:  # the test's clients may read it through any server
        server.wait_applied(admin.exists(path).czxid)
    try:
        yield path
    finally:
        try:
            if server.running():
                if len(server.members()) > 1:
                    admin.sync(path)  # admin's server may not have all the test created yet
                admin.delete(path, recursive=True)
        except NoNodeError:
            pass
        finally:
            _close_client(admin)


@pytest.fixture
def raw(server):
    _require_alive(server)
    made = []

    def make(timeout_ms=10000, host=None, port=None):
        if host is None or port is None:
            srv = server.pick()
            host, port = host or srv.host, port or srv.port
        c = zkwire.connected_client(host, port, timeout_ms)
        made.append(c)
        return c

    yield make
    for c in made:
        # end the session politely so it does not linger (and expire during a later test)
        try:
            c.io_timeout_s = 2.0
            c.close_session()
        except (OSError, zkwire.ConnectionClosed, zkwire.DecodeError):
            pass
        c.close()


@pytest.fixture
def proxy(server):
    made = []

    def make(srv=None):
        srv = srv or server.pick()
        p = CuttableProxy(srv.host, srv.port)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()
