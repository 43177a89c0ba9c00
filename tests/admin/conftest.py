"""pytest fixtures for the admin server suite: synod servers (SYNOD_BIN) with the admin
server on a free port, a live ZooKeeper 3.8 with its AdminServer for the comparisons, and
a small HTTP client (urllib: the admin server speaks plain HTTP/1.1).

Fixtures:
- admin_server: factory admin_server(target="synod", **cfg) -> a started standalone server
  whose .admin_port answers HTTP; destroyed after the test.
- kazoo: factory for started KazooClients (stopped and closed after).
- module_admin_server, module_kazoo: the same, shared by a module's tests.
"""

import os
import sys
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from kazoo_clients import kazoo_client_factory  # noqa: E402

import servers  # noqa: E402
import suite  # noqa: E402
from ports import free_port  # noqa: E402

KAZOO_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 10.0
TEST_TIMEOUT_S = int(os.environ.get("SYNOD_TEST_TIMEOUT_S", "240"))


@pytest.fixture(autouse=True)
def _test_time_limit():
    with suite.time_limit(TEST_TIMEOUT_S):
        yield


def http(port, path, method="GET", headers=None):
    """(status, content type, body text) of one request to 127.0.0.1:port."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def _admin_servers():
    made = []

    def make(target="synod", **cfg):
        overrides = {"admin.enableServer": "true", "admin.serverPort": free_port()}
        overrides.update(cfg)
        srv = servers.make_server("admin", target=target, cfg_overrides=overrides)
        made.append(srv)
        srv.start()
        srv.admin_port = int(overrides["admin.serverPort"])
        return srv

    yield make
    for srv in made:
        srv.destroy()


def _kazoo_clients():
    yield from kazoo_client_factory(KAZOO_TIMEOUT_S)


# Per test, and per module for the tests that share one pair of servers (a JVM start
# costs seconds).
admin_server = pytest.fixture(_admin_servers)
kazoo = pytest.fixture(_kazoo_clients)
module_admin_server = pytest.fixture(scope="module")(_admin_servers)
module_kazoo = pytest.fixture(scope="module")(_kazoo_clients)
