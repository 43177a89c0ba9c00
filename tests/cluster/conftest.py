"""pytest fixtures for the cluster suite: real 3-server clusters of synod or of Apache
ZooKeeper 3.8 (env SYNOD_TEST_TARGET=zookeeper|synod, SYNOD_BIN for synod), so every test
here is checked against ZooKeeper's behaviour too.

Fixtures:
- cluster: a started 3-server cluster with a leader, private to the test, destroyed after.
- clients: factory for KazooClients on a connection string (stopped and closed after).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from kazoo_clients import kazoo_client_factory  # noqa: E402

import cluster as cluster_lib  # noqa: E402
import servers  # noqa: E402
import suite  # noqa: E402

KAZOO_TIMEOUT_S = 15.0
TEST_TIMEOUT_S = int(os.environ.get("SYNOD_TEST_TIMEOUT_S", "240"))


@pytest.fixture(autouse=True)
def _test_time_limit():
    with suite.time_limit(TEST_TIMEOUT_S):
        yield


def pytest_collection_modifyitems(config, items):
    target = servers.target_name()
    suite.skip_other_targets(items, target)


@pytest.fixture(scope="session")
def target():
    return servers.target_name()


@pytest.fixture
def make_cluster(request):
    """Factory: make_cluster(n, cfg_overrides) -> a started cluster with a leader."""
    def make(n=3, cfg_overrides=None):
        cfg = dict(cfg_overrides or {})
        if servers.target_name() == "synod":
            # The ASan build on a loaded 2-core CI machine can stall a loop past the 200 ms
            # default and start needless elections; the tests here check what failover
            # preserves, not how fast it is (make bench-cluster measures the defaults).
            cfg.update(servers.SYNOD_CLUSTER_CFG)
        c = cluster_lib.make_cluster(n, cfg_overrides=cfg, name=request.node.name[:40])
        made.append(c)
        c.start()
        c.wait_leader()
        return c

    with suite.destroyed_after(request, cluster_lib.Cluster.log_tails) as made:
        yield make


@pytest.fixture
def cluster(make_cluster):
    return make_cluster(3)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def clients():
    yield from kazoo_client_factory(KAZOO_TIMEOUT_S)
