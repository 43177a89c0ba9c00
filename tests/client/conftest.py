"""pytest fixtures for the libsynod / synod-cli tests.

The server is picked like tests/integration does: SYNOD_TEST_TARGET=zookeeper|synod
(SYNOD_BIN names the synod server binary). SYNOD_CLI names the synod-cli executable
(set by ctest; else the build-client tree is tried).

Fixtures:
- server: one server for the whole session (tests must not stop it).
- cli: run(args, input=None, ..., env=None) -> CompletedProcess of
  `synod-cli --server HOSTS args` (stdin /dev/null without input).
- spawn: start(args, ..., hosts=None) -> a background synod-cli process (connected to
  hosts, default the server) in its own session; every
  process started is killed by PID (its process group) at the end of the test.
- prefix: a unique znode path for the test, removed afterwards.
"""

import os
import signal
import subprocess
import sys
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import servers  # noqa: E402
import suite  # noqa: E402

SESSION_TIMEOUT_MS = 4000
TEST_TIMEOUT_S = int(os.environ.get("SYNOD_TEST_TIMEOUT_S", "120"))


def cli_path():
    path = os.environ.get("SYNOD_CLI")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build-client", "src", "cli", "synod-cli")
    if not os.access(path, os.X_OK):
        raise RuntimeError("synod-cli not found; set SYNOD_CLI")
    return path


@pytest.fixture(autouse=True)
def _test_time_limit():
    with suite.time_limit(TEST_TIMEOUT_S):
        yield


@pytest.fixture(scope="session")
def server():
    srv = servers.make_server("client")
    try:
        srv.start()
        yield srv
    finally:
        srv.destroy()


def _argv(server, args, session_timeout_ms, hosts=None):
    return [cli_path(), "--server", hosts or server.hosts,
            "--session-timeout", str(session_timeout_ms)] + list(args)


@pytest.fixture
def cli(server):
    def run(args, input=None, timeout=60, session_timeout_ms=SESSION_TIMEOUT_MS, env=None):
        # Without input, stdin is /dev/null as in a terminal-less script: `create` refuses
        # to drop data waiting on a pipe it inherited.
        return subprocess.run(_argv(server, args, session_timeout_ms), input=input,
                              stdin=subprocess.DEVNULL if input is None else None,
                              capture_output=True, text=True, timeout=timeout, env=env)
    return run


class Spawned:
    """A background synod-cli in its own session (process group = its PID)."""

    def __init__(self, argv, out_path):
        self.out_path = out_path
        self.out = open(out_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True,
                                     start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        self.out.flush()
        with open(self.out_path) as f:
            return f.read()

    def kill9(self):
        """SIGKILL only the synod-cli process (its children must die on their own)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        """SIGTERM then SIGKILL the whole process group this test started."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        self.out.close()


@pytest.fixture
def spawn(server, tmp_path):
    made = []

    def start(args, session_timeout_ms=SESSION_TIMEOUT_MS, hosts=None):
        p = Spawned(_argv(server, args, session_timeout_ms, hosts),
                    str(tmp_path / ("proc%d.out" % len(made))))
        made.append(p)
        return p

    yield start
    for p in made:
        p.stop()


@pytest.fixture
def prefix(request, cli):
    name = "".join(c if c.isalnum() else "_" for c in request.node.name)[:50]
    path = "/ctest/%s-%s" % (name, uuid.uuid4().hex[:8])
    r = cli(["create", "-p", path])
    assert r.returncode == 0, r.stderr
    yield path
    cli(["rm", "-r", path])
