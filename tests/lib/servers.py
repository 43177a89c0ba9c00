"""Start a ZooKeeper 3.8 or a synod server for the integration tests.

Both targets are driven through one interface (TestServer): a private temp dir holding
zoo.cfg, the data dir and the server log; start() launches the server in its own session
and waits until `ruok` answers `imok` and a session handshake succeeds; stop() kills exactly
that PID; destroy() also removes the temp dir (unless SYNOD_KEEP_TMP=1, for debugging).
The ZooKeeper-style zoo.cfg is the same for both, so the tests see the same timeouts and
whitelists:

- ZooKeeper: Debian's jars in /usr/share/java (zookeeper.jar's manifest Class-Path pulls in
  netty, jute, jackson, metrics ...; slf4j-log4j12 + log4j-1.2 provide logging). TTL nodes need
  -Dzookeeper.extendedTypesEnabled=true, fast container/TTL reaping needs
  -Dznode.container.checkIntervalMs, the super user needs the superDigest system property.
- synod: `$SYNOD_BIN serve -c zoo.cfg`. synod's own spellings of the three system properties
  above are written into zoo.cfg as keys (extendedTypesEnabled,
  znode.container.checkIntervalMs, superDigest). They go to synod's cfg only: ZooKeeper gets
  them as -D system properties, which is where it reads them.
"""

import os
import shutil
import tempfile
import time

import zkwire
from ports import free_port
from procs import ManagedProcess, four_letter, wait_ruok

TICK_TIME_MS = 2000
MIN_SESSION_TIMEOUT_MS = 1000
MAX_SESSION_TIMEOUT_MS = 30000
CONTAINER_CHECK_INTERVAL_MS = 1000
SUPER_USER = "super"
SUPER_PASSWORD = "test"
# base64(sha1("super:test")), the digest kazoo's own test-suite uses.
SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
START_TIMEOUT_S = 60.0
START_ATTEMPTS = 3

ZK_JARS = [
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/zookeeper-jute.jar",
    "/usr/share/java/slf4j-api.jar",
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
    # The AdminServer's Jetty servlets (the rest of Jetty comes with the manifest).
    "/usr/share/java/servlet-api.jar",
]

LOG4J_PROPERTIES = """\
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File={log}
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d %-5p [%t] %c{{1}} - %m%n
"""


def target_name():
    """The server the suite runs against: env SYNOD_TEST_TARGET, default zookeeper."""
    name = os.environ.get("SYNOD_TEST_TARGET", "zookeeper")
    if name not in ("zookeeper", "synod"):
        raise ValueError("SYNOD_TEST_TARGET must be zookeeper or synod, got %r" % name)
    return name


class OneServer:
    """What a single server answers where tests ask a topology for servers: itself."""

    def pick(self):
        return self

    def members(self):
        return [self]

    def rotated_hosts(self):
        return self.hosts


class TestServer(OneServer):
    """One standalone server in a private temp dir. Subclasses supply the command line."""

    kind = None

    def __init__(self, name="srv", cfg_overrides=None):
        self.cfg_overrides = dict(cfg_overrides or {})
        self.host = "127.0.0.1"
        self.port = None
        self.tick_time_ms = TICK_TIME_MS
        self.min_session_timeout_ms = MIN_SESSION_TIMEOUT_MS
        self.max_session_timeout_ms = MAX_SESSION_TIMEOUT_MS
        self.tmp_dir = tempfile.mkdtemp(prefix="itest-%s-%s-" % (self.kind, name))
        self.data_dir = os.path.join(self.tmp_dir, "data")
        os.mkdir(self.data_dir)
        self.cfg_path = os.path.join(self.tmp_dir, "zoo.cfg")
        self.log_path = os.path.join(self.tmp_dir, "server.log")
        self.process = None

    @property
    def hosts(self):
        return "%s:%d" % (self.host, self.port)

    def base_cfg(self):
        return {
            "tickTime": self.tick_time_ms,
            "dataDir": self.data_dir,
            "clientPort": self.port,
            "clientPortAddress": self.host,
            "minSessionTimeout": self.min_session_timeout_ms,
            "maxSessionTimeout": self.max_session_timeout_ms,
            "4lw.commands.whitelist": "*",
            "maxClientCnxns": 200,
            # Off unless a test turns it on with a free admin.serverPort: both servers
            # default to port 8080, which parallel suites would fight over.
            "admin.enableServer": "false",
        }

    def write_cfg(self, cfg):
        with open(self.cfg_path, "w") as f:
            for key, value in cfg.items():
                f.write("%s=%s\n" % (key, value))

    def command(self):
        raise NotImplementedError

    def start(self):
        """Start the server (picking a port on first start) and wait for `imok`.

        Keeps the port across restarts so reconnecting clients find it again."""
        first = self.port is None
        for _ in range(START_ATTEMPTS):
            if first:
                self.port = free_port()
            cfg = self.cfg()
            cfg.update(self.cfg_overrides)
            self.write_cfg(cfg)
            argv, env = self.command()
            self.process = ManagedProcess(argv, self.tmp_dir, self.log_path, env).start()
            if (wait_ruok(self.host, self.port, START_TIMEOUT_S, self.process.proc)
                    and self.wait_serving(START_TIMEOUT_S)):
                return self
            self.process.stop()
            self.process = None
            if not first:
                time.sleep(1.0)
        raise RuntimeError("%s did not answer ruok; log tail:\n%s" % (self.kind, self.log_tail()))

    def wait_serving(self, timeout_s):
        """ZooKeeper answers `ruok` before it serves sessions: wait until a handshake works
        (a session is created and closed again). Bounded in time and attempts."""
        deadline = time.monotonic() + timeout_s
        for _ in range(200):
            if time.monotonic() >= deadline or not self.process.running():
                return False
            if _handshake_works(self.host, self.port, self.min_session_timeout_ms * 2):
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        """Stop the server process (SIGTERM, then SIGKILL); keeps the data dir."""
        if self.process is not None:
            self.process.stop()
            self.process = None

    def kill9(self):
        if self.process is not None:
            self.process.kill9()
            self.process = None

    def restart(self):
        self.stop()
        return self.start()

    def destroy(self):
        """Stop and remove the temp dir (kept when SYNOD_KEEP_TMP=1)."""
        self.stop()
        if os.environ.get("SYNOD_KEEP_TMP") != "1":
            shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def four_letter(self, cmd, timeout_s=5.0):
        return four_letter(self.host, self.port, cmd, timeout_s)

    def log_tail(self, n_bytes=4000):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - n_bytes))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    # The topology interface (see "topologies" below): a standalone server is its own only
    # member, so tests and fixtures written against pick()/members() run on both topologies.
    modes = ("standalone",)  # srvr's Mode
    topology = "standalone"

    @property
    def work_dir(self):
        """The server process's working directory."""
        return self.tmp_dir


    def leader(self):
        return self

    def running(self):
        return self.process is not None and self.process.running()


class ZooKeeperServer(TestServer):
    kind = "zookeeper"

    def cfg(self):
        return self.base_cfg()

    def command(self):
        log4j = os.path.join(self.tmp_dir, "log4j.properties")
        with open(log4j, "w") as f:
            f.write(LOG4J_PROPERTIES.format(log=self.log_path))
        argv = [
            "java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.extendedTypesEnabled=true",
            "-Dznode.container.checkIntervalMs=%d" % CONTAINER_CHECK_INTERVAL_MS,
            "-Dzookeeper.DigestAuthenticationProvider.superDigest=%s" % SUPER_DIGEST,
            "-Dlog4j.configuration=file:%s" % log4j,
            "-cp", ":".join(ZK_JARS),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg_path,
        ]
        return argv, None


class SynodServer(TestServer):
    kind = "synod"

    def cfg(self):
        cfg = self.base_cfg()
        cfg["extendedTypesEnabled"] = "true"
        cfg["znode.container.checkIntervalMs"] = CONTAINER_CHECK_INTERVAL_MS
        cfg["superDigest"] = SUPER_DIGEST
        return cfg

    def command(self):
        binary = os.environ.get("SYNOD_BIN")
        if not binary:
            raise RuntimeError("SYNOD_TEST_TARGET=synod needs SYNOD_BIN=<path to synod>")
        return [binary, "serve", "-c", self.cfg_path], None


def make_server(name="srv", target=None, cfg_overrides=None):
    """A not-yet-started server of the selected target; cfg_overrides replace zoo.cfg keys."""
    target = target or target_name()
    cls = ZooKeeperServer if target == "zookeeper" else SynodServer
    return cls(name, cfg_overrides)


# ---- topologies: the suite against one server or against a cluster ----------------------
#
# SYNOD_TEST_TOPOLOGY=standalone (default) runs every test against one server, as above.
# SYNOD_TEST_TOPOLOGY=cluster runs them against a 3-server cluster of the same target
# (cluster.py): ClusterServer has the interface the fixtures use (start, stop, restart,
# destroy, hosts, running, log_tail, the session-timeout bounds) and spreads clients over
# its members: pick() names one member round-robin (for raw clients, proxies, 4lw), and
# rotated_hosts() is the connection string of every member starting at the next one (for
# kazoo clients, which then connect to that member first and fail over to the others).
# A standalone TestServer answers the same calls with itself, so a test written against
# pick()/members() runs unchanged on both topologies.

TOPOLOGIES = ("standalone", "cluster")
CLUSTER_SIZE = 3
# srvr's Mode of a serving cluster member (TestServer.modes: a standalone server's)
CLUSTER_MODES = ("leader", "follower")
# A synod cluster here waits 1-2 s without a heartbeat before an election (etcd's default),
# not synod's 200-400 ms: the suite checks what clients see of a healthy cluster, and on a
# loaded 2-core machine with sanitizer builds the default timing makes followers elect a new
# leader now and then, which closes connections with requests in flight (ConnectionLoss) in
# tests written for one server. tests/cluster keeps synod's defaults to test failover.
# ZooKeeper's ensemble here (tickTime 2000, syncLimit 5) tolerates 10 s.
SYNOD_CLUSTER_CFG = {"electionTimeoutMs": 1000}
SERVING_TIMEOUT_S = 60.0
APPLIED_TIMEOUT_S = 20.0
APPLIED_POLL_S = 0.02


def topology_name():
    """The topology the suite runs against: env SYNOD_TEST_TOPOLOGY, default standalone."""
    name = os.environ.get("SYNOD_TEST_TOPOLOGY", "standalone")
    if name not in TOPOLOGIES:
        raise ValueError("SYNOD_TEST_TOPOLOGY must be one of %s, got %r" % (TOPOLOGIES, name))
    return name


def _handshake_works(host, port, timeout_ms):
    """True if a session can be created (and is closed again) on host:port now."""
    c = None
    try:
        c = zkwire.RawClient(host, port, io_timeout_s=5.0)
        if c.connect(timeout_ms=timeout_ms).timeout_ms > 0:
            c.close_session()
            return True
    except (OSError, zkwire.ConnectionClosed, zkwire.DecodeError):
        pass
    finally:
        if c is not None:
            c.close()
    return False


def _file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def srvr_zxid(four_letter, timeout_s=2.0):
    """The last zxid a server has applied, from the Zxid line of its srvr; four_letter(cmd,
    timeout_s) asks that server. -1 if it does not answer."""
    try:
        reply = four_letter(b"srvr", timeout_s)
    except OSError:
        return -1
    for line in reply.splitlines():
        if line.startswith("Zxid:"):
            return int(line.split(":", 1)[1].strip(), 16)
    return -1


class ClusterMember(OneServer):
    """One member of a ClusterServer, seen as one server: host, port, hosts, four_letter,
    its data and working directories and the shared session-timeout bounds."""

    def __init__(self, owner, server_id):
        self.owner = owner
        self.server_id = server_id
        m = owner.cluster.members[server_id]
        self.host = "127.0.0.1"
        self.port = m.client_port
        self.data_dir = m.data_dir
        self.work_dir = m.dir
        self.kind = owner.kind
        self.modes = owner.modes
        self.topology = owner.topology
        self.tick_time_ms = owner.tick_time_ms
        self.min_session_timeout_ms = owner.min_session_timeout_ms
        self.max_session_timeout_ms = owner.max_session_timeout_ms

    @property
    def hosts(self):
        return "%s:%d" % (self.host, self.port)

    def four_letter(self, cmd, timeout_s=5.0):
        return four_letter(self.host, self.port, cmd, timeout_s)

    def running(self):
        return self.owner.cluster.running(self.server_id)

    def log_tail(self, n_bytes=4000):
        return self.owner.cluster.log_tail(self.server_id, n_bytes)


    def __repr__(self):
        return "<%s server.%d %s>" % (self.kind, self.server_id, self.hosts)


class ClusterServer:
    """A CLUSTER_SIZE-server cluster of one target behind the fixtures' server interface."""

    modes = CLUSTER_MODES
    topology = "cluster"

    def __init__(self, name="srv", target=None, cfg_overrides=None, size=CLUSTER_SIZE):
        self.kind = target or target_name()
        self.name = name
        self.size = size
        self.cfg_overrides = dict(SYNOD_CLUSTER_CFG) if self.kind == "synod" else {}
        self.cfg_overrides.update(cfg_overrides or {})
        self.tick_time_ms = TICK_TIME_MS
        self.min_session_timeout_ms = MIN_SESSION_TIMEOUT_MS
        self.max_session_timeout_ms = MAX_SESSION_TIMEOUT_MS
        self._next = 0
        self._started = False
        self._new_cluster()

    def _new_cluster(self):
        """A cluster with new ports and directories (not started)."""
        import cluster as cluster_lib  # cluster.py imports this module
        self.cluster = cluster_lib.make_cluster(self.size, target=self.kind,
                                                cfg_overrides=self.cfg_overrides,
                                                name=self.name)
        self.tmp_dir = self.cluster.tmp_dir
        self._members = [ClusterMember(self, i) for i in self.cluster.ids()]

    @property
    def hosts(self):
        return self.cluster.hosts()

    def members(self):
        return list(self._members)

    def pick(self):
        """The next member, round-robin over the pytest session."""
        m = self._members[self._next % len(self._members)]
        self._next += 1
        return m

    def leader(self):
        """The member that leads now (waits for one, bounded)."""
        leader_id = self.cluster.wait_leader()
        return next(m for m in self._members if m.server_id == leader_id)

    def rotated_hosts(self):
        """Every member's host:port, starting at the next member round-robin."""
        first = self.pick().server_id
        ids = self.cluster.ids()
        k = ids.index(first)
        return ",".join(self.cluster.host(i) for i in ids[k:] + ids[:k])

    def start(self):
        """Starts every member, waits for a leader and until every member accepts sessions.

        The first start retries with new ports (START_ATTEMPTS in all) when a server could
        not bind one: ports.free_port() only says a port was free a moment ago, and another
        process (any outgoing connection takes a port of the same range) may take it first.
        ZooKeeper then retries its election port for 3 s and exits, after the cluster has
        seemed to start; both servers log "address already in use". A restart keeps the
        ports (clients know them), so it does not retry."""
        for attempt in range(1 if self._started else START_ATTEMPTS):
            log_sizes = {m.server_id: _file_size(self.cluster.members[m.server_id].log_path)
                         for m in self._members}
            try:
                self.cluster.start()
                self.cluster.wait_leader()
                self._wait_serving()
                self._check_bound(log_sizes)
                self._started = True
                return self
            except (RuntimeError, AssertionError):
                if self._started or attempt + 1 == START_ATTEMPTS:
                    raise
                self.cluster.destroy()
                self._new_cluster()
        raise AssertionError("unreachable")

    def _wait_serving(self):
        deadline = time.monotonic() + SERVING_TIMEOUT_S
        for m in self._members:
            while not _handshake_works(m.host, m.port, self.min_session_timeout_ms * 2):
                if not m.running() or time.monotonic() >= deadline:
                    raise RuntimeError("%s cluster: server.%d does not serve sessions\n%s"
                                       % (self.kind, m.server_id, self.log_tail()))
                time.sleep(0.1)

    def _check_bound(self, log_sizes):
        """Raises RuntimeError if a member logged a port it could not bind since log_sizes."""
        for m in self._members:
            path = self.cluster.members[m.server_id].log_path
            with open(path, "rb") as f:
                f.seek(log_sizes[m.server_id])
                text = f.read().decode("utf-8", "replace")
            if "address already in use" in text.lower():
                raise RuntimeError("%s cluster: server.%d could not bind a port\n%s"
                                   % (self.kind, m.server_id, self.log_tail()))

    def stop(self):
        """Stops every member (SIGTERM, then SIGKILL); the data stays."""
        for i in self.cluster.ids():
            self.cluster.stop(i)

    def restart(self):
        """A clean restart of the whole cluster on the same ports and data."""
        self.stop()
        return self.start()

    def destroy(self):
        self.cluster.destroy()

    def running(self):
        return all(self.cluster.running(i) for i in self.cluster.ids())

    def log_tail(self, n_bytes=4000):
        return self.cluster.log_tails(n_bytes)

    def wait_applied(self, zxid, timeout_s=APPLIED_TIMEOUT_S):
        """Waits (bounded) until every member has applied `zxid`; raises AssertionError
        naming the laggards otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            behind = [m for m in self._members if srvr_zxid(m.four_letter) < zxid]
            if not behind:
                return
            if time.monotonic() >= deadline:
                raise AssertionError("%s cluster: %s did not apply zxid 0x%x within %.0fs"
                                     % (self.kind, behind, zxid, timeout_s))
            time.sleep(APPLIED_POLL_S)


def make_target_server(name="srv", target=None, cfg_overrides=None, topology=None):
    """A not-yet-started server of the selected target and topology (env
    SYNOD_TEST_TOPOLOGY): a TestServer, or a ClusterServer of CLUSTER_SIZE members."""
    if (topology or topology_name()) == "cluster":
        return ClusterServer(name, target, cfg_overrides)
    return make_server(name, target, cfg_overrides)
