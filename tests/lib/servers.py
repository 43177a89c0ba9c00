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


class TestServer:
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
            c = None
            try:
                c = zkwire.RawClient(self.host, self.port, io_timeout_s=5.0)
                if c.connect(timeout_ms=self.min_session_timeout_ms * 2).timeout_ms > 0:
                    c.close_session()
                    return True
            except (OSError, zkwire.ConnectionClosed, zkwire.DecodeError):
                pass
            finally:
                if c is not None:
                    c.close()
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


class ZooKeeperServer(TestServer):
    kind = "zookeeper"

    def cfg(self):
        cfg = self.base_cfg()
        cfg["admin.enableServer"] = "false"
        return cfg

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
