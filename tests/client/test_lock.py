"""`synod lock`: mutual exclusion, growing fencing tokens, hand-over when a holder dies."""

import os
import time

from conftest import SESSION_TIMEOUT_MS
from proxy import CuttableProxy
from waiting import wait_until

HOLD_S = 0.3


def _critical_section(log):
    # Appends with O_APPEND from the shell: each line is one write.
    return ["sh", "-c",
            'echo "start $SYNOD_FENCING_TOKEN $$" >> %s; sleep %s; '
            'echo "end $SYNOD_FENCING_TOKEN $$" >> %s' % (log, HOLD_S, log)]


def test_lock_holders_never_overlap_and_tokens_grow(spawn, prefix, tmp_path):
    log = str(tmp_path / "cs.log")
    procs = []
    for i in range(4):
        for _ in range(2):
            procs.append(spawn(["lock", prefix + "/L", "--"] + _critical_section(log)))
    for p in procs:
        p.proc.wait(timeout=60)
        assert p.proc.returncode == 0, p.output()
    lines = open(log).read().split("\n")[:-1]
    assert len(lines) == 16
    tokens = []
    for i in range(0, len(lines), 2):
        start, end = lines[i].split(), lines[i + 1].split()
        # Each start is followed by the same holder's end: no interleaving.
        assert start[0] == "start" and end[0] == "end", lines
        assert start[1:] == end[1:], lines
        tokens.append(int(start[1]))
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens), tokens


def test_killed_holder_hands_lock_to_next_waiter(spawn, cli, prefix, tmp_path):
    pidfile = str(tmp_path / "holder.pid")
    got = str(tmp_path / "got")
    holder = spawn(["lock", prefix + "/K", "--", "sh", "-c",
                    "echo $$ > %s; echo $SYNOD_FENCING_TOKEN >> %s; exec sleep 120" %
                    (pidfile, pidfile)])
    wait_until(lambda: os.path.exists(pidfile) and len(open(pidfile).read().split()) == 2,
               timeout_s=20, what="holder running")
    child_pid, token1 = (int(x) for x in open(pidfile).read().split())
    waiter = spawn(["lock", prefix + "/K", "--", "sh", "-c",
                    "echo $SYNOD_FENCING_TOKEN > %s" % got])
    time.sleep(1.0)
    assert not os.path.exists(got), "waiter ran while the holder held the lock"
    t0 = time.monotonic()
    holder.kill9()
    # The holder's command dies with it (never two commands at once) ...
    wait_until(lambda: not os.path.exists("/proc/%d" % child_pid), timeout_s=5,
               what="holder's command killed")
    # ... and the waiter gets the lock once the holder's session expires.
    wait_until(lambda: os.path.exists(got) and open(got).read().strip(),
               timeout_s=SESSION_TIMEOUT_MS / 1000.0 + 6, what="waiter acquired")
    elapsed = time.monotonic() - t0
    assert elapsed <= SESSION_TIMEOUT_MS / 1000.0 + 5, elapsed
    assert int(open(got).read()) > token1
    waiter.proc.wait(timeout=10)
    assert waiter.proc.returncode == 0


def test_try_lock_times_out_and_exit_status_passes_through(spawn, cli, prefix, tmp_path):
    ready = str(tmp_path / "ready")
    holder = spawn(["lock", prefix + "/T", "--", "sh", "-c", "touch %s; sleep 30" % ready])
    wait_until(lambda: os.path.exists(ready), timeout_s=20, what="holder")
    t0 = time.monotonic()
    r = cli(["lock", "-t", "700", prefix + "/T", "--", "true"])
    assert r.returncode == 5
    assert 0.6 <= time.monotonic() - t0 < 10
    # The timed-out waiter removed its node: only the holder's remains.
    assert len(cli(["ls", prefix + "/T"]).stdout.split()) == 1
    holder.stop()
    r = cli(["lock", prefix + "/T", "--", "sh", "-c", "exit 7"])
    assert r.returncode == 7
    assert cli(["ls", prefix + "/T"]).stdout == ""


def test_read_write_lock(spawn, cli, prefix, tmp_path):
    r1, r2 = str(tmp_path / "r1"), str(tmp_path / "r2")
    a = spawn(["lock", "--read", prefix + "/RW", "--", "sh", "-c", "touch %s; sleep 30" % r1])
    wait_until(lambda: os.path.exists(r1), timeout_s=20, what="first reader")
    # A second reader shares the lock; a writer must wait.
    b = spawn(["lock", "--read", prefix + "/RW", "--", "sh", "-c", "touch %s; sleep 30" % r2])
    wait_until(lambda: os.path.exists(r2), timeout_s=20, what="second reader")
    r = cli(["lock", "--write", "-t", "500", prefix + "/RW", "--", "true"])
    assert r.returncode == 5
    a.stop()
    b.stop()
    assert cli(["lock", "--write", "-t", "5000", prefix + "/RW", "--", "true"]).returncode == 0


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_lock_stops_command_on_connection_loss(spawn, server, prefix, tmp_path):
    """By default CMD is stopped as soon as the connection is lost (SUSPENDED), well before
    the session can expire and the lock pass to someone else; --tolerate-suspend keeps CMD
    running until the session is given up for expired (a whole session timeout)."""
    proxy = CuttableProxy(server.host, server.port)
    try:
        marks = {k: str(tmp_path / k) for k in ("strict", "tolerant")}
        strict = spawn(["lock", prefix + "/S", "--", "sh", "-c",
                        "echo $$ > %s; exec sleep 120" % marks["strict"]], hosts=proxy.hosts)
        tolerant = spawn(["lock", "--tolerate-suspend", prefix + "/T", "--", "sh", "-c",
                          "echo $$ > %s; exec sleep 120" % marks["tolerant"]],
                         hosts=proxy.hosts)
        for m in marks.values():
            wait_until(lambda: os.path.exists(m) and open(m).read().strip(), timeout_s=20,
                       what="holder running")
        pids = {k: int(open(m).read()) for k, m in marks.items()}
        t0 = time.monotonic()
        proxy.cut()
        wait_until(lambda: not _alive(pids["strict"]), timeout_s=SESSION_TIMEOUT_MS / 1000.0 - 1,
                   what="strict holder's command stopped")
        # The tolerant holder's command still runs while the session may live ...
        assert _alive(pids["tolerant"])
        # ... and is stopped once a whole session timeout passed without a server.
        wait_until(lambda: not _alive(pids["tolerant"]),
                   timeout_s=SESSION_TIMEOUT_MS / 1000.0 + 10,
                   what="tolerant holder's command stopped")
        assert time.monotonic() - t0 >= SESSION_TIMEOUT_MS / 1000.0 - 0.5
        for p in (strict, tolerant):
            p.proc.wait(timeout=SESSION_TIMEOUT_MS / 1000.0 + 10)
            assert p.proc.returncode == 4, p.output()
        assert "lost (SUSPENDED)" in strict.output()
        assert "lost (EXPIRED)" in tolerant.output()
    finally:
        proxy.stop()
