"""The 3-server section of `make bench`: synod's Raft cluster against an Apache ZooKeeper 3.8
ensemble and an etcd 3.4 cluster (Debian's packages), measured in the same run, one system
after the other, each on its own fresh clusters.

The clusters come from tests/lib/cluster.py and tests/lib/etcd_cluster.py (three servers on
127.0.0.1, free ports, fresh data directories, every server started with setsid by
procs.ManagedProcess and signalled by its PID only). The bench subclasses change only the
command line: synod from the build directory given to bench/run.py, ZooKeeper with the JVM
flags of the single-node bench (-Xmx2g, the default JIT and GC) instead of the test suite's
start-up-oriented ones. fsync is on for all three: synod always syncs its WAL, ZooKeeper runs
with forceSync=yes, etcd with its default (fsync of the WAL on every commit).
synod and ZooKeeper are driven by synod-loadgen (bench/loadgen.c), etcd by etcd-loadgen
(bench/etcd-loadgen), which runs the same workloads over etcd's gRPC API and reports alike.

Before and after, the disk's fdatasync latency (bench/disk.py). Per kind of server, in this
order (args.parts selects):

1. The workload matrix: a fresh cluster, 1,000 keys per value size, an unmeasured set load
   (MX_JIT_WARMUP_S: the JVM's JIT), then every workload x shape x value size of
   MX_WORKLOADS, MX_SHAPES and MX_VALUE_SIZES (or what args selects) with the connections
   spread round-robin over the three servers. Server CPU per operation is utime+stime from
   /proc/PID/stat summed over the three server PIDs.
2. Follower restart: a fresh cluster holding 100,000 nodes of 256 B; a follower is stopped
   (SIGTERM) and started again; the time from starting the process to the first successful
   read through it (a fresh session on that server alone, getData of a loaded node; etcd: a
   serializable range on that server), RESTART_REPEATS times; the median is reported.
3. Failover: a fresh cluster, ROUNDS rounds of `kill -9` of the leader, then ROUNDS rounds of
   SIGSTOP of the leader. In each round: a kazoo client on each follower creates an
   ephemeral node (not for etcd, whose load has no sessions); the load generator creates
   nodes at a steady rate over all three servers; the leader is killed (or stopped); the
   failover time is the time from the signal to the first acknowledgement of a create
   *issued after* the leader was gone (issued after kill(2) returned and the process was
   reaped, or after SIGSTOP was sent). Then, with sync on a survivor (etcd: a linearizable
   range), every acknowledged create must be there, the ephemerals must still be there with
   their owners' sessions, and no session of the load may have expired. The killed server is
   restarted (the stopped one continued) and must rejoin as a follower holding what the
   others hold before the next round.

Each round's details, and the server logs of any round that broke a check or was slower than
FO_SLOW_MS, go to a results directory printed at the end.
"""

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import cluster as cluster_lib  # noqa: E402
import disk  # noqa: E402
import etcd_cluster  # noqa: E402
import servers  # noqa: E402
import zkwire  # noqa: E402
from procs import ManagedProcess  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVERS = 3
VALUE_BYTES = 256

# The workload matrix: every workload x shape x value size, connections spread round-robin
# over the 3 servers. A shape is (connections, requests in flight on each).
MX_KEYS = 1_000
MX_READ_PERCENT = 90
MX_WORKLOADS = [  # (label, load generator --op)
    ("write", "set"),
    ("create", "create"),
    ("local read", "get"),
    ("linearizable read", "linget"),
    ("mixed 90/10", "mixed"),
]
MX_SHAPES = [(1, 1), (4, 64), (32, 64)]
MX_VALUE_SIZES = [256, 4096]
# An unmeasured set load first: a fresh ZooKeeper ensemble runs its writes 2-3x slower for its
# first ~15 s (the JIT compiling). Every system gets it, to be started the same way.
MX_JIT_WARMUP_S = 10
MX_JIT_WARMUP_SHAPE = (4, 64)
POPULATE_CONNECTIONS = 6

# Restart: the follower's tree.
RESTART_NODES = 100_000
RESTART_REPEATS = 3
RESTART_TIMEOUT_S = 120.0
RESTART_POLL_S = 0.01
RESTART_IO_TIMEOUT_S = 1.0

# Failover: a steady create load, paced, over all servers.
ROUNDS = 10
FO_CONNECTIONS = 6
FO_OUTSTANDING = 8
FO_RATE = 2000              # creates/s in total, the same offered load for both servers
FO_SESSION_TIMEOUT_MS = 4000  # load sessions; the C client waits 1/60 of it between sweeps
FO_PRE_KILL_S = 1.5         # steady load before the signal
FO_TAIL_S = 1.0             # load kept after the first acknowledged write
FO_RUN_CAP_S = 60.0         # a round's load ends here even without recovery
# Rounds slower than this keep their server logs too (as rounds that fail a check do).
FO_SLOW_MS = {"kill": 2000.0, "stop": 15000.0}
HOLDER_SESSION_TIMEOUT_S = 10.0
CLIENT_START_TIMEOUT_S = 30.0
HOLDER_RECONNECT_TIMEOUT_S = 30.0
CATCH_UP_TIMEOUT_S = 90.0
BARRIER_FLAGS = 2  # PERSISTENT_SEQUENTIAL
POLL_S = 0.05
LEADER_POLL_S = 0.02
LOADGEN_START_TIMEOUT_S = 30.0
LOADGEN_EXIT_SLACK_S = 30.0  # drain (10 s) and close beyond the run cap


def log(msg):
    sys.stderr.write("[cluster bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class _Spawn:
    """Start a server without waiting for it (Cluster.start waits until it listens), for the
    restart measurement, which has to time the start itself."""

    def spawn(self, i):
        m = self.members[i]
        argv, env = self.command(m)
        m.process = ManagedProcess(argv, m.dir, m.log_path, env).start()
        m.paused = False

    def cpu_s(self):
        """utime+stime of every running server, summed."""
        total = 0
        for i in self.ids():
            pid = self.pid(i)
            if pid is None:
                continue
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / CLK_TCK


class BenchSynodCluster(_Spawn, cluster_lib.SynodCluster):
    build = None

    def command(self, member):
        return [os.path.join(self.build, "src/server/synod"), "serve", "-c", self.cfg_path,
                "--id", str(member.server_id)], None


class BenchEtcdCluster(_Spawn, etcd_cluster.EtcdCluster):
    """etcd as etcd_cluster.py starts it: its defaults, fsync on."""


class BenchZooKeeperCluster(_Spawn, cluster_lib.ZooKeeperCluster):
    def command(self, member):
        log4j = os.path.join(member.dir, "log4j.properties")
        with open(log4j, "w") as f:
            f.write(servers.LOG4J_PROPERTIES.format(log=member.log_path))
        # The single-node bench's JVM flags: the test suite's (-XX:TieredStopAtLevel=1,
        # SerialGC, 512 MB) favour start-up over throughput.
        return ["java", "-Xmx2g", "-Dzookeeper.forceSync=yes",
                "-Dlog4j.configuration=file:%s" % log4j,
                "-cp", ":".join(servers.ZK_JARS),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg_path], None


def new_cluster(kind, build, name, base):
    """A cluster whose directory is under `base` (the bench's own directory), not directly in
    /tmp where other runs' clean-ups might reach it."""
    saved = tempfile.tempdir
    tempfile.tempdir = base  # the harness makes its directory with tempfile.mkdtemp()
    try:
        if kind == "synod":
            BenchSynodCluster.build = build
            return BenchSynodCluster(SERVERS, name=name)
        if kind == "etcd":
            return BenchEtcdCluster(SERVERS, name=name)
        return BenchZooKeeperCluster(SERVERS, name=name)
    finally:
        tempfile.tempdir = saved


@contextlib.contextmanager
def fresh_cluster(kind, build, name, outdir):
    """A new cluster, destroyed afterwards; on an error, what became of each server and its
    log are kept in outdir first."""
    base = os.path.join(outdir, "clusters")
    os.makedirs(base, exist_ok=True)
    c = new_cluster(kind, build, name, base)
    try:
        yield c
    except Exception:
        log("%s %s cluster: failed; server states %s; server logs kept in %s"
            % (kind, name, server_states(c), outdir))
        keep_logs(c, outdir, "%s-%s" % (kind, name))
        raise
    finally:
        c.destroy()


# ---- helpers ---------------------------------------------------------------------------

def server_zxid(c, i):
    """Last zxid server i applied (srvr's Zxid line), -1 if it does not answer."""
    if not c.running(i) or c.members[i].paused:
        return -1
    try:
        reply = c.four_letter(i, "srvr")
    except OSError:
        return -1
    for line in reply.splitlines():
        if line.startswith("Zxid:"):
            try:
                return int(line.split(":", 1)[1].strip(), 16)
            except ValueError:
                return -1
    return -1


def wait_for(pred, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / POLL_S) + 2):
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    raise RuntimeError("timed out after %.0fs waiting for %s" % (timeout_s, what))


def barrier_zxid(c, timeout_s):
    """Creates a sequential node through the leader and returns its zxid: a server that has
    applied that zxid has applied everything committed before this call. (A ZooKeeper
    follower's srvr shows the last txn it applied, 0 after an election without writes, so
    comparing the servers' zxids alone can wait for ever.)"""
    def attempt():
        leader = c.leader()
        if leader is None:
            return None
        client = None
        try:
            client = zkwire.RawClient(cluster_lib.HOST, c.members[leader].client_port,
                                      io_timeout_s=5.0)
            client.connect(timeout_ms=servers.MAX_SESSION_TIMEOUT_MS)
            reply = client.create("/barrier-", b"", flags=BARRIER_FLAGS)
            if reply.err != 0:
                return None
            zxid = zkwire.decode_create2(reply.body)[1].czxid
            client.close_session()
            return zxid
        except (OSError, zkwire.ConnectionClosed, zkwire.DecodeError):
            return None
        finally:
            if client is not None:
                client.close()
    return wait_for(attempt, timeout_s, "a write through the %s leader" % c.kind)


def wait_caught_up(c, members, timeout_s=CATCH_UP_TIMEOUT_S):
    """One leader, every server in `members` a leader or follower that has applied a write
    made now (barrier_zxid)."""
    deadline = time.monotonic() + timeout_s

    def roles():
        modes = {i: c.mode(i) for i in members}
        return (all(m in ("leader", "follower") for m in modes.values())
                and c.leader() is not None)
    wait_for(roles, timeout_s, "%s servers %s to lead or follow (modes %s)"
             % (c.kind, members, c.modes()))
    zxid = barrier_zxid(c, max(1.0, deadline - time.monotonic()))
    wait_for(lambda: all(server_zxid(c, i) >= zxid for i in members),
             max(1.0, deadline - time.monotonic()),
             "%s servers %s to apply zxid 0x%x (modes %s)" % (c.kind, members, zxid, c.modes()))


def wait_all_caught_up(c, timeout_s=CATCH_UP_TIMEOUT_S):
    """Every running server serves and has applied everything committed so far."""
    wait_caught_up(c, [i for i in c.ids() if c.running(i) and not c.members[i].paused],
                   timeout_s)


def wait_rejoined(c, i, timeout_s=CATCH_UP_TIMEOUT_S):
    """Server i follows and has applied everything committed so far."""
    if c.kind == "etcd":
        c.wait_rejoined(i, timeout_s)
        return
    wait_for(lambda: c.mode(i) == "follower", timeout_s,
             "%s server.%d to rejoin as a follower (modes %s)" % (c.kind, i, c.modes()))
    wait_caught_up(c, [i], timeout_s)


def settle(c):
    """A leader, and every running server serving what was committed so far."""
    leader = c.wait_leader()
    if c.kind != "etcd":
        wait_all_caught_up(c)
        return
    for i in c.ids():
        if i != leader and c.running(i) and not c.members[i].paused:
            c.wait_rejoined(i)


def loadgen_argv(build, kind, hosts, *args):
    """synod-loadgen for the ZooKeeper protocol, etcd-loadgen for etcd: the same options."""
    name = "etcd-loadgen" if kind == "etcd" else "synod-loadgen"
    return [os.path.join(build, "bench", name), "--server", hosts, *args]


def parse_kv(line):
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split())}


def run_loadgen(build, kind, hosts, *args, timeout_s=600):
    out = subprocess.run(loadgen_argv(build, kind, hosts, *args), capture_output=True,
                         text=True, timeout=timeout_s)
    if out.returncode != 0:
        raise RuntimeError("loadgen %s failed (exit %d): %s %s" % (
            " ".join(args), out.returncode, out.stdout.strip()[-500:], out.stderr.strip()[-2000:]))
    return parse_kv(out.stdout.strip().splitlines()[-1])


def median(values):
    return statistics.median(values) if values else float("nan")


def kazoo_client(hosts, timeout_s):
    from kazoo.client import KazooClient
    from kazoo.retry import KazooRetry
    zk = KazooClient(hosts=hosts, timeout=timeout_s, randomize_hosts=False,
                     connection_retry=KazooRetry(max_tries=-1, delay=0.05, backoff=1.5,
                                                 max_delay=0.5))
    zk.start(timeout=CLIENT_START_TIMEOUT_S)
    return zk


def close_client(zk):
    try:
        zk.stop()
        zk.close()
    except Exception:  # the bench reports what it measured; a failing close changes nothing
        pass


# ---- 1. the workload matrix ------------------------------------------------------------

def cell_key(workload, shape, value_size):
    return "%s|%dx%d|%d" % (workload, shape[0], shape[1], value_size)


def matrix_cells(args):
    """The cells args selects, in the order they run: (label, op, shape, value size)."""
    return [(label, op, shape, vs) for vs in args.value_sizes for label, op in MX_WORKLOADS
            if op in args.workloads for shape in args.shapes]


def matrix(kind, build, args, outdir):
    """Every selected cell on one fresh cluster; {cell_key: load generator figures and the
    servers' CPU per operation}."""
    res = {}
    with fresh_cluster(kind, build, "matrix", outdir) as c:
        c.start()
        settle(c)
        hosts = c.hosts()
        for vs in args.value_sizes:
            run_loadgen(build, kind, hosts, "--op", "populate", "--prefix", "/m%d" % vs,
                        "--keys", str(MX_KEYS), "--value-size", str(vs),
                        "--connections", str(POPULATE_CONNECTIONS), "--outstanding", "16")
        conns, outstanding = MX_JIT_WARMUP_SHAPE
        run_loadgen(build, kind, hosts, "--op", "set", "--prefix", "/m%d" % args.value_sizes[0],
                    "--keys", str(MX_KEYS), "--value-size", str(args.value_sizes[0]),
                    "--connections", str(conns), "--outstanding", str(outstanding),
                    "--duration", str(MX_JIT_WARMUP_S), "--warmup", "0")
        for label, op, shape, vs in matrix_cells(args):
            # Creates make new keys: each cell its own prefix, so none exists already.
            prefix = ("/c%d-%dx%d" % (vs, shape[0], shape[1]) if op == "create"
                      else "/m%d" % vs)
            cpu0 = c.cpu_s()
            r = run_loadgen(build, kind, hosts, "--op", op, "--prefix", prefix,
                            "--keys", str(MX_KEYS), "--value-size", str(vs),
                            "--read-percent", str(MX_READ_PERCENT),
                            "--connections", str(shape[0]), "--outstanding", str(shape[1]),
                            "--duration", str(args.duration), "--warmup", str(args.warmup))
            cpu1 = c.cpu_s()
            # As in the single-node section: the window's rate scaled to warm-up + window.
            span_ops = r["ops_per_s"] * (args.duration + args.warmup)
            r["server_cpu_us_per_op"] = (cpu1 - cpu0) * 1e6 / span_ops if span_ops else 0
            res[cell_key(label, shape, vs)] = r
            log("%s %s %dx%d %d B: %.0f ops/s, p50 %d µs, p99 %d µs, servers %.1f µs/op, "
                "errors %d" % (kind, label, shape[0], shape[1], vs, r["ops_per_s"],
                               r["p50_us"], r["p99_us"], r["server_cpu_us_per_op"],
                               r["errors"]))
    return res


# ---- 2. follower restart ----------------------------------------------------------------

def read_once(c, i, port, path):
    """None when server i alone answers a read of `path` with VALUE_BYTES bytes (for etcd
    a serializable Get: from that server's own state, as a ZooKeeper read is), else why not."""
    if c.kind == "etcd":
        try:
            value = c.get(i, path, serializable=True)
        except (OSError, ValueError) as exc:
            return repr(exc)
        return None if value is not None and len(value) == VALUE_BYTES else "value %r" % value
    client = None
    try:
        client = zkwire.RawClient(cluster_lib.HOST, port, io_timeout_s=RESTART_IO_TIMEOUT_S)
        if client.connect(timeout_ms=servers.MAX_SESSION_TIMEOUT_MS).timeout_ms <= 0:
            return "session refused"
        reply = client.get_data(path)
        if reply.err == 0 and len(zkwire.decode_get_data(reply.body)[0]) == VALUE_BYTES:
            return None
        return "getData err %d" % reply.err
    except (OSError, zkwire.ConnectionClosed, zkwire.DecodeError) as exc:
        return repr(exc)
    finally:
        if client is not None:
            client.close()


def first_read(c, i, path, t0, deadline):
    """Polls a fresh session on server i alone until getData(path) returns VALUE_BYTES bytes;
    returns the time of that reply. Bounded by `deadline` and a number of attempts."""
    port = c.members[i].client_port
    rounds = int((deadline - time.monotonic()) / RESTART_POLL_S) + 2
    last_error = None
    for _ in range(rounds):
        if time.monotonic() >= deadline:
            break
        if not c.running(i):
            raise RuntimeError("%s server.%d exited while restarting:\n%s"
                               % (c.kind, i, c.log_tail(i)))
        last_error = read_once(c, i, port, path)
        if last_error is None:
            return time.monotonic()
        time.sleep(RESTART_POLL_S)
    raise RuntimeError("%s server.%d: no read %.0fs after start (last: %s); log tail:\n%s"
                       % (c.kind, i, time.monotonic() - t0, last_error, c.log_tail(i)))


def restart_time(kind, build, outdir):
    times = []
    with fresh_cluster(kind, build, "restart", outdir) as c:
        c.start()
        settle(c)
        t = time.monotonic()
        run_loadgen(build, kind, c.hosts(), "--op", "populate", "--prefix", "/restart",
                    "--keys", str(RESTART_NODES), "--value-size", str(VALUE_BYTES),
                    "--connections", str(POPULATE_CONNECTIONS), "--outstanding", "64")
        settle(c)
        log("%s: %d nodes loaded in %.1fs" % (kind, RESTART_NODES, time.monotonic() - t))
        path = "/restart/k%d" % (RESTART_NODES - 1)
        for _ in range(RESTART_REPEATS):
            leader = c.wait_leader()
            follower = [i for i in c.ids() if i != leader][0]
            c.stop(follower)
            t0 = time.monotonic()
            c.spawn(follower)
            t1 = first_read(c, follower, path, t0, t0 + RESTART_TIMEOUT_S)
            times.append((t1 - t0) * 1e3)
            log("%s: follower server.%d serves a read %.0f ms after its start"
                % (kind, follower, times[-1]))
            wait_rejoined(c, follower)
    return {"restart_ms": median(times), "restart_all_ms": times}


# ---- 3. failover ------------------------------------------------------------------------

class Holder:
    """A kazoo session on one server holding an ephemeral node; remembers whether the
    session was ever lost (expired)."""

    def __init__(self, c, i, path):
        from kazoo.protocol.states import KazooState
        self.server, self.path, self.lost = i, path, False
        self.zk = kazoo_client(c.host(i), HOLDER_SESSION_TIMEOUT_S)

        def listener(state):
            if state == KazooState.LOST:
                self.lost = True
        self.zk.add_listener(listener)
        self.zk.create(path, b"holder", ephemeral=True, makepath=True)
        self.session_id = self.zk.client_id[0]

    def check(self, verifier):
        """None if the session and its ephemeral survived, else what went wrong."""
        if self.lost:
            return "session 0x%x on server.%d was lost" % (self.session_id, self.server)
        try:
            wait_for(lambda: self.zk.connected, HOLDER_RECONNECT_TIMEOUT_S,
                     "the holder on server.%d to reconnect" % self.server)
            own = self.zk.exists(self.path)
        except Exception as exc:  # kazoo raises SessionExpiredError, ConnectionLoss ...
            return "holder on server.%d: %r" % (self.server, exc)
        seen = verifier.exists(self.path)
        if own is None or seen is None:
            return "ephemeral %s of session 0x%x is gone" % (self.path, self.session_id)
        if seen.ephemeralOwner != self.session_id:
            return "ephemeral %s: owner 0x%x, expected 0x%x" % (
                self.path, seen.ephemeralOwner, self.session_id)
        return None

    def close(self):
        close_client(self.zk)


def wait_new_leader(c, old, timeout_s):
    """Polls srvr every LEADER_POLL_S (finer than Cluster.wait_leader) until a server other
    than `old` says it leads; returns its id."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / LEADER_POLL_S) + 2):
        leader = c.leader()
        if leader is not None and leader != old:
            return leader
        if time.monotonic() >= deadline:
            break
        time.sleep(LEADER_POLL_S)
    raise RuntimeError("%s: no leader other than server.%d after %.0fs; modes %s"
                       % (c.kind, old, timeout_s, c.modes()))


def read_line(proc, timeout_s):
    """One line of proc's stdout, waiting at most timeout_s."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    return proc.stdout.readline() if ready else ""


def failover_round(c, build, how, rnd, outdir):
    """One round; returns a dict with the failover time and the checks."""
    leader = c.wait_leader()
    followers = [i for i in c.ids() if i != leader]
    prefix = "/fo-%s-%d" % (how, rnd)
    tag = "%s-%s-%02d" % (c.kind, how, rnd)
    acked_path = os.path.join(outdir, tag + ".acked")
    holders, proc, verifier = [], None, None
    out = {"round": rnd, "how": how, "leader": leader}
    etcd = c.kind == "etcd"
    try:
        # etcd has sessions only as leases, which its load does not use: no holders there.
        for f in followers if not etcd else []:
            holders.append(Holder(c, f, "/holders/%s-s%d" % (tag, f)))
        # Each etcd client gets every server (rotated), as each ZooKeeper connection does;
        # a request waits as long as the C client waits for a silent server, then fails.
        own = (["--all-endpoints", "--request-timeout", str(FO_SESSION_TIMEOUT_MS * 2 // 3)]
               if etcd else ["--session-timeout", str(FO_SESSION_TIMEOUT_MS)])
        argv = loadgen_argv(build, c.kind, c.hosts(), "--op", "create", "--prefix", prefix,
                            "--connections", str(FO_CONNECTIONS),
                            "--outstanding", str(FO_OUTSTANDING), "--rate", str(FO_RATE),
                            "--value-size", str(VALUE_BYTES), "--warmup", "0",
                            "--duration", str(FO_RUN_CAP_S), "--tail", str(FO_TAIL_S),
                            *own, "--acked", acked_path)
        with open(os.path.join(outdir, tag + ".loadgen.log"), "wb") as err:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True)
        started = read_line(proc, LOADGEN_START_TIMEOUT_S)
        if not started.startswith("started"):
            raise RuntimeError("loadgen did not start: %r" % started)
        out["spread"] = started.split()[1:]
        time.sleep(FO_PRE_KILL_S)
        proc.send_signal(signal.SIGUSR1)  # the load's own mark, for --tail
        t_signal = time.monotonic()
        if how == "kill":
            c.kill9(leader)  # SIGKILL, then reaps it
        else:
            c.pause(leader)  # SIGSTOP
        t_gone = time.monotonic()
        out["new_leader"] = wait_new_leader(c, leader, FO_RUN_CAP_S)
        out["leader_seen_ms"] = (time.monotonic() - t_signal) * 1e3
        stdout, _ = proc.communicate(timeout=FO_RUN_CAP_S + LOADGEN_EXIT_SLACK_S)
        if proc.returncode != 0:
            raise RuntimeError("loadgen exited %d" % proc.returncode)
        r = parse_kv(stdout.strip().splitlines()[-1])
        out["load_expired"] = int(r["expired"])
        out["load_ops"] = int(r["ops"])
        acked = []
        first_after = None
        with open(acked_path) as f:
            for line in f:
                start_ns, end_ns, path = line.split()
                acked.append(path)
                if int(start_ns) > t_gone * 1e9:
                    end = int(end_ns) / 1e9
                    first_after = end if first_after is None else min(first_after, end)
        out["acked"] = len(acked)
        out["failover_ms"] = (first_after - t_signal) * 1e3 if first_after else None
        # Read back through a survivor after sync (etcd: a linearizable range): every
        # acknowledged create is there.
        survivors = [i for i in c.ids() if c.running(i) and not c.members[i].paused]
        if etcd:
            present = c.range_keys(survivors[0], prefix + "/")
        else:
            verifier = kazoo_client(",".join(c.host(i) for i in survivors), 30.0)
            verifier.sync(prefix)
            present = {prefix + "/" + name for name in verifier.get_children(prefix)}
        missing = [p for p in acked if p not in present]
        out["missing"] = len(missing)
        out["missing_sample"] = missing[:10]
        out["holders"] = len(holders)
        out["holder_failures"] = [e for e in (h.check(verifier) for h in holders) if e]
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for h in holders:
            h.close()
        if verifier is not None:
            close_client(verifier)
    # Bring the old leader back and let it catch up before the next round.
    t = time.monotonic()
    if how == "kill":
        c.start(leader)
    else:
        c.resume(leader)
    wait_rejoined(c, leader)
    out["rejoin_ms"] = (time.monotonic() - t) * 1e3
    return out


def failover(kind, build, rounds, kinds, outdir):
    res = {}
    with fresh_cluster(kind, build, "failover", outdir) as c:
        c.start()
        settle(c)
        for how in kinds:
            rows = []
            for rnd in range(1, rounds + 1):
                try:
                    row = failover_round(c, build, how, rnd, outdir)
                except Exception:
                    keep_logs(c, outdir, "%s-%s-%02d" % (kind, how, rnd))
                    log("%s %s round %d failed; server states %s; server logs kept in %s"
                        % (kind, how, rnd, server_states(c), outdir))
                    raise
                rows.append(row)
                bad = (row["failover_ms"] is None or row["missing"] or row["load_expired"]
                       or row["holder_failures"] or row["failover_ms"] > FO_SLOW_MS[how])
                with open(os.path.join(outdir, "rounds.jsonl"), "a") as f:
                    f.write(json.dumps(dict(row, kind=kind)) + "\n")
                log("%s %s round %d: leader server.%d -> server.%d, writes back after %s ms "
                    "(new leader seen after %.0f ms), %d acked, %d missing, %d load sessions "
                    "expired, holders %s, rejoined in %.0f ms"
                    % (kind, how, rnd, row["leader"], row["new_leader"],
                       "%.0f" % row["failover_ms"] if row["failover_ms"] else "NEVER",
                       row["leader_seen_ms"], row["acked"], row["missing"],
                       row["load_expired"],
                       row["holder_failures"] or ("ok" if row["holders"] else "none"),
                       row["rejoin_ms"]))
                tag = "%s-%s-%02d" % (kind, how, rnd)
                if bad:
                    keep_logs(c, outdir, tag)
                else:  # the evidence is kept for rounds that broke a check only
                    for suffix in (".acked", ".loadgen.log"):
                        os.remove(os.path.join(outdir, tag + suffix))
            times = [r["failover_ms"] for r in rows if r["failover_ms"] is not None]
            res[how] = {
                "leader_median_ms": median([r["leader_seen_ms"] for r in rows]),
                "median_ms": median(times) if len(times) == len(rows) else float("inf"),
                "max_ms": max(times) if len(times) == len(rows) else float("inf"),
                "all_ms": [r["failover_ms"] for r in rows],
                "leader_all_ms": [r["leader_seen_ms"] for r in rows],
                "acked": sum(r["acked"] for r in rows),
                "missing": sum(r["missing"] for r in rows),
                "load_expired": sum(r["load_expired"] for r in rows),
                "holders": sum(r["holders"] for r in rows),
                "holders_lost": sum(len(r["holder_failures"]) for r in rows),
            }
    return res


def server_states(c):
    """What became of each server process: running, paused, or its exit status (negative:
    the signal that ended it), and whether its directory still exists."""
    states = {}
    for i in c.ids():
        m = c.members[i]
        if m.process is None:
            state = "not started"
        else:
            rc = m.process.proc.poll()
            state = ("paused" if m.paused else "running") if rc is None else "exited %d" % rc
        states[i] = "pid %s %s%s" % (m.process.pid if m.process else "-", state,
                                     "" if os.path.isdir(m.dir) else ", its directory is gone")
    return states


def keep_logs(c, outdir, tag):
    dest = os.path.join(outdir, tag + "-logs")
    os.makedirs(dest, exist_ok=True)
    for i in c.ids():
        try:
            shutil.copy(c.members[i].log_path, os.path.join(dest, "server.%d.log" % i))
        except OSError:
            pass


# ---- the section ------------------------------------------------------------------------

PARTS = ("matrix", "restart", "failover")
FAILOVER_KINDS = ("kill", "stop")


def bench(names, build, args):
    """Runs the selected parts (args.parts) for each kind of server, with the disk's
    fdatasync latency measured before and after; returns (results, results dir)."""
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)  # dropped connections are the point
    outdir = tempfile.mkdtemp(prefix="synod-bench-cluster-")
    res = {"disk": {"before": disk.fdatasync_latency(outdir)}}
    log("fdatasync of 4 KiB: p50 %.0f µs, p99 %.0f µs" % (res["disk"]["before"]["p50_us"],
                                                        res["disk"]["before"]["p99_us"]))
    for kind in names:
        t = time.monotonic()
        r = {}
        if "matrix" in args.parts:
            log("%s: the workload matrix" % kind)
            r["matrix"] = matrix(kind, build, args, outdir)
        if "restart" in args.parts:
            log("%s: follower restart with %d nodes" % (kind, RESTART_NODES))
            r.update(restart_time(kind, build, outdir))
        if "failover" in args.parts:
            log("%s: failover, %d rounds each of %s" % (kind, args.rounds,
                                                        " and ".join(args.failover)))
            r["failover"] = failover(kind, build, args.rounds, args.failover, outdir)
        log("%s done in %.0fs" % (kind, time.monotonic() - t))
        res[kind] = r
    res["disk"]["after"] = disk.fdatasync_latency(outdir)
    return res, outdir


def _fmt_ms(v):
    return "never" if v == float("inf") else "%.0f" % v


def _finite(v):
    return isinstance(v, (int, float)) and v == v and v not in (float("inf"), float("-inf"))


def ratio(names, vals, better):
    """synod's value over the best of the others' ('high': the largest is best, 'low': the
    smallest), as text; empty where there is nothing to compare."""
    if better is None or "synod" not in names or len(names) < 2:
        return ""
    mine = vals[names.index("synod")]
    others = [v for n, v in zip(names, vals) if n != "synod" and _finite(v)]
    if not others or not _finite(mine):
        return ""
    best = max(others) if better == "high" else min(others)
    return "%.2f×" % (mine / best) if best else ""


MATRIX_METRICS = [  # (name, key, format, which is better)
    ("ops/s", "ops_per_s", "{:.0f}", "high"),
    ("p50 µs", "p50_us", "{:.0f}", "low"),
    ("p99 µs", "p99_us", "{:.0f}", "low"),
    ("p99.9 µs", "p999_us", "{:.0f}", "low"),
    ("server CPU µs/op (3 servers)", "server_cpu_us_per_op", "{:.1f}", "low"),
    ("loadgen CPU µs/op", "client_cpu_us_per_op", "{:.1f}", None),  # different generators
    ("errors", "errors", "{:.0f}", None),
]


def workload_title(label):
    return "write (set on %s keys)" % "{:,}".format(MX_KEYS) if label == "write" else label


def table(res, names, args):
    others = [n for n in names if n != "synod"]
    compare = "synod" in names and others
    rows = ["| measurement | metric | " + " | ".join(names)
            + (" | synod / better of %s" % " and ".join(others) if compare else "") + " |",
            "|" + "---|" * (len(names) + 2 + bool(compare))]

    def row(what, metric, vals, fmt, better=None):
        line = "| %s | %s | %s" % (what, metric, " | ".join(fmt(v) for v in vals))
        if compare:
            line += " | " + ratio(names, vals, better)
        rows.append(line + " |")

    d = res["disk"]
    row("disk: write 4 KiB + fdatasync", "p50 / p99 µs, before; after the section",
        ["%.0f / %.0f; %.0f / %.0f" % (d["before"]["p50_us"], d["before"]["p99_us"],
                                       d["after"]["p50_us"], d["after"]["p99_us"])]
        + [""] * (len(names) - 1), str)
    if "failover" in args.parts:
        for how in args.failover:
            what = "leader killed (kill -9)" if how == "kill" else "leader hung (SIGSTOP)"
            fo = [res[n]["failover"][how] for n in names]
            row(what, "writes back after, median ms", [f["median_ms"] for f in fo], _fmt_ms,
                "low")
            row(what, "max ms", [f["max_ms"] for f in fo], _fmt_ms, "low")
            row(what, "new leader seen after, median ms", [f["leader_median_ms"] for f in fo],
                _fmt_ms, "low")
            row(what, "acked creates lost", ["%d of %d" % (f["missing"], f["acked"])
                                             for f in fo], str)
            row(what, "sessions expired (load; ephemeral holders)",
                ["%d; %d of %d" % (f["load_expired"], f["holders_lost"], f["holders"])
                 if f["holders"] else "n/a" for f in fo], str)
    if "matrix" in args.parts:
        for label, op, shape, vs in matrix_cells(args):
            what = "%s, %d×%d, %d B" % (workload_title(label), shape[0], shape[1], vs)
            cells = [res[n]["matrix"][cell_key(label, shape, vs)] for n in names]
            for mname, key, fmt, better in MATRIX_METRICS:
                row(what, mname, [cell[key] for cell in cells], fmt.format, better)
    if "restart" in args.parts:
        row("follower restart, %s nodes × %d B" % ("{:,}".format(RESTART_NODES), VALUE_BYTES),
            "start to first read, ms (median of %d)" % RESTART_REPEATS,
            [res[n]["restart_ms"] for n in names], "{:.0f}".format, "low")
    return "\n".join(rows)


def details(res, names, args):
    """The per-round figures under the table."""
    lines = []
    for n in names:
        for how in args.failover if "failover" in args.parts else ():
            fo = res[n]["failover"][how]
            vals = ", ".join("%s (%.0f)" % (_fmt_ms(v) if v is not None else "never", ldr)
                             for v, ldr in zip(fo["all_ms"], fo["leader_all_ms"]))
            lines.append("- %s, %s: %s ms" % (n, "kill -9" if how == "kill" else "SIGSTOP",
                                               vals))
        if "restart" in args.parts:
            lines.append("- %s, follower restart: %s ms" % (
                n, ", ".join("%.0f" % v for v in res[n]["restart_all_ms"])))
    return "\n".join(lines)


def describe(args):
    return ("3 servers on 127.0.0.1, fsync on. Failover: %d rounds each, creates of %d B at "
            "%d/s over %d connections spread over the servers (ZooKeeper-protocol load "
            "sessions %d ms, etcd requests time out after %d ms); workloads: %s on %s keys, "
            "connections × outstanding %s spread over the servers, values of %s B, %g s per "
            "workload after %g s warm-up."
            % (args.rounds, VALUE_BYTES, FO_RATE, FO_CONNECTIONS, FO_SESSION_TIMEOUT_MS,
               FO_SESSION_TIMEOUT_MS * 2 // 3,
               ", ".join(label for label, op in MX_WORKLOADS if op in args.workloads),
               "{:,}".format(MX_KEYS), ", ".join("%d×%d" % sh for sh in args.shapes),
               " and ".join(str(v) for v in args.value_sizes), args.duration, args.warmup))


def plot_series(res, names, args):
    """What bench/plot.py draws: per value size, ops/s against connections, one panel per
    workload and one line per system."""
    series = []
    if "matrix" not in args.parts:
        return series
    for vs in args.value_sizes:
        panels = {}
        for label, op in MX_WORKLOADS:
            if op not in args.workloads:
                continue
            panels[workload_title(label)] = {
                n: [[sh[0], res[n]["matrix"][cell_key(label, sh, vs)]["ops_per_s"]]
                    for sh in sorted(args.shapes)] for n in names}
        series.append({"name": "throughput-%dB" % vs,
                       "title": "3 servers, values of %d B: throughput against connections "
                                "(connections × requests in flight on each: %s)"
                                % (vs, ", ".join("%d×%d" % sh for sh in args.shapes)),
                       "x": "connections", "y": "ops/s", "log_x": True, "panels": panels})
    return series
