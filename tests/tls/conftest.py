"""pytest fixtures for the TLS suite: a throw-away PKI (tests/lib/pki.py) in a temp dir and
synod servers (SYNOD_BIN) with a secure client port.

Fixtures:
- pki: the session's Pki; CA "ca" is the cluster's, CA "other-ca" the wrong one.
- tls_server: factory tls_server(key_store, **cfg) -> a started standalone synod with
  secureClientPort (.secure_port) trusting "ca" and ssl.clientAuth=need unless cfg says
  otherwise; destroyed after the test.
- wait_log(server_log_tail, text): polls a log until `text` appears (bounded).
"""

import os
import shutil
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import servers  # noqa: E402
import suite  # noqa: E402
from pki import Pki  # noqa: E402
from ports import free_port  # noqa: E402

TEST_TIMEOUT_S = int(os.environ.get("SYNOD_TEST_TIMEOUT_S", "120"))
LOG_WAIT_S = 10.0
LOG_POLL_S = 0.05


@pytest.fixture(autouse=True)
def _test_time_limit():
    with suite.time_limit(TEST_TIMEOUT_S):
        yield


@pytest.fixture(scope="session")
def pki():
    if servers.target_name() != "synod" or not os.environ.get("SYNOD_BIN"):
        raise RuntimeError("the TLS suite needs SYNOD_TEST_TARGET=synod and SYNOD_BIN")
    directory = tempfile.mkdtemp(prefix="tls-pki-")
    p = Pki(directory)
    p.ca("ca")
    p.ca("other-ca")
    yield p
    if os.environ.get("SYNOD_KEEP_TMP") != "1":
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def tls_server(pki, request):
    def make(key_store, **cfg):
        overrides = {
            "secureClientPort": free_port(),
            "ssl.keyStore.location": key_store,
            "ssl.trustStore.location": pki.ca("ca"),
            "ssl.clientAuth": "need",
        }
        overrides.update(cfg)
        s = servers.make_server(request.node.name[:30], "synod", overrides)
        made.append(s)
        s.start()
        s.secure_port = overrides["secureClientPort"]
        return s

    with suite.destroyed_after(request, lambda s: s.log_tail()) as made:
        yield make


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def wait_log(read_log, text, timeout_s=LOG_WAIT_S):
    """True once read_log() contains `text`; False after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in read_log():
            return True
        time.sleep(LOG_POLL_S)
    return text in read_log()
