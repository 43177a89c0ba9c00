"""The C API through synod-recipe-check: watches across a reconnect (SetWatches), the
election callbacks, pipelined async calls, and a lock lost when the session is."""

import os
import subprocess
import sys
import time

import pytest

from conftest import SESSION_TIMEOUT_MS
from proxy import CuttableProxy
from waiting import wait_until


def check_path():
    path = os.environ.get("SYNOD_RECIPE_CHECK")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build-client", "tests", "client",
                            "synod-recipe-check")
    return path


class Check:
    def __init__(self, args, tmp_path, name):
        self.path = str(tmp_path / (name + ".out"))
        self.out = open(self.path, "w")
        self.proc = subprocess.Popen([check_path()] + args, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def lines(self):
        """Output lines, without the library's log lines (they start with a date)."""
        with open(self.path) as f:
            return [l for l in f.read().splitlines() if not l[:1].isdigit()]

    def has(self, prefix):
        return any(l.startswith(prefix) for l in self.lines())

    def stop(self, sig=15):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        self.proc.wait(timeout=20)
        self.out.close()

    def finish(self):
        """SIGTERM (so an orderly exit frees everything: the valgrind run checks it),
        SIGKILL if that does not end it."""
        try:
            self.stop(15)
        except subprocess.TimeoutExpired:
            self.stop(9)


@pytest.fixture
def checks(tmp_path):
    made = []

    def start(args, name="check"):
        c = Check(args, tmp_path, "%s%d" % (name, len(made)))
        made.append(c)
        return c

    yield start
    for c in made:
        c.finish()


@pytest.fixture
def proxy(server):
    p = CuttableProxy(server.host, server.port)
    yield p
    p.stop()


def test_watch_fires_for_change_made_while_disconnected(checks, cli, proxy, prefix):
    path = prefix + "/w"
    cli(["create", path, "before"])
    c = checks(["watch-reconnect", proxy.hosts, path])
    wait_until(lambda: c.has("READY"), timeout_s=20, what="ready")
    proxy.cut()
    wait_until(lambda: c.has("STATE SUSPENDED"), timeout_s=10, what="suspended")
    assert cli(["set", path, "during"]).returncode == 0  # straight to the server
    proxy.restore()
    wait_until(lambda: c.has("DONE"), timeout_s=30, what="done")
    lines = c.lines()
    # Re-attached the same session, and SetWatches (relativeZxid = last zxid seen)
    # made the server fire the one-shot data watch for the change we missed.
    assert "SAME_SESSION 1" in lines
    assert "ONESHOT 3 %s" % path in lines
    connected = [i for i, l in enumerate(lines) if l == "STATE CONNECTED"]
    assert len(connected) == 2 and connected[0] < lines.index("STATE SUSPENDED") < connected[1]
    # The server sends one event per path; the client hands it to every watch on the
    # path, so the persistent watch sees the catch-up event too, and it survived the
    # reconnect (re-registered by SetWatches2): the change after it fires it again.
    assert lines.count("PERSISTENT 3 %s" % path) == 2
    assert lines[-1] == "DONE 1 2", lines


def test_failover_to_next_server_keeps_session(checks, cli, server, prefix):
    path = prefix + "/f"
    cli(["create", path, "before"])
    first, second = CuttableProxy(server.host, server.port), CuttableProxy(server.host, server.port)
    try:
        second.cut()  # only `first` is reachable at the start
        c = checks(["watch-reconnect", "%s,%s" % (first.hosts, second.hosts), path])
        wait_until(lambda: c.has("READY"), timeout_s=20, what="ready")
        second.restore()
        first.cut()  # connection loss: the client must move on to `second`
        wait_until(lambda: c.has("STATE SUSPENDED"), timeout_s=10, what="suspended")
        assert cli(["set", path, "during"]).returncode == 0
        wait_until(lambda: c.has("DONE"), timeout_s=30, what="done")
        assert "SAME_SESSION 1" in c.lines()
        assert "ONESHOT 3 %s" % path in c.lines()
        assert second.accepted >= 1
    finally:
        first.stop()
        second.stop()


def test_election_callbacks_gain_and_loss(checks, server, prefix):
    d = prefix + "/el"
    a = checks(["election", server.hosts, d, "a"], "a")
    wait_until(lambda: a.has("GAIN a"), timeout_s=20, what="a gains")
    b = checks(["election", server.hosts, d, "b"], "b")
    wait_until(lambda: b.has("CAMPAIGNING"), timeout_s=20, what="b campaigns")
    time.sleep(0.5)
    assert not b.has("GAIN")
    t0 = time.monotonic()
    a.stop(15)  # resign: on_loss runs, and b takes over at once
    assert "LOSS a" in a.lines()
    wait_until(lambda: b.has("GAIN b"), timeout_s=5, what="b gains")
    assert time.monotonic() - t0 < 5
    token_a = int([l for l in a.lines() if l.startswith("GAIN")][0].split()[2])
    token_b = int([l for l in b.lines() if l.startswith("GAIN")][0].split()[2])
    assert token_b > token_a


def test_async_calls_complete_once_in_order(checks, server, prefix):
    c = checks(["async", server.hosts, prefix, "200"])
    c.proc.wait(timeout=60)
    assert "ASYNC 200 200" in c.lines(), c.lines()


def test_lock_is_lost_when_session_is(checks, proxy, cli, prefix):
    c = checks(["lock-expire", proxy.hosts, prefix + "/lk"])
    wait_until(lambda: c.has("HELD"), timeout_s=20, what="held")
    t0 = time.monotonic()
    proxy.cut()
    wait_until(lambda: c.has("LOST"), timeout_s=SESSION_TIMEOUT_MS / 1000.0 + 10, what="lost")
    # Declared lost after SUSPENDED lasted a whole session timeout (not sooner), and the
    # handle then refuses calls with session expired.
    assert time.monotonic() - t0 >= SESSION_TIMEOUT_MS / 1000.0 - 0.5
    assert [l for l in c.lines() if l.startswith("LOST")] == ["LOST held=0 call=ZSESSIONEXPIRED"]
    assert "STATE EXPIRED" in c.lines()
    # Meanwhile the server expired the session too: another client can take the lock.
    r = cli(["lock", "-t", "15000", prefix + "/lk", "--", "true"])
    assert r.returncode == 0
