"""pytest fixtures for the example applications: one real 3-server synod cluster per test
module (SYNOD_BIN), and a private chroot in it per test, so tests do not see each other's
servers and users. The binaries under test come from the environment ctest sets
(CHATNET_SERVER, CHATNET_CLIENT, BOOKING_SERVER); a missing one fails the test.

Fixtures:
- synod: the module's started cluster with a leader (tests may kill and restart members;
  every member runs again after each test).
- chroot: "/<test name>", created for the test; hosts() + chroot is its connect string.
- procs: a Procs (examplelib) that starts processes and kills exactly their PIDs after.
"""

import logging
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kazoo.client import KazooClient  # noqa: E402

import cluster as cluster_lib  # noqa: E402
import examplelib  # noqa: E402
import servers  # noqa: E402
import suite  # noqa: E402

TEST_TIMEOUT_S = int(os.environ.get("SYNOD_TEST_TIMEOUT_S", "120"))
KAZOO_TIMEOUT_S = 15.0

# kazoo logs every connection it loses; the tests kill servers on purpose
logging.getLogger("kazoo").setLevel(logging.ERROR)


@pytest.fixture(autouse=True)
def _test_time_limit():
    with suite.time_limit(TEST_TIMEOUT_S):
        yield


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="module")
def synod(request):
    if not os.environ.get("SYNOD_BIN"):
        raise RuntimeError("SYNOD_BIN must name the synod binary")
    c = cluster_lib.SynodCluster(3, dict(servers.SYNOD_CLUSTER_CFG),
                                 name=request.module.__name__[:30])
    try:
        c.start()
        c.wait_leader()
        yield c
    finally:
        c.destroy()


@pytest.fixture
def chroot(synod, request):
    path = "/" + re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[:60]
    zk = KazooClient(hosts=synod.hosts(), timeout=KAZOO_TIMEOUT_S)
    zk.start(timeout=KAZOO_TIMEOUT_S)
    try:
        zk.create(path)
    finally:
        zk.stop()
        zk.close()
    return path


@pytest.fixture
def procs(synod, request):
    p = examplelib.Procs(request.node.name)
    yield p
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        sys.stderr.write(p.logs())
        sys.stderr.write(synod.log_tails())
    p.kill_all()
    for i in synod.ids():  # the next test starts with the whole cluster again
        if not synod.running(i):
            synod.start(i)
    synod.wait_leader()
