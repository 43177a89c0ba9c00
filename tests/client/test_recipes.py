"""Election, service registry, configuration and group partitioner through synod-cli."""

import os
import threading
import time

from conftest import SESSION_TIMEOUT_MS
from waiting import wait_until

# ZooKeeper expires sessions on tickTime (2 s) boundaries, so allow a tick and slack.
FAILOVER_S = SESSION_TIMEOUT_MS / 1000.0 + 8


def _leader_cmd(marker):
    return ["sh", "-c", 'echo "$SYNOD_LEADER_ID $SYNOD_FENCING_TOKEN" > %s; exec sleep 120'
            % marker]


def test_election_fails_over_when_leader_is_killed(spawn, cli, prefix, tmp_path):
    marks = {n: str(tmp_path / n) for n in ("a", "b", "c")}
    procs = {}
    for i, n in enumerate(("a", "b", "c")):
        procs[n] = spawn(["elect", "--id", n, prefix + "/E", "--"] + _leader_cmd(marks[n]))
        # Candidates queue in order of arrival: wait for each before starting the next.
        wait_until(lambda: len(cli(["ls", prefix + "/E"]).stdout.split()) == i + 1,
                   timeout_s=20, what="candidate %s queued" % n)
    wait_until(lambda: os.path.exists(marks["a"]), timeout_s=20, what="first leader")
    time.sleep(0.5)
    assert not os.path.exists(marks["b"]) and not os.path.exists(marks["c"])
    assert cli(["elect", "--observe", prefix + "/E"]).stdout.strip() == "a"
    token_a = int(open(marks["a"]).read().split()[1])
    procs["a"].kill9()
    wait_until(lambda: os.path.exists(marks["b"]), timeout_s=FAILOVER_S, what="b leads")
    assert not os.path.exists(marks["c"])  # exactly one successor (no herd)
    assert open(marks["b"]).read().split()[0] == "b"
    assert int(open(marks["b"]).read().split()[1]) > token_a
    wait_until(lambda: cli(["elect", "--observe", prefix + "/E"]).stdout.strip() == "b",
               timeout_s=5, what="observe sees b")
    # An orderly stop hands over at once, without waiting for a session timeout.
    t0 = time.monotonic()
    procs["b"].stop()
    wait_until(lambda: os.path.exists(marks["c"]), timeout_s=5, what="c leads")
    assert time.monotonic() - t0 < 5


def test_service_vanishes_when_its_process_dies(spawn, cli, tmp_path):
    svc = "svc%d" % os.getpid()
    watch = spawn(["service", "watch", svc])
    a = spawn(["service", "register", svc, "--id", "a", "--address", "10.0.0.1",
               "--port", "80", "--metadata", '{"zone":"x"}'])
    b = spawn(["service", "register", svc, "--id", "b", "--address", "10.0.0.2",
               "--port", "81"])
    wait_until(lambda: cli(["service", "list", svc]).stdout.count("\n") == 2, timeout_s=20,
               what="two instances")
    listing = cli(["service", "list", svc]).stdout.splitlines()
    assert listing[0] == 'a 10.0.0.1:80 {"zone":"x"}'
    assert listing[1] == "b 10.0.0.2:81 {}"
    # As long as the listing above may take: the watcher is a process of its own (under
    # valgrind in client_valgrind), started first but maybe not listing yet.
    wait_until(lambda: "+ a 10.0.0.1:80" in watch.output() and "+ b" in watch.output(),
               timeout_s=20, what="watch saw both")
    a.kill9()
    wait_until(lambda: cli(["service", "list", svc]).stdout.split() and
               cli(["service", "list", svc]).stdout.split()[0] == "b",
               timeout_s=FAILOVER_S, what="a gone from the list")
    wait_until(lambda: "- a" in watch.output(), timeout_s=5, what="watch saw a leave")
    # pick only returns live instances
    for _ in range(3):
        assert cli(["service", "pick", svc]).stdout.startswith("b ")
    b.stop()
    cli(["rm", "-r", "/services/" + svc])


def test_config_apply_is_seen_whole_or_not_at_all(cli, spawn, prefix, tmp_path):
    root = prefix + "/cfg"
    keys = ["k%d" % i for i in range(6)]
    assert cli(["config", "apply", root], input="".join("%s=0\n" % k for k in keys)
               ).returncode == 0
    stop = threading.Event()
    torn = []
    snapshots = []

    def reader():
        while not stop.is_set():
            r = cli(["config", "get", root])
            if r.returncode != 0:
                continue
            lines = r.stdout.splitlines()
            values = {l.split("=")[1] for l in lines[1:]}
            snapshots.append(lines[0])
            if len(values) != 1 or len(lines) != 7:
                torn.append(r.stdout)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for gen in range(1, 8):
            r = cli(["config", "apply", root], input="".join("%s=%d\n" % (k, gen) for k in keys))
            assert r.returncode == 0, r.stderr
    finally:
        stop.set()
        t.join()
    assert not torn, torn[:2]
    assert len(snapshots) > 3
    # A stale generation is refused and changes nothing.
    out = cli(["config", "get", root]).stdout
    assert out.startswith("# generation 8\n")
    r = cli(["config", "apply", "-g", "3", root], input="k0=stale\n")
    assert r.returncode == 1
    assert cli(["config", "get", root]).stdout == out
    assert cli(["config", "apply", root], input="k0=a\nk0=b\n").returncode == 2  # one key twice
    assert cli(["config", "get", root]).stdout == out
    assert cli(["config", "apply", "-g", "8", root], input="-k5\nnew=1\n").returncode == 0
    out = cli(["config", "get", root]).stdout.splitlines()
    assert "k5=7" not in out and "new=1" in out and out[0] == "# generation 9"


def test_config_watch_sees_every_generation(cli, spawn, prefix):
    root = prefix + "/wcfg"
    cli(["config", "apply", root], input="a=1\n")
    w = spawn(["config", "watch", root])
    wait_until(lambda: "a=1" in w.output(), timeout_s=10, what="initial snapshot")
    cli(["config", "apply", root], input="a=2\nb=2\n")
    wait_until(lambda: "# generation 2" in w.output(), timeout_s=10, what="second snapshot")
    snap = w.output().split("# generation 2\n")[1]
    assert snap.startswith("a=2\nb=2\n")


def test_partitioner_rebalances_when_a_member_dies(spawn, prefix):
    items = ",".join("i%d" % i for i in range(9))
    members = {m: spawn(["group", "run", prefix + "/G", m, items]) for m in ("m1", "m2", "m3")}

    def owned(p, n_members):
        last = [l for l in p.output().splitlines() if l.startswith("members: %d " % n_members)]
        return set(last[-1].split("owned:")[1].split()) if last else None

    def all_see(n):
        return all(owned(p, n) is not None for p in members.values())

    wait_until(lambda: all_see(3), timeout_s=20, what="three members")
    shares = [owned(p, 3) for p in members.values()]
    assert sorted(len(s) for s in shares) == [3, 3, 3]
    assert set().union(*shares) == {"i%d" % i for i in range(9)}
    members["m2"].kill9()
    del members["m2"]
    wait_until(lambda: all_see(2), timeout_s=FAILOVER_S, what="rebalanced to two")
    shares = [owned(p, 2) for p in members.values()]
    assert not (shares[0] & shares[1])
    assert shares[0] | shares[1] == {"i%d" % i for i in range(9)}


def test_barrier_and_counter(cli, spawn, prefix, tmp_path):
    b = prefix + "/bar"
    assert cli(["barrier", "set", b]).returncode == 0
    assert cli(["barrier", "wait", "-t", "500", b]).returncode == 5
    w = spawn(["barrier", "wait", b])
    time.sleep(0.5)
    assert w.proc.poll() is None
    cli(["barrier", "remove", b])
    assert w.proc.wait(timeout=10) == 0
    c = prefix + "/ctr"
    outs = []
    threads = [threading.Thread(target=lambda: outs.append(cli(["counter", "add", c, "2"])))
               for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(int(r.stdout) for r in outs) == [2, 4, 6, 8, 10]
    assert cli(["counter", "get", c]).stdout.strip() == "10"


def test_double_barrier_enter_and_leave(cli, spawn, prefix):
    d = prefix + "/dbar"
    first = [spawn(["barrier", "enter", d, "m%d" % i, "3"]) for i in range(2)]
    time.sleep(1.0)
    assert all(p.proc.poll() is None for p in first)  # two of three: still waiting
    # The third member's session lives only as long as its command, so it enters and
    # leaves in one process: the others must be released by its arrival.
    third = spawn(["barrier", "enter", d, "m2", "3"])
    for p in first + [third]:
        assert p.proc.wait(timeout=20) == 0
    # Each enter's session ended with its process, so the members are gone: leave
    # returns at once.
    assert cli(["barrier", "leave", "-t", "5000", d, "m0", "3"]).returncode == 0
