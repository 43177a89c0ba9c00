"""pytest setup for the fault suite (tests/faults).

Puts tests/lib (the integration harness: ports, process runner, server launchers) and this
directory (faultlib) on sys.path, bounds every test in time with SIGALRM, and offers
`make_server(target, **cfg)`: a fresh server in a private temp dir, destroyed (its process
group killed, its dir removed unless SYNOD_KEEP_TMP=1) after the test.

A synod server needs SYNOD_BIN (ctest sets it) and a ZooKeeper server Debian's zookeeper
package (scripts/deps.sh installs it): without them the tests fail, they never skip.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import faultlib  # noqa: E402
import servers  # noqa: E402
import suite  # noqa: E402

TEST_TIMEOUT_S = int(os.environ.get("SYNOD_TEST_TIMEOUT_S", "240"))


@pytest.fixture(autouse=True)
def _test_time_limit():
    with suite.time_limit(TEST_TIMEOUT_S):
        yield


def require_target(target):
    if target == "synod" and not os.environ.get("SYNOD_BIN"):
        pytest.fail("synod target needs SYNOD_BIN (ctest sets it)")
    if target == "zookeeper" and not os.path.exists(servers.ZK_JARS[0]):
        pytest.fail("ZooKeeper jars not installed (scripts/deps.sh installs zookeeper)")


@pytest.fixture
def make_server():
    made = []

    def make(target, name="srv", **cfg):
        require_target(target)
        srv = servers.make_server(name, target=target, cfg_overrides=cfg)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        faultlib.crash(srv)
        srv.destroy()
