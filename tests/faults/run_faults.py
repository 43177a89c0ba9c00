#!/usr/bin/python3
"""The fault harness: 5 synod servers in network namespaces, client processes recording
every operation, a seeded schedule of faults, and a linearizability check of what clients
saw. `make faults DURATION=s [SEED=n]` runs it on the release build; the ctest
faults_cluster_short runs a short mix with every fault kind on the ASan build.

    /usr/bin/python3 tests/faults/run_faults.py --bin build/src/server/synod --duration 120
        [--seed N] [--workers 5] [--keys 3] [--dir DIR] [--keep] [--kinds a,b,...]
        [--profile short] [--no-every-kind] [--cfg key=value ...] [--server-env K=V ...]

A run:
1. builds the network (netns.py) — and fails, saying why, when it cannot;
2. starts the cluster (nscluster.py) and waits for a leader; creates the registers;
3. starts the workers (worker.py) in the client namespace;
4. runs the schedule (nemesis.py): a fault, held, undone, a quiet gap, ...; a server that
   exits without being told to is recorded and restarted;
5. heals everything and lets the workers run on for TAIL_S, so recovery shows in the
   history; stops the workers and the servers (by PID), removes the network;
6. merges the histories into <dir>/history.jsonl, checks each register
   (linearize.py), scans the server logs for sanitizer reports, and prints the summary.
   Its last line is `anomalies: N`; the exit status is 1 when N > 0, 2 when the harness
   itself could not run. <dir> (history, nemesis log, each server's log and data) is kept
   when N > 0 or with --keep, and removed otherwise.

Anomalies counted: registers whose history is not linearizable, registers the checker
could not decide within its budget (an unchecked history proves nothing), versions of a
register acknowledged with two different values (lost writes, linearize.forks; one per
register; the same bug then also makes that register not linearizable: one bug, two
anomalies), two lock holders at once and lock tokens that went down, each finding of the
sequential-node checks (linearize.sequential_anomalies, against the nodes read after the
run), server exits the
harness did not cause, sanitizer or assertion reports in server logs, and a cluster that
does not recover after the final heal (no leader, or no acknowledged write in the tail).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import ephworker  # noqa: E402
import linearize  # noqa: E402
import lockworker  # noqa: E402
import nemesis  # noqa: E402
import netns  # noqa: E402
import nscluster  # noqa: E402
import watchworker  # noqa: E402
import worker  # noqa: E402
from procs import ManagedProcess  # noqa: E402

N_SERVERS = 5
WORKERS_DEFAULT = 5
KEYS_DEFAULT = 3
LOCK_WORKERS_DEFAULT = 3
# Lock clients' process numbers start here, apart from the register workers'.
LOCK_PROCESS_BASE = 100
EPH_OWNERS_DEFAULT = 2
EPH_OWNER_BASE = 200
EPH_OBSERVER = 300
EPH_ABANDONERS_DEFAULT = 1
EPH_ABANDONER_BASE = 250
WATCHERS_DEFAULT = 1
WATCHER_BASE = 400
# libsynod register clients (cworker/cworker.c), next to the kazoo ones.
CWORKERS_DEFAULT = 2
CWORKER_BASE = 500
EPH_GONE_RUN_TIMEOUT_S = ephworker.EPH_GONE_TIMEOUT_S + worker.START_TIMEOUT_S + 10.0
WARMUP_S = 3.0
# After the last heal: long enough for an election and for clients to reconnect.
TAIL_S = 8.0
SETUP_TIMEOUT_S = 90.0
# A worker ends its operation in flight (a read is two requests); a watcher also waits
# for the notifications of the last writes and then checks every register.
WORKER_EXIT_GRACE_S = worker.OP_TIMEOUT_S * 2 + watchworker.SETTLE_S * 2 + 10.0
RECOVERY_TIMEOUT_S = 60.0
WORKER_START_S = 3.0
# The faults take longer than their planned holds and pauses (restarts, elections, a
# removed member added back: an hour's plan ran 5% over), and the workers must outlast
# them: their own time bound, meant only for a runner that died, is this many plans.
WORKER_BOUND_PLANS = 3
POLL_S = 0.25
REPORT_LOCK_MAX = 10


def log(msg):
    print("[%8.3f] %s" % (time.monotonic() - T0, msg), flush=True)


T0 = time.monotonic()


def longest_gap(points, start, end):
    """Longest interval inside [start, end] with none of the sorted `points` in it."""
    prev, gap = start, 0.0
    for p in points:
        if p < start:
            continue
        if p > end:
            break
        gap = max(gap, p - prev)
        prev = p
    return max(gap, end - prev)


class Run:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.dir = args.dir
        self.keys = ["r%d" % k for k in range(args.keys)]
        self.kinds = args.kinds.split(",") if args.kinds else list(nemesis.KINDS)
        self.net = None
        self.cluster = None
        self.workers = []
        self.nemesis = None
        self.liveness = []
        self.t_start = None
        self.stop_file = os.path.join(self.dir, "stop")
        self.seq_final = None
        self.seq_ops = []
        self.eph_records = []
        self.watch_records = []
        self.eph_gone = None
        self.t_heal = None
        self.t_stop = None
        self.t_end = None

    # ---- the run ----

    def execute(self):
        self.net = netns.Network(N_SERVERS, log=log)
        self.net.create()  # NetnsUnavailable propagates: the caller fails with it
        try:
            self._execute()
        finally:
            for w in self.workers:
                w.kill9()
            if self.cluster is not None:
                self.cluster.stop_all()
                self.cluster.release_disks()
            self.net.destroy()

    def _execute(self):
        self.cluster = nscluster.NetnsCluster(self.net, self.args.bin, self.dir,
                                              cfg_overrides=self.args.cfg, log=log,
                                              env=self.args.server_env,
                                              disk_bytes=self.args.disk_mb * 1024 * 1024)
        steps = nemesis.plan(self.seed, self.args.duration, every_kind=self.args.every_kind,
                             kinds=self.kinds, profile=self.args.profile)
        total = sum(h + q for _, h, q in steps)
        log("plan (%d faults, %.0f s): %s" % (len(steps), total,
                                             ", ".join(k for k, _, _ in steps)))
        self.cluster.start()
        leader = self.cluster.wait_leader()
        log("cluster up, leader server.%d; data and logs in %s" % (leader, self.dir))
        self._setup_keys()
        # A bound for workers whose runner died; normally the stop file ends them.
        seconds = (WARMUP_S + WORKER_BOUND_PLANS * total + TAIL_S + WORKER_START_S +
                   RECOVERY_TIMEOUT_S)
        common = ["--hosts", self.cluster.hosts(), "--seed", str(self.seed),
                  "--seconds", "%.1f" % seconds, "--stop-file", self.stop_file]
        for p in range(self.args.workers):
            self._start_client("worker.py", p, common + ["--keys", ",".join(self.keys)])
        for k in range(self.args.cworkers):
            self._start_client(self.args.cworker_bin, CWORKER_BASE + k,
                               common + ["--keys", ",".join(self.keys)])
        for k in range(self.args.lock_workers):
            self._start_client("lockworker.py", LOCK_PROCESS_BASE + k, common,
                               self.args.client_env)
        if self.args.eph_owners:
            for k in range(self.args.eph_owners):
                self._start_client("ephworker.py", EPH_OWNER_BASE + k,
                                   common + ["--role", "owner"])
            self._start_client("ephworker.py", EPH_OBSERVER, common + ["--role", "observer"])
            for k in range(self.args.eph_abandoners):
                self._start_client("ephworker.py", EPH_ABANDONER_BASE + k,
                                   common + ["--role", "abandoner"])
        for k in range(self.args.watchers):
            self._start_client("watchworker.py", WATCHER_BASE + k,
                               common + ["--keys", ",".join(self.keys)] +
                               ([] if self.args.eph_owners else ["--no-eph"]))
        time.sleep(WORKER_START_S + WARMUP_S)
        self.t_start = time.monotonic()
        self.nemesis = nemesis.Nemesis(self.cluster, self.net, self.seed, log=log,
                                       on_poll=self._poll)
        for kind, hold, quiet in steps:
            self.nemesis.run(kind, hold)
            self._wait(quiet)
        self.nemesis.heal_all()
        self.t_heal = time.monotonic()
        for sid, m in self.cluster.members.items():
            if m.removed:
                self.liveness.append("server.%d removed by member-remove could not be added "
                                     "back after the final heal" % sid)
        log("healed everything; clients run on for %.0f s" % TAIL_S)
        try:
            leader = self.cluster.wait_leader(RECOVERY_TIMEOUT_S)
            log("leader after the heal: server.%d" % leader)
        except AssertionError as e:
            self.liveness.append(str(e))
        self._wait(TAIL_S)
        self.t_stop = time.monotonic()
        with open(self.stop_file, "w"):
            pass
        deadline = time.monotonic() + WORKER_EXIT_GRACE_S
        for w in self.workers:
            while w.running() and time.monotonic() < deadline:
                time.sleep(POLL_S)
        late = [w.pid for w in self.workers if w.running()]
        if late:
            log("workers %s still running after the grace period: killed" % late)
        self._poll()
        self.t_end = time.monotonic()
        self._dump_seq()
        if self.args.eph_owners:
            self._wait_ephemerals_gone()

    def _start_client(self, script, p, args, env_extra=None):
        """Starts client process p (its history in history-p<p>.jsonl, its output in
        worker-p<p>.log) inside the client namespace."""
        program = [script] if os.path.isabs(script) else \
            [sys.executable, os.path.join(HERE, script)]
        argv = self.net.exec_argv(self.net.client_ns, program + [
            "--process", str(p), "--out", os.path.join(self.dir, "history-p%d.jsonl" % p)]
            + args)
        env = None
        if env_extra:
            env = dict(os.environ)
            env.update(env_extra)
        self.workers.append(ManagedProcess(argv, self.dir, os.path.join(
            self.dir, "worker-p%d.log" % p), env).start())

    def _client_once(self, script, args, timeout_s=SETUP_TIMEOUT_S):
        """Runs a client to completion inside the client namespace: (exit code, output),
        exit code None on timeout."""
        argv = self.net.exec_argv(self.net.client_ns, [
            sys.executable, os.path.join(HERE, script), "--hosts", self.cluster.hosts()] + args)
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None, "timeout after %.0f s" % timeout_s
        return p.returncode, p.stdout

    def _wait_ephemerals_gone(self):
        rc, out = self._client_once("ephworker.py", ["--role", "wait-gone"],
                                    EPH_GONE_RUN_TIMEOUT_S)
        try:
            self.eph_gone = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.liveness.append("the ephemerals could not be read after the run: %s"
                                 % out[-500:])

    def _dump_seq(self):
        """Reads every sequential node after the run, for the durability check."""
        path = os.path.join(self.dir, "seq-final.json")
        rc, out = self._client_once("worker.py", ["--dump-seq", "--keys", ",".join(self.keys),
                                                  "--out", path])
        if rc != 0:
            self.liveness.append("the sequential nodes could not be read after the run: %s"
                                 % out[-500:])
            return
        with open(path) as f:
            self.seq_final = json.load(f)

    def _setup_keys(self):
        setups = [("registers", "worker.py", ["--setup", "--keys", ",".join(self.keys)])]
        if self.args.eph_owners:
            setups.append(("the ephemerals' parent", "ephworker.py", ["--role", "setup"]))
        if self.args.lock_workers:
            setups.append(("the lock's nodes", "lockworker.py", ["--setup"]))
        for what, script, args in setups:
            rc, out = self._client_once(script, args)
            if rc != 0:
                raise RuntimeError("creating %s failed:\n%s" % (what, out[-3000:]))

    def _poll(self):
        for t, sid, rc in self.cluster.unexpected_exits():
            log("server.%d EXITED by itself (status %s); see %s; restarting it"
                % (sid, rc, self.cluster.members[sid].log_path))
            self.cluster.start(sid)

    def _wait(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._poll()
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))

    # ---- the analysis ----

    def analyse(self):
        records = []
        for k in self.keys:
            records.append({"type": "init", "key": k, "state": [worker.INIT_VALUE, 0],
                            "t": self.t_start or 0.0})
        if self.args.lock_workers:
            records.append({"type": "init", "key": lockworker.FENCE_KEY, "state": 0,
                            "t": self.t_start or 0.0})
        processes = list(range(self.args.workers)) + \
            [CWORKER_BASE + k for k in range(self.args.cworkers)] + \
            [LOCK_PROCESS_BASE + k for k in range(self.args.lock_workers)] + \
            ([EPH_OWNER_BASE + k for k in range(self.args.eph_owners)] + [EPH_OBSERVER] +
             [EPH_ABANDONER_BASE + k for k in range(self.args.eph_abandoners)]
             if self.args.eph_owners else []) + \
            [WATCHER_BASE + k for k in range(self.args.watchers)]
        for p in processes:
            path = os.path.join(self.dir, "history-p%d.jsonl" % p)
            if os.path.exists(path):
                with open(path) as f:
                    for line in f:
                        if line.strip():
                            try:
                                records.append(json.loads(line))
                            except ValueError:  # a worker killed mid-line
                                pass
        faults = self.nemesis.faults if self.nemesis else []
        records += [f.record() for f in faults]
        records.sort(key=lambda r: r.get("t", r.get("start", 0.0)))
        history = os.path.join(self.dir, "history.jsonl")
        with open(history, "w") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
        all_ops = linearize.load(json.dumps(r) for r in records)
        ops = [o for o in all_ops if o.key in self.keys]
        self.seq_ops = [o for o in all_ops if o.key == worker.SEQ_KEY]
        fence_ops = [o for o in all_ops if o.key == lockworker.FENCE_KEY]
        init = {k: (worker.INIT_VALUE, 0) for k in self.keys}
        t = time.monotonic()
        results = linearize.check_history(ops, "register", init)
        results += linearize.check_history(fence_ops, "fenced", {lockworker.FENCE_KEY: 0})
        check_s = time.monotonic() - t
        self.lock_intervals = linearize.lock_intervals(records)
        self.eph_records = [r for r in records if r.get("type") == "eph"]
        self.watch_records = [r for r in records if r.get("type") == "watch"]
        self.lock_lost = [r for r in records if r.get("type") == "lock" and
                          r.get("event") == "lost"]
        self.fence_ops = fence_ops
        return ops, faults, results, check_s, history

    def summary(self, ops, faults, results, check_s, history):
        out = []
        by = {}
        for o in ops:
            by.setdefault((o.f, o.status), []).append(o)
        n = {s: sum(1 for o in ops if o.status == s) for s in ("ok", "fail", "info")}
        out.append("faults: seed %d, %d servers, %d clients (kazoo) + %d (libsynod), %d registers, "
                   "%.0f s under faults"
                   % (self.seed, N_SERVERS, self.args.workers, self.args.cworkers, len(self.keys),
                      (self.t_heal or time.monotonic()) - (self.t_start or T0)))
        out.append("operations: %d (ok %d, fail %d, unknown %d)"
                   % (len(ops), n["ok"], n["fail"], n["info"]))
        for f in ("read", "write", "cas"):
            refused = sum(1 for o in by.get((f, "fail"), []) if o.error == "badversion")
            out.append("  %-5s ok %5d  fail %5d%s  unknown %5d"
                       % (f, len(by.get((f, "ok"), [])), len(by.get((f, "fail"), [])),
                          " (%d BadVersion)" % refused if f == "cas" else "",
                          len(by.get((f, "info"), []))))
        seq = self.seq_ops
        out.append("sequential creates: %d (ok %d, unknown %d); %s"
                   % (len(seq), sum(1 for o in seq if o.status == "ok"),
                      sum(1 for o in seq if o.status == "info"),
                      "%d nodes at the end" % len(self.seq_final)
                      if self.seq_final is not None else "not read at the end"))
        intervals = getattr(self, "lock_intervals", [])
        fence = getattr(self, "fence_ops", [])
        if self.args.eph_owners:
            eph = self.eph_records
            creates = [r for r in eph if r["event"] == "create"]
            out.append("ephemerals: %d sessions (node created %d, unknown %d), %d exists by "
                       "their owners, %d lists; %s"
                       % (len(creates), sum(1 for r in creates if r["ok"]),
                          sum(1 for r in creates if r["ok"] is None),
                          sum(1 for r in eph if r["event"] == "alive"),
                          sum(1 for r in eph if r["event"] == "list"),
                          "all gone %.1f s after the owners stopped" % self.eph_gone["seconds"]
                          if self.eph_gone and self.eph_gone.get("left") == [] else
                          "not all gone at the end"))
            expired = [r for r in eph if r["event"] == "expired"]
            made = {c["node"]: c["ret"] for c in creates}
            waits = sorted(r["gone"] - made[r["node"]] for r in expired
                           if r["gone"] is not None and r["node"] in made)
            out.append("abandoned sessions: %d, expiry seen for %d (median %s after the "
                       "create), refused to come back %d"
                       % (len(expired), len(waits),
                          "%.1f s" % waits[len(waits) // 2] if waits else "-",
                          sum(1 for r in expired if r["back"] == "refused")))
        if self.args.watchers:
            w = self.watch_records
            def n(kind, why=None):
                return sum(1 for r in w if r.get("kind", "data") == kind and
                           (why is None or r["why"] == why))
            out.append("watches: %d watchers; reads after a notification: %d of registers, %d "
                       "of the ephemerals' directory; %d deletions notified; %d reads re-arming "
                       "after a reconnection, %d after a new session; %d registers checked at "
                       "the end"
                       % (self.args.watchers, n("data", "event"), n("children", "event"),
                          n("deleted", "event"), sum(1 for r in w if r["why"] == "reconnect"),
                          sum(1 for r in w if r["why"] == "session"), n("data", "final")))
        if self.args.lock_workers:
            out.append("lock: %d holds by %d clients (%d lost with their connection); fenced "
                       "writes ok %d, refused by the guard %d, raced %d, unknown %d"
                       % (len(intervals), self.args.lock_workers,
                          sum(1 for r in getattr(self, "lock_lost", [])),
                          sum(1 for o in fence if o.status == "ok"),
                          sum(1 for o in fence if o.error == "fenced"),
                          sum(1 for o in fence if o.error == "raced"),
                          sum(1 for o in fence if o.status == "info")))
        acks = sorted(o.ret for o in ops if o.status == "ok" and o.f in ("write", "cas"))
        out.append("faults injected: %d (kinds: %s)" % (
            sum(1 for f in faults if not f.skipped),
            ", ".join(sorted(set(f.kind for f in faults if not f.skipped)))))
        out.append("  %-18s %-8s %-6s %-7s %s" % ("kind", "start", "held", "writes",
                                                   "what"))
        out.append("  %-18s %-8s %-6s %-7s" % ("", "(s)", "(s)", "unavail"))
        for k, f in enumerate(faults):
            # The last fault's window ends when the clients were told to stop: after that
            # no write is attempted, so a gap there says nothing about availability.
            window_end = faults[k + 1].start if k + 1 < len(faults) else \
                (self.t_stop or self.t_end or time.monotonic())
            gap = longest_gap(acks, f.start, window_end)
            out.append("  %-18s %8.1f %6.1f %6.1fs %s%s" % (
                f.kind, f.start - self.t_start, f.end - f.start, gap, f.what,
                "" if f.leader is None else " [leader was %d]" % f.leader))
        if self.t_heal is not None:
            after = [a for a in acks if a >= self.t_heal]
            if not after:
                self.liveness.append("no write acknowledged in the %.0f s after the final heal"
                                     % TAIL_S)
            else:
                out.append("first acknowledged write after the final heal: +%.1f s"
                           % (after[0] - self.t_heal))
        exits = self.cluster.exits if self.cluster else []
        for t, sid, rc in exits:
            out.append("server.%d exited by itself at %.1f s, status %s (log %s)"
                       % (sid, t - (self.t_start or T0), rc,
                          self.cluster.members[sid].log_path))
        reports = self.cluster.sanitizer_reports() if self.cluster else []
        for sid, line in reports:
            out.append("server.%d log has a report: %s" % (sid, line))
        for what in self.liveness:
            out.append("liveness: %s" % what)
        t0 = self.t_start or T0
        forks = {}
        for key, version, a, b in linearize.forks(ops):
            forks.setdefault(key, []).append((version, a, b))
        for key, found in sorted(forks.items()):
            version, a, b = found[0]
            out.append("lost write: register %s version %d acknowledged with two values%s:\n"
                       "    %s\n    %s" % (key, version, "" if len(found) == 1 else
                                          " (and %d later versions)" % (len(found) - 1),
                                          a.describe(t0), b.describe(t0)))
        overlaps, regressions = linearize.lock_anomalies(intervals)
        for a, b in overlaps[:REPORT_LOCK_MAX]:
            out.append("two lock holders: p%s token %d held [%.3f, %.3f] and p%s token %d held "
                       "[%.3f, %.3f]" % (a[2], a[3], a[0] - t0, a[1] - t0, b[2], b[3],
                                        b[0] - t0, b[1] - t0))
        for a, b in regressions[:REPORT_LOCK_MAX]:
            out.append("lock token went down: p%s acquired token %d at %.3f after p%s had "
                       "token %d at %.3f" % (b[2], b[3], b[0] - t0, a[2], a[3], a[0] - t0))
        seq_bad = linearize.sequential_anomalies(self.seq_ops, self.seq_final)
        eph_bad = linearize.ephemeral_anomalies(self.eph_records, self.eph_gone) \
            if self.args.eph_owners else []
        for line in eph_bad:
            out.append(line)
        watch_bad = linearize.watch_anomalies(self.watch_records) if self.args.watchers else []
        if self.args.watchers and self.watch_records and \
                not any(r["why"] == "final" for r in self.watch_records):
            watch_bad.append("watch: no watcher finished its final check")
        for line in watch_bad:
            out.append(line)
        for line in seq_bad[:REPORT_LOCK_MAX]:
            out.append(line)
        if len(seq_bad) > REPORT_LOCK_MAX:
            out.append("sequential: ... %d more" % (len(seq_bad) - REPORT_LOCK_MAX))
        bad = [r for r in results if not r.ok and not r.undecided]
        undecided = [r for r in results if r.undecided]
        for r in bad + undecided:
            out.append(linearize.report(r, t0=self.t_start))
        out.append("linearizability: %d registers (the fence included) checked in %.1f s: %d not linearizable, "
                   "%d undecided" % (len(results), check_s, len(bad), len(undecided)))
        anomalies = len(bad) + len(undecided) + len(forks) + len(overlaps) + \
            len(regressions) + len(seq_bad) + len(eph_bad) + len(watch_bad) + len(exits) + \
            len(reports) + len(self.liveness)
        out.append("anomalies by kind: not linearizable %d, undecided %d, lost writes %d, "
                   "two lock holders %d, lock tokens down %d, sequential %d, ephemerals %d, "
                   "watches %d, server exits %d, sanitizer reports %d, liveness %d"
                   % (len(bad), len(undecided), len(forks), len(overlaps), len(regressions),
                      len(seq_bad), len(eph_bad), len(watch_bad), len(exits), len(reports),
                      len(self.liveness)))
        keep = anomalies > 0 or self.args.keep
        out.append("history: %s (%s)" % (history, "kept" if keep else "removed with its dir"))
        out.append("replay: make faults DURATION=%d SEED=%d%s"
                   % (round(self.args.duration), self.seed,
                      "" if self.args.profile == "default" else
                      " FAULTSFLAGS='--profile %s'" % self.args.profile))
        out.append("anomalies: %d" % anomalies)
        return out, anomalies, keep


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.environ.get("SYNOD_BIN"))
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--workers", type=int, default=WORKERS_DEFAULT)
    ap.add_argument("--cworkers", type=int, default=CWORKERS_DEFAULT,
                    help="register clients on libsynod (synod-fault-worker)")
    ap.add_argument("--cworker-bin", default=os.environ.get("SYNOD_FAULT_WORKER"),
                    help="synod-fault-worker (default: $SYNOD_FAULT_WORKER, else next to --bin "
                         "in its build tree)")
    ap.add_argument("--keys", type=int, default=KEYS_DEFAULT)
    ap.add_argument("--lock-workers", type=int, default=LOCK_WORKERS_DEFAULT)
    ap.add_argument("--watchers", type=int, default=WATCHERS_DEFAULT)
    ap.add_argument("--eph-owners", type=int, default=EPH_OWNERS_DEFAULT,
                    help="session-and-ephemeral owners (0: none, and no observer)")
    ap.add_argument("--eph-abandoners", type=int, default=EPH_ABANDONERS_DEFAULT,
                    help="clients whose sessions go silent until they expire")
    ap.add_argument("--client-env", action="append", default=[],
                    help="KEY=VALUE in the lock clients' environment (planted bugs)")
    ap.add_argument("--disk-mb", type=int,
                    default=nscluster.DISK_BYTES_DEFAULT // (1024 * 1024),
                    help="size of each server's own tmpfs data disk (MiB; 0: no tmpfs, and "
                         "no disk-full faults)")
    ap.add_argument("--dir")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--kinds", help="comma-separated subset of " + ",".join(nemesis.KINDS))
    ap.add_argument("--no-every-kind", dest="every_kind", action="store_false",
                    help="do not start with one fault of every kind")
    ap.add_argument("--profile", choices=sorted(nemesis.PROFILES), default="default",
                    help="fault holds and gaps (short: the ctest run)")
    ap.add_argument("--server-env", action="append", default=[],
                    help="KEY=VALUE in every server's environment (planted bugs)")
    ap.add_argument("--cfg", action="append", default=[],
                    help="extra zoo.cfg key=value (repeatable)")
    args = ap.parse_args(argv)
    if not args.bin:
        ap.error("--bin or SYNOD_BIN is required")
    if not args.cworker_bin:
        args.cworker_bin = os.path.join(os.path.dirname(os.path.abspath(args.bin)), "..", "..",
                                        "tests", "faults", "cworker", "synod-fault-worker")
    args.cworker_bin = os.path.abspath(args.cworker_bin)
    if args.cworkers and not os.access(args.cworker_bin, os.X_OK):
        ap.error("no synod-fault-worker at %s (build it, or --cworkers 0)" % args.cworker_bin)
    if args.seed is None and os.environ.get("SYNOD_FAULTS_SEED"):
        args.seed = int(os.environ["SYNOD_FAULTS_SEED"])
    if args.seed is None:
        args.seed = int.from_bytes(os.urandom(4), "big") % 1_000_000
    args.cfg = dict(kv.split("=", 1) for kv in args.cfg)
    args.server_env = dict(kv.split("=", 1) for kv in args.server_env)
    args.client_env = dict(kv.split("=", 1) for kv in args.client_env)
    for k in (args.kinds or "").split(","):
        if k and k not in nemesis.KINDS:
            ap.error("unknown fault kind %s" % k)
    return args


def main(argv):
    args = parse(argv)
    if os.geteuid() != 0:
        print("faults: FAIL: network namespaces need root (run as root, as CI does)")
        return 2
    args.dir = args.dir or tempfile.mkdtemp(prefix="synod-faults-%d-" % args.seed)
    os.makedirs(args.dir, exist_ok=True)
    log("faults: seed %d, %.0f s, binary %s, run dir %s" % (args.seed, args.duration,
                                                            args.bin, args.dir))
    run = Run(args)
    try:
        run.execute()
    except SystemExit:
        print("faults: interrupted; servers and network removed, run dir kept: %s" % args.dir,
              flush=True)
        raise
    except netns.NetnsUnavailable as e:
        print("faults: FAIL: %s" % e)
        try:
            os.rmdir(args.dir)  # nothing ran, nothing to keep
        except OSError:
            pass
        return 2
    except Exception as e:
        # The harness failed, not synod (or synod did not come up): keep everything.
        import traceback
        traceback.print_exc()
        print("faults: FAIL: the harness could not complete (%s); everything kept in %s"
              % (e, args.dir))
        return 2
    lines, anomalies, keep = run.summary(*run.analyse())
    print("\n".join(lines), flush=True)
    if not keep:
        shutil.rmtree(args.dir, ignore_errors=True)
    return 1 if anomalies else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
