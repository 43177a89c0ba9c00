"""Faults for the harness, and the seeded schedule that orders them.

Every fault has a start (done at once) and an end (undone after it was held): a killed server
is restarted on its data, a paused one continued, partitions and degraded links healed.
Each is recorded with its monotonic start and end times, the servers it hit, and who led
when it began, so the summary can say how long writes were unavailable during each.

Kinds (KINDS):
  kill-random         kill -9 of a random server; restarted at the end
  kill-leader         kill -9 of the leader (a random server if none is known)
  kill-all            kill -9 of every server at once (a power cut, as far as a process
                      can tell: the page cache survives); all restarted at the end
  kill-torn-wal       kill -9 of a random server, then the write it was "doing" torn at the
                      end of its WAL (a partial record header, a record cut short, or a
                      whole record with a bad CRC, after the last valid record), restart:
                      a crash in the middle of writing a record it had not acknowledged
  pause               SIGSTOP of the leader or of a random server, held longer than the
                      election timeout (some holds longer than the client session timeout),
                      then SIGCONT
  partition-majority  a random 3 | 2 split
  partition-leader    the leader cut off from every other server
  partition-bridge    two halves that share one server: {a b c} {c d e}
  partition-one-way   one server (the leader, or a random one) stops hearing the others;
                      what it sends still arrives
  link-slow           every server's link slow (netem delay with jitter, or a token bucket)
  link-lossy          every server's link drops LINK_LOSS_PERCENT of packets
  link-reorder        every server's link reorders (netem only; skipped without it)
  disk-full           the data disk (its own tmpfs) of the leader or of a random server
                      filled to the last byte; the filler removed at the end
  clock-jump          the clocks of the leader or of a random server jump forward or back
                      by CLOCK_JUMPS_S (through the server's test clock hook,
                      SYNOD_TEST_CLOCK_FILE); jump back at the end
  clock-drift         the clocks of the leader or of a random server run at a rate of
                      CLOCK_DRIFT_RATES (twice as fast, half as fast); the drift taken back
                      at the end
  member-remove       the leader or a random server removed from the cluster with a
                      reconfig (synod members remove) and stopped; at the end it joins
                      again with an empty data directory (--join, synod members add)
  combined            two of the kinds above at once (not kill-all), started in order
                      and undone in reverse: a kill during a partition, a pause on lossy
                      links, a partition inside a partition ...
Clients are never cut off from servers: what a client sees of a cut server is what that
server does about it.

The schedule is a function of the seed alone (kinds, holds, quiet gaps, and the random picks
inside each fault), so `SEED=n` replays the same plan; which server leads at a moment is up
to the cluster, so "the leader" may be another server in a replay.
"""

import os
import random
import struct
import time

import faultlib
import netns

KINDS = ["kill-random", "kill-leader", "kill-all", "kill-torn-wal", "pause", "partition-majority", "partition-leader",
         "partition-bridge", "partition-one-way", "link-slow", "link-lossy", "link-reorder",
         "disk-full", "clock-jump", "clock-drift", "member-remove", "combined"]
# What `combined` draws two distinct kinds from: every single fault but the power cut
# (all servers down leaves nothing for a second fault to act on).
COMBINABLE = [k for k in KINDS if k not in ("kill-all", "kill-torn-wal", "combined")]
# Holds and quiet gaps of each profile. Every hold outlasts the election timeout
# (electionTimeoutMs=1000: a new leader within 1-2 s); some pauses outlast the workers'
# session timeout (worker.SESSION_TIMEOUT_S = 10 s). The short profile (the ctest run) keeps
# every kind once in about 125 s and always makes its first pause a long one.
PROFILES = {
    "default": {"hold": (4.0, 9.0), "quiet": (3.0, 6.0), "long_pause_share": 0.25,
                "first_pause_long": False},
    "short": {"hold": (3.0, 5.0), "quiet": (2.0, 3.5), "long_pause_share": 0.0,
              "first_pause_long": True},
}
PAUSE_LONG_S = 12.0
# Clock faults: jumps by seconds, forward or back (below the clients' 10 s session timeout:
# a forward jump of the leader's clock expires the sessions idle for the rest), and rates.
CLOCK_JUMPS_S = (2.0, 5.0, 8.0)
CLOCK_DRIFT_RATES = (2.0, 0.5)
TORN_PAYLOAD_BYTES = 200
POLL_S = 0.25
LINK_LOSS_PERCENT = netns.LINK_LOSS_PERCENT


def plan(seed, duration_s, every_kind=True, kinds=None, profile="default"):
    """[(kind, hold_s, quiet_s)] filling duration_s: first every kind once in a seeded
    order (when every_kind), then seeded random kinds."""
    prof = PROFILES[profile]
    rng = random.Random(seed)
    kinds = list(kinds or KINDS)
    order = list(kinds)
    rng.shuffle(order)
    steps = []
    total = 0.0
    queue = order if every_kind else []
    long_pause_due = prof["first_pause_long"]
    while total < duration_s or queue:
        kind = queue.pop(0) if queue else rng.choice(kinds)
        hold = rng.uniform(*prof["hold"])
        if kind == "pause" and (long_pause_due or rng.random() < prof["long_pause_share"]):
            hold = PAUSE_LONG_S
            long_pause_due = False
        quiet = rng.uniform(*prof["quiet"])
        steps.append((kind, round(hold, 2), round(quiet, 2)))
        total += hold + quiet
    return steps


class Fault:
    def __init__(self, kind, hold_s):
        self.kind = kind
        self.hold_s = hold_s
        self.what = ""
        self.leader = None
        self.start = None
        self.end = None
        self.skipped = False
        self.undo = None

    def record(self):
        return {"type": "nemesis", "kind": self.kind, "what": self.what, "leader": self.leader,
                "start": self.start, "end": self.end, "skipped": self.skipped}


class Nemesis:
    def __init__(self, cluster, net, seed, log=print, on_poll=None):
        self.cluster = cluster
        self.net = net
        self.rng = random.Random(seed ^ 0x5EED)
        self.log = log
        self.on_poll = on_poll or (lambda: None)
        self.faults = []

    def _leader_or_random(self, f):
        leader = self.cluster.leader()
        f.leader = leader
        if leader is None:
            return self.rng.choice(self.cluster.ids()), False
        return leader, True

    def run(self, kind, hold_s):
        """Starts a fault, holds it (polling on_poll), ends it; returns the Fault."""
        f = Fault(kind, hold_s)
        f.start = time.monotonic()
        getattr(self, "_" + kind.replace("-", "_"))(f)
        self.log("nemesis: %-18s %s" % (kind, f.what))
        deadline = f.start + hold_s
        while not f.skipped and time.monotonic() < deadline:
            self.on_poll()
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
        if f.undo is not None:
            f.undo()
        f.end = time.monotonic()
        self.faults.append(f)
        return f

    def heal_all(self):
        """Whatever state a fault left: links healed, disks emptied, paused servers
        continued, every server running."""
        self.net.heal()
        for i in self.cluster.ids():
            self.cluster.free_disk(i)
            self.cluster.clock_reset(i)
        for i in self.cluster.ids():
            if self.cluster.members[i].removed:
                self.log("heal: server.%d %s" % (i, self.cluster.add_member(i)))
            self.cluster.resume(i)
            if not self.cluster.running(i):
                self.cluster.start(i)

    # ---- kinds ----

    def _kill(self, f, victim, how):
        self.cluster.kill9(victim)
        f.what = "kill -9 server.%d (%s)" % (victim, how)
        f.undo = lambda: self.cluster.start(victim)

    def _kill_random(self, f):
        f.leader = self.cluster.leader()
        self._kill(f, self.rng.choice(self.cluster.ids()), "random")

    def _kill_leader(self, f):
        victim, is_leader = self._leader_or_random(f)
        self._kill(f, victim, "leader" if is_leader else "no leader known: random")

    def _kill_all(self, f):
        f.leader = self.cluster.leader()
        self.cluster.kill9_all()
        f.what = "kill -9 every server"
        f.undo = self.cluster.start

    def _combined(self, f):
        kinds = [k for k in COMBINABLE if k != "link-reorder" or self.net.netem_available()]
        first, second = self.rng.sample(kinds, 2)
        parts = []
        for kind in (first, second):
            part = Fault(kind, f.hold_s)
            getattr(self, "_" + kind.replace("-", "_"))(part)
            parts.append(part)
        f.leader = parts[0].leader
        f.what = " + ".join("%s: %s" % (p.kind, p.what) for p in parts)
        f.skipped = all(p.skipped for p in parts)

        def undo():
            for p in reversed(parts):
                if p.undo is not None:
                    p.undo()
            f.what = " + ".join("%s: %s" % (p.kind, p.what) for p in parts)  # with the undos'
        f.undo = undo

    def _kill_torn_wal(self, f):
        f.leader = self.cluster.leader()
        victim = self.rng.choice(self.cluster.ids())
        self.cluster.kill9(victim)
        how = self.tear_wal(self.cluster.members[victim].data_dir)
        f.what = "kill -9 server.%d, WAL tail torn: %s" % (victim, how)
        f.undo = lambda: self.cluster.start(victim)

    def tear_wal(self, data_dir):
        """Writes a torn record after the last valid record of the newest WAL segment (the
        layout of docs/storage-format.md). Returns what it did."""
        paths = faultlib.segment_paths(data_dir)
        if not paths:
            return "no WAL segment (nothing torn)"
        path = paths[-1]
        with open(path, "rb") as fh:
            data = fh.read()
        first, records = faultlib.parse_segment(data)
        end = records[-1].end if records else faultlib.WAL_HEADER_BYTES
        index = (records[-1].index + 1) if records else first
        term = records[-1].term if records else 1
        payload = bytes(self.rng.randrange(256) for _ in range(TORN_PAYLOAD_BYTES))
        head = struct.pack(">IB7xQQ", len(payload), 1, term, index)
        crc = faultlib.crc32c(head + payload)
        record = struct.pack(">I", crc) + head + payload
        way = self.rng.choice(["partial header", "cut short", "bad crc"])
        if way == "partial header":
            torn = record[:self.rng.randrange(1, faultlib.WAL_RECORD_HEADER_BYTES)]
        elif way == "cut short":
            torn = record[:self.rng.randrange(faultlib.WAL_RECORD_HEADER_BYTES, len(record))]
        else:
            k = faultlib.WAL_RECORD_HEADER_BYTES + self.rng.randrange(len(payload))
            torn = record[:k] + bytes([record[k] ^ 0x01]) + record[k + 1:]
        with open(path, "r+b") as fh:
            fh.seek(end)
            fh.write(torn)
            if way != "bad crc":
                fh.truncate(end + len(torn))  # the file ends inside the torn record
            fh.flush()
            os.fsync(fh.fileno())
        return "%s at %s offset %d (after index %d)" % (way, os.path.basename(path), end,
                                                       index - 1)

    def _leader_or_any(self, f):
        """Half the time the leader (a random server if none is known), else a random
        server: (victim, is_leader)."""
        if self.rng.random() < 0.5:
            return self._leader_or_random(f)
        f.leader = self.cluster.leader()
        return self.rng.choice(self.cluster.ids()), False

    def _disk_full(self, f):
        victim, is_leader = self._leader_or_any(f)
        if not self.cluster.disks:
            f.skipped = True
            f.what = "no disk of its own (--disk-mb 0)"
            return
        filled = self.cluster.fill_disk(victim)
        f.what = "server.%d%s: data disk filled (%.1f MiB of filler)" % (
            victim, " (leader)" if is_leader else "", filled / 1048576.0)
        f.undo = lambda: self.cluster.free_disk(victim)

    def _clock_jump(self, f):
        victim, is_leader = self._leader_or_any(f)
        ms = self.rng.choice(CLOCK_JUMPS_S) * 1000.0 * self.rng.choice((1, -1))
        self.cluster.clock_jump(victim, ms)
        f.what = "server.%d%s: clocks jump %+.0f s" % (victim, " (leader)" if is_leader else "",
                                                     ms / 1000.0)
        f.undo = lambda: self.cluster.clock_jump(victim, -ms)

    def _clock_drift(self, f):
        victim, is_leader = self._leader_or_any(f)
        rate = self.rng.choice(CLOCK_DRIFT_RATES)
        self.cluster.clock_rate(victim, rate)
        f.what = "server.%d%s: clocks run at %gx" % (victim, " (leader)" if is_leader else "",
                                                     rate)
        f.undo = lambda: self.cluster.clock_rate(victim, 1.0)

    def _member_remove(self, f):
        victim, is_leader = self._leader_or_any(f)
        if self.cluster.members[victim].removed:
            f.skipped = True
            f.what = "server.%d already removed" % victim
            return
        how = self.cluster.remove_member(victim)
        f.what = "server.%d%s: %s" % (victim, " (leader)" if is_leader else "", how)

        def undo():
            f.what += "; " + self.cluster.add_member(victim)
        f.undo = undo

    def _pause(self, f):
        victim, is_leader = self._leader_or_any(f)
        self.cluster.pause(victim)
        f.what = "SIGSTOP server.%d%s for %.1fs" % (victim, " (leader)" if is_leader else "",
                                                   f.hold_s)
        f.undo = lambda: self.cluster.resume(victim)

    def _partition(self, f, groups):
        self.net.partition(groups)
        f.what = "partition " + " | ".join(" ".join(str(i) for i in sorted(g)) for g in groups)
        f.undo = self.net.heal

    def _partition_majority(self, f):
        f.leader = self.cluster.leader()
        ids = list(self.cluster.ids())
        self.rng.shuffle(ids)
        half = len(ids) // 2
        self._partition(f, [set(ids[:half]), set(ids[half:])])

    def _partition_leader(self, f):
        victim, is_leader = self._leader_or_random(f)
        others = set(self.cluster.ids()) - {victim}
        self._partition(f, [{victim}, others])
        if not is_leader:
            f.what += " (no leader known: random server alone)"

    def _partition_bridge(self, f):
        f.leader = self.cluster.leader()
        ids = list(self.cluster.ids())
        self.rng.shuffle(ids)
        mid = len(ids) // 2
        self._partition(f, [set(ids[:mid + 1]), set(ids[mid:])])
        f.what += " (bridge server.%d)" % ids[mid]

    def _partition_one_way(self, f):
        victim, is_leader = self._leader_or_any(f)
        others = [i for i in self.cluster.ids() if i != victim]
        self.net.drop_from(victim, others)
        f.what = "server.%d%s hears no other server; its messages still arrive" % (
            victim, " (leader)" if is_leader else "")
        f.undo = self.net.heal

    def _link(self, f, kind):
        f.leader = self.cluster.leader()
        hows = [self.net.degrade(i, kind) for i in self.cluster.ids()]
        if hows[0] is None:
            f.skipped = True
            f.what = "%s links: not possible on this kernel (no sch_netem)" % kind
            return
        f.what = "every server's link: %s" % hows[0]
        f.undo = self.net.heal

    def _link_slow(self, f):
        self._link(f, "slow")

    def _link_lossy(self, f):
        self._link(f, "lossy")

    def _link_reorder(self, f):
        self._link(f, "reorder")
