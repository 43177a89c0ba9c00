"""Real clusters of synod or ZooKeeper 3.8 servers for tests and benchmarks.

SynodCluster(n) and ZooKeeperCluster(n) have one interface, so a test or a benchmark runs
against either. Like servers.TestServer, a cluster lives in a private temp dir:

    <tmp>/zoo.cfg          one file for every server: tickTime, the session timeouts of
                           servers.py, initLimit/syncLimit and one server.N line per server
                           with its client port (`;127.0.0.1:<port>`), so there is no
                           clientPort key; dataDir=data is relative
    <tmp>/sN/              server N's working directory, so its dataDir is sN/data
    <tmp>/sN/data/myid     N (ZooKeeper's way; synod is also given --id N)
    <tmp>/sN/server.log    its output

Servers are numbered like their server.N lines, from 1. A cluster is a serverset.ServerSet
(shared with the fault harness's nscluster.py). Each is started in its own
session by procs.ManagedProcess, which signals exactly the PID it started: kill9(i) SIGKILL,
stop(i) SIGTERM (then SIGKILL after a bound), pause(i) SIGSTOP, resume(i) SIGCONT,
restart(i). Ports come from ports.free_port() and stay the same across restarts.

leader() asks every running server `srvr` and returns the one whose Mode is leader (a
one-server cluster reports standalone); wait_leader() polls it, bounded in time and in
rounds. add_server() adds a server line for a new server (for membership tests) without
starting it. destroy() stops everything and removes the temp dir unless SYNOD_KEEP_TMP=1.
ZooKeeperOwnConfigCluster gives each ZooKeeper server its own copy of zoo.cfg instead, which
ZooKeeper needs with reconfigEnabled=true (it rewrites the file it reads).

Run by hand as a self-check (not part of ctest):
    /usr/bin/python3 tests/lib/cluster.py zookeeper
    SYNOD_BIN=build/src/server/synod /usr/bin/python3 tests/lib/cluster.py synod
"""

import os
import shutil
import sys
import tempfile
import time

import servers
from ports import free_port
from procs import ManagedProcess, four_letter
from serverset import (LEADER_TIMEOUT_S, POLL_INTERVAL_S, POLL_ROUNDS_MAX, ServerSet,
                       ensemble_cfg, write_myid, write_zoo_cfg)

HOST = "127.0.0.1"
# Bounds of every wait: a port to accept connections (a leader: serverset).
LISTEN_TIMEOUT_S = 60.0
FOUR_LETTER_TIMEOUT_S = 2.0
PORT_PICK_TRIES = 100


class Member:
    """One server of a cluster: its id, ports, directory and (when running) process."""

    def __init__(self, server_id, root, ports):
        self.server_id = server_id
        self.client_port, self.peer_port, self.election_port, self.admin_port = ports
        self.dir = os.path.join(root, "s%d" % server_id)
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.process = None
        self.paused = False
        self.joining = False  # added by add_server(): joins a running cluster

    def server_line(self):
        return "server.%d=%s:%d:%d;%s:%d" % (self.server_id, HOST, self.peer_port,
                                            self.election_port, HOST, self.client_port)


class Cluster(ServerSet):
    """n servers of one kind sharing one zoo.cfg. Subclasses supply the command line."""

    kind = None

    def __init__(self, n, cfg_overrides=None, name="cluster"):
        if n < 1:
            raise ValueError("a cluster has at least one server")
        self.cfg_overrides = dict(cfg_overrides or {})
        self.tmp_dir = tempfile.mkdtemp(prefix="cluster-%s-%s-" % (self.kind, name))
        self.cfg_path = os.path.join(self.tmp_dir, "zoo.cfg")
        self.members = {}
        self._ports_taken = set()
        for _ in range(n):
            self._new_member()
        self.write_cfg()

    # ---- configuration ----

    def _pick_port(self):
        for _ in range(PORT_PICK_TRIES):
            port = free_port()
            if port not in self._ports_taken:
                self._ports_taken.add(port)
                return port
        raise RuntimeError("no distinct free port after %d tries" % PORT_PICK_TRIES)

    def _new_member(self):
        server_id = max(self.members, default=0) + 1
        ports = (self._pick_port(), self._pick_port(), self._pick_port(), self._pick_port())
        m = Member(server_id, self.tmp_dir, ports)
        write_myid(m.data_dir, server_id)
        self.members[server_id] = m
        return m

    def base_cfg(self):
        cfg = ensemble_cfg()
        cfg["admin.enableServer"] = "false"
        return cfg

    def cfg(self):
        return self.base_cfg()

    def write_cfg(self):
        """(Re)writes zoo.cfg: the keys, then one server line per member in id order."""
        cfg = self.cfg()
        cfg.update(self.cfg_overrides)
        write_zoo_cfg(self.cfg_path, cfg, [self.members[i].server_line() for i in self.ids()])

    def add_server(self):
        """Adds a server line for a new server (ports, data dir, myid) and returns its id.

        It is not started. zoo.cfg is shared, so a server restarted afterwards reads the new
        line too; running servers keep the membership they started with."""
        self.pin_identity()
        m = self._new_member()
        m.joining = True
        self.write_cfg()
        return m.server_id

    def pin_identity(self):
        """Before the server list changes: keys that must stay as they were (none here)."""

    # ---- processes ----

    def command(self, member):
        """argv and env that start `member` (its working directory is member.dir)."""
        raise NotImplementedError

    def start(self, i=None):
        """Starts server i, or every server not running; waits until each accepts connections
        on its client port (bounded). Raises RuntimeError with the log tail if one exits."""
        targets = [i] if i is not None else [s for s in self.ids() if not self.running(s)]
        for server_id in targets:
            m = self.members[server_id]
            if self.running(server_id):
                continue
            argv, env = self.command(m)
            m.process = ManagedProcess(argv, m.dir, m.log_path, env).start()
            m.paused = False
        for server_id in targets:
            self._wait_listening(server_id)
        return self

    def _wait_listening(self, i):
        m = self.members[i]
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        for _ in range(POLL_ROUNDS_MAX):
            if not self.running(i):
                raise RuntimeError("%s server.%d exited at start-up; log tail:\n%s"
                                   % (self.kind, i, self.log_tail(i)))
            try:
                four_letter(HOST, m.client_port, "ruok", FOUR_LETTER_TIMEOUT_S)
                return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL_S)
        raise RuntimeError("%s server.%d does not listen on %d after %.0fs; log tail:\n%s"
                           % (self.kind, i, m.client_port, LISTEN_TIMEOUT_S, self.log_tail(i)))

    def restart(self, i):
        self.stop(i)
        return self.start(i)

    def destroy(self):
        """Stops every server and removes the temp dir (kept when SYNOD_KEEP_TMP=1)."""
        self.stop_all()
        if os.environ.get("SYNOD_KEEP_TMP") != "1":
            shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()
        return False

    # ---- clients and roles ----

    def host(self, i):
        return "%s:%d" % (HOST, self.members[i].client_port)

    def hosts(self):
        """The connection string of every server, in id order."""
        return ",".join(self.host(i) for i in self.ids())

    def four_letter(self, i, cmd, timeout_s=FOUR_LETTER_TIMEOUT_S):
        return four_letter(HOST, self.members[i].client_port, cmd, timeout_s)

    def mntr(self, i):
        """server i's mntr as a dict of str values."""
        out = {}
        for line in self.four_letter(i, "mntr").splitlines():
            key, _, value = line.partition("\t")
            out[key] = value
        return out

class SynodCluster(Cluster):
    kind = "synod"

    def cfg(self):
        cfg = self.base_cfg()
        cfg["extendedTypesEnabled"] = "true"
        cfg["znode.container.checkIntervalMs"] = servers.CONTAINER_CHECK_INTERVAL_MS
        cfg["superDigest"] = servers.SUPER_DIGEST
        return cfg

    def command(self, member):
        binary = os.environ.get("SYNOD_BIN")
        if not binary:
            raise RuntimeError("a synod cluster needs SYNOD_BIN=<path to synod>")
        # Its own admin port: the servers share zoo.cfg (used with admin.enableServer=true).
        argv = [os.path.abspath(binary), "serve", "-c", self.cfg_path,
                "--id", str(member.server_id), "--admin-port", str(member.admin_port)]
        return argv + (["--join"] if member.joining else []), None

    def pin_identity(self):
        """synod derives its cluster id from the server lines unless clusterId is set, so a
        joining server must be told the running cluster's id (README, docs/cluster.md):
        written into the shared zoo.cfg before its new line, as an operator would."""
        if "clusterId" in self.cfg_overrides:
            return
        for i in self.ids():
            if not self.running(i) or self.members[i].paused:
                continue
            for line in self.four_letter(i, "conf").splitlines():
                if line.startswith("clusterId="):
                    self.cfg_overrides["clusterId"] = line.split("=", 1)[1].strip()
                    return
        raise RuntimeError("no running server tells the cluster id")


class ZooKeeperCluster(Cluster):
    kind = "zookeeper"

    def command(self, member):
        log4j = os.path.join(member.dir, "log4j.properties")
        with open(log4j, "w") as f:
            f.write(servers.LOG4J_PROPERTIES.format(log=member.log_path))
        argv = [
            "java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.extendedTypesEnabled=true",
            "-Dznode.container.checkIntervalMs=%d" % servers.CONTAINER_CHECK_INTERVAL_MS,
            "-Dzookeeper.DigestAuthenticationProvider.superDigest=%s" % servers.SUPER_DIGEST,
            # Its own admin port (used with admin.enableServer=true), as synod's --admin-port:
            # the servers share zoo.cfg, and ZooKeeper reads the port from this property.
            "-Dzookeeper.admin.serverPort=%d" % member.admin_port,
            "-Dlog4j.configuration=file:%s" % log4j,
            "-cp", ":".join(servers.ZK_JARS),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg_path,
        ]
        return argv, None


class ZooKeeperOwnConfigCluster(ZooKeeperCluster):
    """ZooKeeper servers that each read their own copy of zoo.cfg, <tmp>/sN/zoo.cfg, written
    from the cluster's keys and server lines as the server starts; for reconfigEnabled=true.

    ZooKeeper then rewrites the file it was started with: at start-up (zoo.cfg.bak, a
    zoo.cfg.dynamic.<version> file next to it, dynamicConfigFile=) and whenever it learns a
    new membership. Servers sharing one zoo.cfg race on that: one fails to rename the .bak
    another just renamed and exits, or a server added by add_server() reads a file that a
    running server rewrote without the new line, and exits because it is not listed."""

    def command(self, member):
        argv, env = super().command(member)
        own = os.path.join(member.dir, "zoo.cfg")
        shared, self.cfg_path = self.cfg_path, own
        try:
            self.write_cfg()
        finally:
            self.cfg_path = shared
        argv[argv.index(shared)] = own
        return argv, env


def make_cluster(n, target=None, cfg_overrides=None, name="cluster"):
    """A not-yet-started cluster of the selected target (env SYNOD_TEST_TARGET by default)."""
    target = target or servers.target_name()
    if target != "zookeeper":
        cls = SynodCluster
    elif str((cfg_overrides or {}).get("reconfigEnabled", "false")).lower() == "true":
        cls = ZooKeeperOwnConfigCluster  # ZooKeeper rewrites the zoo.cfg it reads
    else:
        cls = ZooKeeperCluster
    return cls(n, cfg_overrides, name)


# ---- self-check, run by hand (see the module docstring) ----

def _check(condition, what):
    if not condition:
        raise AssertionError("self-check failed: %s" % what)
    print("ok   %s" % what)


def _pid_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _process_state(pid):
    """The state letter of /proc/<pid>/stat (R, S, T = stopped ...)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def _wait_mode(c, i, want, timeout_s=LEADER_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    for _ in range(POLL_ROUNDS_MAX):
        if c.mode(i) == want or time.monotonic() >= deadline:
            break
        time.sleep(POLL_INTERVAL_S)
    return c.mode(i)


def _check_layout(c, n):
    with open(c.cfg_path) as f:
        lines = f.read().splitlines()
    server_lines = [line for line in lines if line.startswith("server.")]
    _check(server_lines == [c.members[i].server_line() for i in range(1, n + 1)],
           "zoo.cfg has server.1..%d with their client ports: %s" % (n, server_lines))
    _check(not any(line.startswith("clientPort=") for line in lines), "zoo.cfg has no clientPort")
    for i in c.ids():
        with open(os.path.join(c.members[i].data_dir, "myid")) as f:
            _check(f.read() == "%d\n" % i, "s%d/data/myid holds %d" % (i, i))
    ports = [p for m in c.members.values() for p in (m.client_port, m.peer_port, m.election_port)]
    _check(len(set(ports)) == len(ports), "%d distinct ports" % len(ports))


def _check_signals(c, victim, other):
    """kill9/pause/resume/stop/restart reach exactly the PID they name."""
    pid, other_pid = c.pid(victim), c.pid(other)
    c.pause(other)
    try:
        c.four_letter(other, "srvr", timeout_s=1.0)
        answered = True
    except OSError:
        answered = False
    _check(_process_state(other_pid) == "T" and not answered,
           "paused server.%d (pid %d) is stopped and answers nothing" % (other, other_pid))
    c.resume(other)
    _check(_process_state(other_pid) != "T" and c.mode(other) is not None,
           "resumed server.%d answers again" % other)
    c.kill9(victim)
    _check(_pid_gone(pid) and c.running(other) and not _pid_gone(other_pid),
           "kill9(%d) killed pid %d only" % (victim, pid))
    c.start(victim)
    _check(c.pid(victim) != pid and c.running(victim), "server.%d restarted as pid %d on %s"
           % (victim, c.pid(victim), c.host(victim)))


def self_check_zookeeper():
    import logging

    from kazoo.client import KazooClient

    # kazoo logs every dropped connection; the kills below drop them on purpose
    logging.getLogger("kazoo").setLevel(logging.ERROR)

    started = time.monotonic()
    c = ZooKeeperCluster(3, name="selfcheck")
    clients = []

    def client(i):
        zk = KazooClient(hosts=c.host(i), timeout=10.0)
        zk.start(timeout=30.0)
        clients.append(zk)
        return zk

    try:
        _check_layout(c, 3)
        c.start()
        leader = c.wait_leader()
        _check(True, "leader elected: server.%d after %.1fs, modes %s"
               % (leader, time.monotonic() - started, c.modes()))
        followers = [i for i in c.ids() if i != leader]
        zk_a, zk_b = client(followers[0]), client(followers[1])
        zk_a.create("/selfcheck", b"v1")
        zk_b.sync("/selfcheck")
        _check(zk_b.get("/selfcheck")[0] == b"v1",
               "written through server.%d, read through server.%d" % tuple(followers))
        old_pid = c.pid(leader)
        c.kill9(leader)
        _check(_pid_gone(old_pid), "kill9 of leader server.%d (pid %d)" % (leader, old_pid))
        t = time.monotonic()
        new_leader = c.wait_leader(exclude=leader)
        _check(new_leader in followers, "new leader server.%d after %.1fs, modes %s"
               % (new_leader, time.monotonic() - t, c.modes()))
        zk_a.set("/selfcheck", b"v2")
        zk_b.sync("/selfcheck")
        _check(zk_b.get("/selfcheck")[0] == b"v2", "write and read after the failover")
        c.start(leader)
        _check(_wait_mode(c, leader, "follower") == "follower",
               "old leader server.%d rejoined as a follower" % leader)
        zk_c = client(leader)
        zk_c.sync("/selfcheck")
        _check(zk_c.get("/selfcheck")[0] == b"v2", "the rejoined server has the write")
        other = [i for i in followers if i != new_leader][0]
        _check_signals(c, other, new_leader)
        _check(c.wait_leader() == new_leader, "leader unchanged: server.%d" % new_leader)
    finally:
        for zk in clients:
            zk.stop()
            zk.close()
        pids = [c.pid(i) for i in c.ids() if c.pid(i)]
        c.destroy()
    _check(all(_pid_gone(p) for p in pids), "destroy stopped pids %s" % pids)
    _check(os.path.exists(c.tmp_dir) == (os.environ.get("SYNOD_KEEP_TMP") == "1"),
           "destroy removed %s" % c.tmp_dir)


def self_check_synod():
    """What holds before servers form a cluster: files, processes, signals, conf."""
    c = SynodCluster(3, name="selfcheck")
    try:
        _check_layout(c, 3)
        c.start()
        for i in c.ids():
            conf = c.four_letter(i, "conf")
            _check("serverId=%d\n" % i in conf and
                   all("%s\n" % c.members[j].server_line().replace(
                       ";", ":participant;", 1) in conf for j in c.ids()),
                   "server.%d: conf shows serverId=%d and the three server lines" % (i, i))
        print("     modes: %s" % c.modes())
        _check_signals(c, 2, 1)
        c.stop(3)
        _check(not c.running(3), "stop(3) stopped server.3")
        c.restart(3)
        _check(c.running(3), "restart(3) brought it back on %s" % c.host(3))
        new_id = c.add_server()
        _check(new_id == 4 and c.members[4].server_line() in open(c.cfg_path).read(),
               "add_server() wrote server.4 to zoo.cfg")
        c.start(4)
        _check("server.4=" in c.four_letter(4, "conf"), "server.4 starts and sees 4 servers")
    finally:
        pids = [c.pid(i) for i in c.ids() if c.pid(i)]
        c.destroy()
    _check(all(_pid_gone(p) for p in pids), "destroy stopped pids %s" % pids)


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "zookeeper"
    {"zookeeper": self_check_zookeeper, "synod": self_check_synod}[which]()
    print("self-check passed (%s)" % which)
