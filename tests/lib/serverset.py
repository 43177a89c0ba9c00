"""What every set of server processes in the tests shares: the ensemble's zoo.cfg, the data
directories with their myid, signalling exactly the PIDs started, and asking the servers
who leads. cluster.Cluster (servers on 127.0.0.1) and the fault harness's
nscluster.NetnsCluster (servers in network namespaces) are both a ServerSet.

A subclass gives `members` (server id -> an object with `process`, a procs.ManagedProcess or
None, `paused` and `log_path`) and four_letter(i, cmd), which raises OSError when server i
does not answer.
"""

import os
import signal
import time

import servers

# ZooKeeper needs initLimit/syncLimit in an ensemble (in ticks); these are its sample's.
INIT_LIMIT_TICKS = 10
SYNC_LIMIT_TICKS = 5
LEADER_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.2
POLL_ROUNDS_MAX = 2000
LOG_TAIL_BYTES = 3000


def ensemble_cfg():
    """The zoo.cfg keys every test ensemble starts from (dataDir is relative: each server
    runs in its own directory, sN/, so its data is sN/data)."""
    return {
        "tickTime": servers.TICK_TIME_MS,
        "initLimit": INIT_LIMIT_TICKS,
        "syncLimit": SYNC_LIMIT_TICKS,
        "dataDir": "data",
        "minSessionTimeout": servers.MIN_SESSION_TIMEOUT_MS,
        "maxSessionTimeout": servers.MAX_SESSION_TIMEOUT_MS,
        "4lw.commands.whitelist": "*",
        "maxClientCnxns": 200,
    }


def write_zoo_cfg(path, cfg, server_lines):
    """The keys of cfg, then the server.N lines."""
    with open(path, "w") as f:
        for key, value in cfg.items():
            f.write("%s=%s\n" % (key, value))
        for line in server_lines:
            f.write(line + "\n")


def write_myid(data_dir, server_id):
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, "myid"), "w") as f:
        f.write("%d\n" % server_id)


class ServerSet:
    kind = "synod"

    def ids(self):
        return sorted(self.members)

    def running(self, i):
        m = self.members[i]
        return m.process is not None and m.process.running()

    def pid(self, i):
        m = self.members[i]
        return m.process.pid if m.process is not None else None

    def stop(self, i):
        """SIGTERM server i (SIGKILL after procs.STOP_TERM_WAIT_S); its data stays."""
        m = self.members[i]
        if m.process is None:
            return
        if m.paused:
            self.resume(i)  # a stopped process would not act on SIGTERM
        m.process.stop()
        m.process = None

    def kill9(self, i):
        """SIGKILL server i (paused or not) and reap it."""
        m = self.members[i]
        if m.process is None:
            return
        m.process.kill9()
        m.process = None
        m.paused = False

    def pause(self, i):
        """SIGSTOP server i: it keeps its sockets but answers nothing (a hung server)."""
        m = self.members[i]
        if m.process is not None and not m.paused:
            m.process.signal(signal.SIGSTOP)
            m.paused = True

    def resume(self, i):
        m = self.members[i]
        if m.process is not None and m.paused:
            m.process.signal(signal.SIGCONT)
            m.paused = False

    def stop_all(self):
        """Stops every server; SIGKILL for one that does not stop."""
        for i in self.ids():
            try:
                self.stop(i)
            except Exception:  # keep stopping the others; kill9 as the last resort
                self.kill9(i)

    def four_letter(self, i, cmd, timeout_s=None):
        raise NotImplementedError

    def mode(self, i):
        """`Mode:` from server i's srvr (leader, follower, observer, standalone), or None if it
        is not running, paused, not serving or does not answer in time."""
        if not self.running(i) or self.members[i].paused:
            return None
        try:
            reply = self.four_letter(i, "srvr")
        except OSError:
            return None
        for line in reply.splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    def modes(self):
        return {i: self.mode(i) for i in self.ids()}

    def leader(self):
        """The id of the one server whose Mode is leader (standalone in a one-server set);
        None if there is none or more than one claims it."""
        claims = [i for i, mode in self.modes().items()
                  if mode == "leader" or (mode == "standalone" and len(self.members) == 1)]
        return claims[0] if len(claims) == 1 else None

    def wait_leader(self, timeout_s=LEADER_TIMEOUT_S, exclude=None):
        """Polls leader() until a server other than `exclude` leads; returns its id. Raises
        AssertionError with the modes and log tails after timeout_s."""
        deadline = time.monotonic() + timeout_s
        for _ in range(POLL_ROUNDS_MAX):
            leader = self.leader()
            if leader is not None and leader != exclude:
                return leader
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL_S)
        raise AssertionError("%s cluster: no leader%s after %.0fs; modes %s\n%s"
                             % (self.kind, "" if exclude is None else " other than %d" % exclude,
                                timeout_s, self.modes(), self.log_tails()))

    def log_tail(self, i, n_bytes=LOG_TAIL_BYTES):
        try:
            with open(self.members[i].log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - n_bytes))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def log_tails(self, n_bytes=LOG_TAIL_BYTES):
        """Every server's log tail, for failure messages."""
        return "\n".join("---- server.%d (%s) ----\n%s" % (i, self.members[i].log_path,
                                                          self.log_tail(i, n_bytes))
                         for i in self.ids())
