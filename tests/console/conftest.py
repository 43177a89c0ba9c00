"""pytest fixtures for the web console suite: one 3-server synod cluster with the admin
server on every member (module scope: every test of the suite browses the same cluster),
one headless chromium (tests/lib/browser.py) and kazoo clients.

Fixtures:
- cluster: the started cluster with a leader; cluster.page is the member whose console the
  browser opens (a follower, so edits are forwarded like any client's).
- driver: the selenium driver, quit after the module.
- kazoo: factory kazoo(hosts=None, **kwargs) -> a started KazooClient (default: the page's
  member), stopped and closed after the module.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import browser  # noqa: E402
import cluster as cluster_lib  # noqa: E402
import servers  # noqa: E402
import suite  # noqa: E402
from kazoo_clients import kazoo_client_factory  # noqa: E402

KAZOO_TIMEOUT_S = 15.0
TEST_TIMEOUT_S = int(os.environ.get("SYNOD_TEST_TIMEOUT_S", "120"))


@pytest.fixture(autouse=True)
def _test_time_limit():
    with suite.time_limit(TEST_TIMEOUT_S):
        yield


@pytest.fixture(scope="module")
def cluster():
    cfg = dict(servers.SYNOD_CLUSTER_CFG)
    cfg["admin.enableServer"] = "true"
    c = cluster_lib.make_cluster(3, target="synod", cfg_overrides=cfg, name="console")
    try:
        c.start()
        leader = c.wait_leader()
        c.page = c.members[next(i for i in c.ids() if i != leader)]
        yield c
    finally:
        c.destroy()


@pytest.fixture(scope="module")
def driver():
    d = browser.chromium()
    try:
        yield d
    finally:
        d.quit()


@pytest.fixture(scope="module")
def kazoo(cluster):
    factory = kazoo_client_factory(KAZOO_TIMEOUT_S)
    make = next(factory)

    def start(hosts=None, **kwargs):
        return make(hosts or "127.0.0.1:%d" % cluster.page.client_port, **kwargs)

    yield start
    next(factory, None)
