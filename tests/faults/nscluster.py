"""A synod cluster whose servers each run in their own network namespace (netns.Network).

A serverset.ServerSet, like the test suites' clusters (tests/lib/cluster.py): the same
zoo.cfg keys, myid files, process signals and leader queries.

    <dir>/zoo.cfg        shared by every server: the suite's keys, electionTimeoutMs=1000,
                         and server.N=198.18.0.N:PEER_PORT:ELECTION_PORT;198.18.0.N:CLIENT_PORT
    <dir>/sN/data/myid   N
    <dir>/sN/server.log  server N's output over all its lives (restarts append)

Each server's data directory is its own tmpfs (disk_bytes, diskfull.py), mounted before the
first start and kept across kills and restarts, so the disk-full fault fills exactly one
server's disk. release_disks() copies the contents onto the run directory and unmounts them;
a later harness unmounts those of a harness that died (kill -9) by their source name,
`synf<harness pid>-sN`, as netns.py does with namespaces.

Every server runs with SYNOD_TEST_CLOCK_FILE=<dir>/sN/clock, the server's test clock hook
(src/net/clock.c): clock_jump / clock_rate write it to make that server's clocks jump or drift.

Every server is started as `ip netns exec <ns of N> synod serve -c zoo.cfg --id N` by
procs.ManagedProcess: `ip netns exec` execs synod in place, so the PID recorded is synod's,
and kill9 / pause / resume / stop signal exactly that PID. The harness asks servers `srvr`
from the client namespace (netns.Network.inside), never through a namespace of its own.

An exit the harness did not cause (a crash, an assertion, a sanitizer report) is noticed by
unexpected_exits(), which the runner polls; sanitizer_reports() scans the logs at the end.
"""

import os
import shutil
import signal
import subprocess
import time

import diskfull
import netns
import servers
from procs import ManagedProcess, four_letter_on
from serverset import ServerSet, ensemble_cfg, write_myid, write_zoo_cfg

CLIENT_PORT = 2181
PEER_PORT = 2888
ELECTION_PORT = 3888
# The suite's value (tests/lib/servers.py): ASan builds on a loaded 2-core machine stall
# the loop past the 200 ms default and start needless elections.
ELECTION_TIMEOUT_MS = 1000
FOUR_LETTER_TIMEOUT_S = 1.0
POLL_S = 0.2
# The synod CLI's runs (member-remove): each bounded, and the wait for a change to show.
CLI_TIMEOUT_S = 20.0
CLI_CONNECT_MS = 5000
MEMBERSHIP_WAIT_S = 20.0
# Each server's tmpfs: room for the WAL segments (64 MiB each) and snapshots of an hour's run;
# tmpfs takes memory only for what is written (and a fill for as long as it lasts).
DISK_BYTES_DEFAULT = 512 * 1024 * 1024
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer", ": assertion failed: ")


class Server:
    def __init__(self, server_id, root, addr):
        self.id = server_id
        self.addr = addr
        self.dir = os.path.join(root, "s%d" % server_id)
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.process = None
        self.paused = False
        self.lives = 0
        # The server's test clock (SYNOD_TEST_CLOCK_FILE): what the harness last wrote,
        # and since when the rate holds (to take its drift back when it ends).
        self.clock_path = os.path.join(self.dir, "clock")
        self.clock_offset_ms = 0
        self.clock_rate = 1.0
        self.clock_rate_since = 0.0
        # Membership (the member-remove fault): removed from the cluster (and stopped), and
        # whether it must start with --join (it joined again with an empty data directory).
        self.removed = False
        self.join = False

    def line(self):
        return "server.%d=%s:%d:%d;%s:%d" % (self.id, self.addr, PEER_PORT, ELECTION_PORT,
                                            self.addr, CLIENT_PORT)


class NetnsCluster(ServerSet):
    def __init__(self, net, binary, root, cfg_overrides=None, log=print, env=None,
                 disk_bytes=DISK_BYTES_DEFAULT):
        self.net = net
        self.env = dict(env or {})  # added to every server's environment (planted bugs)
        self.binary = os.path.abspath(binary)
        self.root = root
        self.log = log
        self.cfg_path = os.path.join(root, "zoo.cfg")
        self.members = {i: Server(i, root, net.server_addr(i)) for i in net.ids()}
        self.exits = []  # (time, id, returncode) of exits the harness did not cause
        cfg = ensemble_cfg()
        cfg.update({
            "electionTimeoutMs": ELECTION_TIMEOUT_MS,
            # member-remove: reconfig by the super user (synod members remove / add)
            "reconfigEnabled": "true",
            "superDigest": servers.SUPER_DIGEST,
        })
        cfg.update(cfg_overrides or {})
        self.disks = []  # data directories with a tmpfs mounted on them
        clean_stale_disks(log)
        for s in self.members.values():
            os.makedirs(s.data_dir, exist_ok=True)
            if disk_bytes:
                try:
                    diskfull.mount_tmpfs(s.data_dir, disk_bytes, "%s%d-s%d"
                                         % (netns.PREFIX, os.getpid(), s.id))
                except Exception:
                    self.release_disks()
                    raise
                self.disks.append(s.data_dir)
            write_myid(s.data_dir, s.id)
        write_zoo_cfg(self.cfg_path, cfg, [self.members[i].line() for i in self.ids()])

    def hosts(self):
        return ",".join("%s:%d" % (s.addr, CLIENT_PORT) for s in self.members.values())

    # ---- processes ----

    def start(self, i=None):
        """Starts server i (or every server that is not running); does not wait: a server
        restarted inside a partition may not serve for a long time."""
        for sid in ([i] if i is not None else self.ids()):
            s = self.members[sid]
            if self.running(sid) or s.removed:
                continue
            argv = self.net.exec_argv(self.net.server_ns(sid),
                                      [self.binary, "serve", "-c", self.cfg_path, "--id",
                                       str(sid)] + (["--join"] if s.join else []))
            run_env = dict(os.environ)
            run_env.update(self.env)
            run_env["SYNOD_TEST_CLOCK_FILE"] = s.clock_path
            with open(s.log_path, "a") as f:
                f.write("==== harness: start (life %d) at monotonic %.3f ====\n"
                        % (s.lives + 1, time.monotonic()))
            s.process = ManagedProcess(argv, s.dir, s.log_path, run_env).start()
            s.paused = False
            s.lives += 1

    def kill9_all(self):
        """SIGKILL every running server before reaping any, so none outlives the others by
        more than the few microseconds between two kill(2) calls."""
        live = [s for s in self.members.values() if s.process is not None and
                s.process.running()]
        for s in live:
            os.kill(s.process.pid, signal.SIGKILL)
        for sid in self.ids():
            self.kill9(sid)

    def unexpected_exits(self):
        """Servers that exited although the harness neither killed nor stopped them:
        recorded in self.exits and returned; their process slot is cleared so the caller
        may restart them."""
        found = []
        for sid, s in self.members.items():
            if s.process is not None and not s.process.running():
                rc = s.process.proc.returncode
                s.process.proc = None
                s.process = None
                s.paused = False
                found.append((time.monotonic(), sid, rc))
        self.exits.extend(found)
        return found

    # ---- membership ----

    def cli(self, args, timeout_s=CLI_TIMEOUT_S):
        """Runs `synod <args>` (the client side of the same binary) as the super user in the
        client namespace: (exit code, output); exit code None on timeout."""
        argv = self.net.exec_argv(self.net.client_ns, [
            self.binary, "--server", self.hosts(), "--connect-timeout", str(CLI_CONNECT_MS)]
            + list(args))
        env = dict(os.environ)
        env["SYNOD_AUTH"] = "digest:%s:%s" % (servers.SUPER_USER, servers.SUPER_PASSWORD)
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            return None, "timed out after %.0f s" % timeout_s
        return p.returncode, p.stdout

    def listed_members(self):
        """The ids /zookeeper/config lists (as one server answers), or None if unknown."""
        rc, out = self.cli(["get", "/zookeeper/config"])
        if rc != 0:
            return None
        return {int(line.split("=", 1)[0][len("server."):]) for line in out.splitlines()
                if line.startswith("server.")}

    def _wait_membership(self, i, listed, timeout_s):
        """Polls until server i is (listed) or is not listed; bounded by timeout_s."""
        deadline = time.monotonic() + timeout_s
        for _ in range(int(timeout_s / POLL_S) + 1):
            members = self.listed_members()
            if members is not None and (i in members) == listed:
                return True
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_S)
        return False

    def remove_member(self, i):
        """Removes server i from the cluster (one reconfig) and stops it. Returns what
        happened; the server stays a member (and running) when the cluster refused."""
        rc, out = self.cli(["members", "remove", str(i)])
        if not self._wait_membership(i, False, MEMBERSHIP_WAIT_S):
            return "remove refused or undecided (exit %s: %s)" % (
                rc, " ".join(out.split())[-160:])
        s = self.members[i]
        self.kill9(i)
        s.removed = True
        return "removed (exit %s) and stopped" % rc

    def add_member(self, i):
        """Brings a removed server back: empty data directory, started with --join, added
        with one reconfig (retried, bounded). Returns what happened."""
        s = self.members[i]
        if not s.removed:
            return "not removed"
        for name in os.listdir(s.data_dir):
            if name != "myid":
                path = os.path.join(s.data_dir, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        s.removed = False
        s.join = True
        self.start(i)
        line = "%d=%s:%d:%d;%s:%d" % (i, s.addr, PEER_PORT, ELECTION_PORT, s.addr, CLIENT_PORT)
        deadline = time.monotonic() + MEMBERSHIP_WAIT_S
        attempts = 0
        # Bounded by MEMBERSHIP_WAIT_S: a partition or a lost leader may refuse it for a while.
        while time.monotonic() < deadline:
            attempts += 1
            rc, out = self.cli(["members", "add", line])
            if self._wait_membership(i, True, POLL_S * 5):
                return "added back (%d attempts)" % attempts
        self.kill9(i)  # not a member: stopped again, to be added back later (heal_all)
        s.removed = True
        return "NOT added back within %.0f s: %s" % (MEMBERSHIP_WAIT_S, " ".join(out.split())[-160:])

    # ---- clocks ----

    def _write_clock(self, s):
        tmp = s.clock_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d %.3f\n" % (s.clock_offset_ms, s.clock_rate))
        os.replace(tmp, s.clock_path)  # the server never reads half a file

    def clock_jump(self, i, ms):
        """Server i's clocks jump by ms (negative: back; its monotonic clock then stands
        still until real time catches up)."""
        s = self.members[i]
        s.clock_offset_ms += int(ms)
        self._write_clock(s)

    def clock_rate(self, i, rate):
        """Server i's clocks run at rate from now on; the drift of the previous rate is
        taken back first (an NTP step), so a drift's end leaves the clock about right."""
        s = self.members[i]
        now = time.monotonic()
        if s.clock_rate != 1.0:
            s.clock_offset_ms -= int(round((now - s.clock_rate_since) * (s.clock_rate - 1.0)
                                           * 1000.0))
        s.clock_rate = rate
        s.clock_rate_since = now
        self._write_clock(s)

    def clock_reset(self, i):
        """Back to the real rate. (The offset is left: each jump is undone by its fault, and
        what remains takes back the drift of earlier rates.)"""
        if self.members[i].clock_rate != 1.0:
            self.clock_rate(i, 1.0)

    # ---- disks ----

    def fill_disk(self, i):
        """Fills server i's file system; returns the bytes written."""
        assert self.members[i].data_dir in self.disks, "server %d has no disk of its own" % i
        return diskfull.fill(self.members[i].data_dir, DISK_BYTES_DEFAULT * 2)

    def free_disk(self, i):
        return diskfull.free(self.members[i].data_dir)

    def release_disks(self):
        """After stop_all: each tmpfs's contents copied into the run directory (as if the data
        had been there all along), then unmounted. Idempotent."""
        while self.disks:
            path = self.disks.pop()
            diskfull.free(path)
            saved = path + ".saved"
            try:
                shutil.copytree(path, saved, symlinks=True)
            finally:
                diskfull.umount(path)
            shutil.rmtree(path, ignore_errors=True)
            os.rename(saved, path)

    # ---- asking servers ----

    def four_letter(self, i, cmd, timeout_s=FOUR_LETTER_TIMEOUT_S):
        s = self.members[i]
        return four_letter_on(self.net.connect(self.net.client_ns, s.addr, CLIENT_PORT,
                                               timeout_s), cmd, timeout_s)

    def sanitizer_reports(self):
        """(server id, first matching line) for every log holding a sanitizer or assertion
        report."""
        found = []
        for sid, s in self.members.items():
            try:
                with open(s.log_path, errors="replace") as f:
                    for line in f:
                        if any(m in line for m in SANITIZER_MARKERS):
                            found.append((sid, line.strip()))
                            break
            except OSError:
                pass
        return found


def clean_stale_disks(log=print):
    """Unmounts the data disks of harnesses whose PID is gone (killed with -9, say)."""
    removed = []
    for source, path in diskfull.mounts_with_source(netns.PREFIX):
        m = netns.NAME_RE.match(source)
        if m and not netns.pid_alive(int(m.group(1))):
            diskfull.umount(path)
            removed.append(path)
    if removed:
        log("nscluster: unmounted %d data disks of dead harnesses: %s"
            % (len(removed), " ".join(removed)))
    return removed
