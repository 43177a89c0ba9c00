"""Hostile and careless clients against one server, with a well-behaved client alongside.

Each scenario (SCENARIOS, in order) runs against a freshly started server: a GoodClient
(kazoo) does set/get/create in a loop and times every operation, an RssSampler follows the
server's resident memory, and the attack runs from raw sockets (zkwire) in this process.
A scenario returns its figures (Figures) and a list of broken properties (Figures.failures):
the good client's operations all succeeded within LIVENESS_S and nothing it was told was
done is missing, the server still runs, and each scenario's own checks. Peak RSS is
checked against the server's client-memory budget plus a margin (synod only: ZooKeeper has
no such budget; its figures are recorded for comparison).

The counts come from a profile: "ctest" (small, for the ASan build under ctest) or "full"
(the counts of issue 9, for `make hostile` on the release build).
"""

import os
import random
import socket
import struct
import threading
import time

from kazoo.client import KazooClient

import servers
import zkmulti
import zkwire
from procs import four_letter

# A liveness bound, not a performance target: a server that does not answer the good
# client within this long has stalled.
LIVENESS_S = 5.0
GOOD_PAUSE_S = 0.005
RSS_SAMPLE_S = 0.05
# Peak RSS may exceed the start RSS plus the budget by this much (allocator slack, the
# tree and watches the attacks legitimately create, sanitizer bookkeeping).
RSS_MARGIN_MB = 96
# After a scenario's connections are gone, RSS must come back within this of the start.
RSS_RETURN_MARGIN_MB = 48
SETTLE_TIMEOUT_S = 30.0
IO_TIMEOUT_S = 10.0
BIG_DATA_BYTES = 1000 * 1000  # under jute.maxbuffer with the request around it
MULTI_CHECK_OP_BYTES = 18  # MultiHeader 9 + path "/" 5 + version 4
MULTI_GET_OP_BYTES = 15  # MultiHeader 9 + path "/" 5 + watch 1
FRAME_BYTES_MAX = 1024 * 1024 - 1
PIPELINE_BATCH = 1000
# Connections of one wave of the malformed and early-request attacks.
ATTACK_BATCH = 500
# base/limits.h: NET_FOURLW_OUTPUT_BYTES_MAX and NET_FOURLW_MARKER_BYTES.
FOURLW_OUTPUT_BYTES_MAX = 4 * 1024 * 1024
FOURLW_MARKER_BYTES = 128
ZNONODE = -101

PROFILES = {
    "ctest": dict(budget_mb=32, hold_s=3.0, malformed=200, slowloris=40, early=40,
                  idle=1000, never_read_conns=12, never_read_requests=48, watches=10000,
                  ephemerals=20000, multi_rounds=2, fourlw_conns=30, fourlw_watches=10000,
                  fourlw_path_bytes=500, ephemeral_session_ms=3000),
    "full": dict(budget_mb=256, hold_s=8.0, malformed=2000, slowloris=300, early=300,
                 idle=10000, never_read_conns=100, never_read_requests=64, watches=100000,
                 ephemerals=200000, multi_rounds=10, fourlw_conns=300, fourlw_watches=100000,
                 fourlw_path_bytes=100, ephemeral_session_ms=30000),
}


def profile(name=None):
    name = name or os.environ.get("SYNOD_HOSTILE_PROFILE", "ctest")
    if name not in PROFILES:
        raise ValueError("SYNOD_HOSTILE_PROFILE must be one of %s" % sorted(PROFILES))
    return dict(PROFILES[name], name=name)


# ---- the server -----------------------------------------------------------------------

def make_server(target, prof, name):
    """A started server of `target` configured for the attacks: no per-address connection
    limit (the attackers all come from 127.0.0.1) and, for synod, the profile's budget."""
    overrides = {"maxClientCnxns": 0}
    if target == "synod":
        overrides["clientMemoryLimitInMb"] = prof["budget_mb"]
    srv = servers.make_server(name, target=target, cfg_overrides=overrides)
    srv.start()
    return srv


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS for pid %d" % pid)


def mntr(srv):
    out = {}
    for line in srv.four_letter(b"mntr").splitlines():
        key, _, value = line.partition("\t")
        out[key] = value
    return out


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = rss_mb(pid)
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(RSS_SAMPLE_S):
            try:
                self.peak_mb = max(self.peak_mb, rss_mb(self.pid))
            except (OSError, RuntimeError):
                return

    def stop(self):
        self.stopping.set()
        self.join(timeout=5)


# ---- the well-behaved client ----------------------------------------------------------

class GoodClient(threading.Thread):
    """set / get of one node and a create every tenth round, each timed; every failure and
    every read that does not return the value just written is recorded."""

    def __init__(self, hosts, root):
        super().__init__(daemon=True)
        self.root = root
        self.key = root + "/key"
        self.zk = KazooClient(hosts=hosts, timeout=10.0)
        self.latencies = []
        self.errors = []
        self.acked = []
        self.last_value = None
        self.stopping = threading.Event()

    def begin(self):
        self.zk.start(timeout=IO_TIMEOUT_S)
        self.zk.ensure_path(self.root + "/acked")
        self.zk.create(self.key, b"")
        self.start()
        return self

    def _timed(self, async_result):
        t0 = time.monotonic()
        value = async_result.get(timeout=LIVENESS_S)
        self.latencies.append(time.monotonic() - t0)
        return value

    def run(self):
        i = 0
        while not self.stopping.is_set():
            value = b"%d" % i
            try:
                self._timed(self.zk.set_async(self.key, value))
                self.last_value = value
                data, _ = self._timed(self.zk.get_async(self.key))
                if data != value:
                    self.errors.append("read %r after writing %r" % (data, value))
                if i % 10 == 0:
                    self._timed(self.zk.create_async("%s/acked/n%08d" % (self.root, i)))
                    self.acked.append(i)
            except Exception as exc:  # any failure of the good client is a finding
                self.errors.append("round %d: %r" % (i, exc))
                time.sleep(0.2)
            i += 1
            time.sleep(GOOD_PAUSE_S)

    def finish(self):
        """Stops the loop and checks that nothing acknowledged is missing."""
        self.stopping.set()
        self.join(timeout=LIVENESS_S * 4)
        try:
            data, _ = self.zk.get_async(self.key).get(timeout=LIVENESS_S)
            if self.last_value is not None and data != self.last_value:
                self.errors.append("final value %r, last acknowledged %r"
                                   % (data, self.last_value))
            names = set(self.zk.get_children_async(self.root + "/acked").get(timeout=LIVENESS_S))
            missing = [i for i in self.acked if "n%08d" % i not in names]
            if missing:
                self.errors.append("%d acknowledged creates missing, e.g. %s"
                                   % (len(missing), missing[:5]))
        except Exception as exc:
            self.errors.append("final check: %r" % (exc,))
        finally:
            self.zk.stop()
            self.zk.close()


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


class Figures:
    def __init__(self, scenario, target):
        self.scenario = scenario
        self.target = target
        self.ops = 0
        self.p50_ms = self.p99_ms = self.max_ms = float("nan")
        self.rss_start_mb = self.rss_peak_mb = self.rss_end_mb = float("nan")
        self.notes = []
        self.failures = []
        self.check_rss_return = False  # RSS must come back near the start afterwards

    def check(self, ok, what):
        if not ok:
            self.failures.append(what)

    def row(self):
        return ("%-18s %-9s %7d %8.1f %8.1f %8.1f %9.0f %9.0f %8.0f  %s"
                % (self.scenario, self.target, self.ops, self.p50_ms, self.p99_ms,
                   self.max_ms, self.rss_start_mb, self.rss_peak_mb, self.rss_end_mb,
                   "; ".join(self.notes)))


HEADER = ("%-18s %-9s %7s %8s %8s %8s %9s %9s %8s  %s"
          % ("scenario", "server", "ops", "p50 ms", "p99 ms", "max ms", "RSS0 MB",
             "peak MB", "end MB", "notes"))


# ---- raw-socket helpers ---------------------------------------------------------------

def raw_session(srv, timeout_ms=10000):
    c = zkwire.RawClient(srv.host, srv.port, io_timeout_s=IO_TIMEOUT_S)
    c.connect(timeout_ms=timeout_ms)
    return c


def request(xid, op, body):
    payload = struct.pack(">ii", xid, op) + body
    return struct.pack(">i", len(payload)) + payload


def pipeline(c, frames):
    """Sends frames in batches and reads every reply; returns the error codes seen."""
    errors = {}
    for start in range(0, len(frames), PIPELINE_BATCH):
        batch = frames[start:start + PIPELINE_BATCH]
        c.send_raw(b"".join(batch))
        for _ in batch:
            payload = c.recv_frame(timeout_s=60.0)
            _xid, _zxid, err = struct.unpack(">iqi", payload[:16])
            errors[err] = errors.get(err, 0) + 1
    return errors


def closed_within(sock, timeout_s):
    """True if the peer closes sock within timeout_s (what it sends meanwhile is read)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


def still_open(socks, timeout_s):
    """How many of socks the server has not closed within timeout_s (one deadline for all;
    past it each remaining socket is polled once)."""
    deadline = time.monotonic() + timeout_s
    left = 0
    for s in socks:
        if not closed_within(s, max(0.001, deadline - time.monotonic())):
            left += 1
    return left


def connect_raw(srv):
    s = socket.create_connection((srv.host, srv.port), timeout=IO_TIMEOUT_S)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


# ---- scenarios ------------------------------------------------------------------------
# Each takes (srv, prof, fig) and runs while the good client works; srv is started.

def malformed_payloads(rng):
    connect = zkwire.encode_connect(10000)
    return [
        rng.randbytes(rng.randint(1, 64)),                       # garbage
        struct.pack(">i", -1) + b"x" * 8,                        # negative length
        struct.pack(">I", 0x7FFFFFF0),                           # huge length prefix
        struct.pack(">i", FRAME_BYTES_MAX + 1) + b"x" * 16,      # one over jute.maxbuffer
        struct.pack(">i", 100) + b"x" * 10,                      # truncated frame
        struct.pack(">i", len(connect)) + connect[:-5],          # truncated ConnectRequest
        struct.pack(">i", 3) + b"abc",                           # short ConnectRequest
        struct.pack(">i", len(connect)) + connect + struct.pack(">i", 8) + b"\xff" * 8,
        struct.pack(">i", len(connect)) + connect + request(1, 9999, b""),  # unknown op
        struct.pack(">i", len(connect)) + connect + request(1, zkwire.OP_GET_DATA,
                                                            b"\x7f\xff\xff\xff"),
        b"zzzz",                                                 # unknown four letters
    ]


def scenario_malformed(srv, prof, fig):
    """Malformed and truncated frames, huge length prefixes: every such connection is
    closed by the server (or answered and then closed)."""
    rng = random.Random(9)
    not_closed = 0
    for start in range(0, prof["malformed"], ATTACK_BATCH):
        socks = []
        for i in range(start, min(prof["malformed"], start + ATTACK_BATCH)):
            payloads = malformed_payloads(rng)
            s = connect_raw(srv)
            socks.append(s)
            s.sendall(payloads[i % len(payloads)])
            if i % len(payloads) in (4, 5):
                s.shutdown(socket.SHUT_WR)  # truncated: the rest never comes
        not_closed += still_open(socks, LIVENESS_S)
        for s in socks:
            s.close()
    fig.notes.append("%d bad connections" % prof["malformed"])
    fig.check(not_closed == 0, "%d malformed connections not closed" % not_closed)


def scenario_slowloris(srv, prof, fig):
    """Handshakes sent one byte at a time, and a 1 MB length prefix trickled: the server
    closes each connection that has not completed a ConnectRequest in minSessionTimeout."""
    conns = [connect_raw(srv) for _ in range(prof["slowloris"])]
    connect = zkwire.encode_connect(10000)
    connect = struct.pack(">i", len(connect)) + connect
    big = struct.pack(">i", FRAME_BYTES_MAX)
    deadline = time.monotonic() + srv.min_session_timeout_ms / 1000.0 * 2 + 3 * LIVENESS_S
    open_conns = list(enumerate(conns))
    sent = 0
    while open_conns and time.monotonic() < deadline:
        still = []
        for i, s in open_conns:
            stream = connect if i % 2 == 0 else big + b"y" * 100
            try:
                s.sendall(stream[sent % len(stream):sent % len(stream) + 1])
                s.settimeout(0.001)
                if s.recv(1) == b"":
                    continue
                still.append((i, s))
            except socket.timeout:
                still.append((i, s))
            except OSError:
                continue
        open_conns = still
        sent += 1
        time.sleep(0.2)
    for s in conns:
        s.close()
    fig.notes.append("%d slow handshakes" % len(conns))
    fig.check(not open_conns, "%d slow handshakes still open" % len(open_conns))


def scenario_early_requests(srv, prof, fig):
    """Requests before the handshake: a getData or a multi as the first frame."""
    not_closed = 0
    body = zkwire.Writer().ustring("/").bool(False).bytes()
    for start in range(0, prof["early"], ATTACK_BATCH):
        socks = []
        for i in range(start, min(prof["early"], start + ATTACK_BATCH)):
            s = connect_raw(srv)
            socks.append(s)
            if i % 2:
                s.sendall(request(1, zkwire.OP_GET_DATA, body))
            else:
                s.sendall(request(1, zkmulti.OP_MULTI,
                                  zkmulti.encode_multi([("check", "/", -1)])))
        not_closed += still_open(socks, LIVENESS_S)
        for s in socks:
            s.close()
    fig.notes.append("%d early requests" % prof["early"])
    fig.check(not_closed == 0, "%d connections with early requests not closed" % not_closed)


def scenario_idle(srv, prof, fig):
    """Many connections that never send a byte: the server holds them cheaply and closes
    them after minSessionTimeout."""
    conns = []
    for _ in range(prof["idle"]):
        try:
            conns.append(connect_raw(srv))
        except OSError:
            break
    time.sleep(prof["hold_s"])
    if srv.kind == "synod":  # ZooKeeper keeps them
        open_count = still_open(conns, srv.min_session_timeout_ms / 1000.0 + 2 * LIVENESS_S)
        fig.check(open_count == 0, "%d idle connections never closed" % open_count)
    for s in conns:
        s.close()
    fig.notes.append("%d idle connections" % len(conns))
    fig.check(len(conns) == prof["idle"], "only %d of %d connected" % (len(conns), prof["idle"]))


def scenario_never_reads(srv, prof, fig):
    """Sessions that pipeline getData of a 1 MB node and never read the replies."""
    admin = raw_session(srv)
    admin.create("/big", b"b" * BIG_DATA_BYTES)
    admin.close_session()
    admin.close()
    body = zkwire.Writer().ustring("/big").bool(False).bytes()
    conns = []
    for _ in range(prof["never_read_conns"]):
        c = raw_session(srv)
        frames = b"".join(request(x + 1, zkwire.OP_GET_DATA, body)
                          for x in range(prof["never_read_requests"]))
        c.sock.setblocking(False)
        try:
            c.sock.send(frames)  # what the socket takes; the rest is never sent
        except OSError:
            pass
        conns.append(c)
    time.sleep(prof["hold_s"])
    for c in conns:
        c.close()
    fig.notes.append("%d sessions x %d getData of 1 MB, unread"
                     % (len(conns), prof["never_read_requests"]))
    if srv.kind == "synod":
        m = mntr(srv)
        held = int(m["zk_synod_client_memory_pauses"]) + int(
            m["zk_synod_client_memory_evictions"])
        fig.check(held > 0, "the clients' memory budget never acted")


def register_watches(srv, count, path_bytes=10):
    """A session holding `count` exist watches on distinct absent paths of about
    path_bytes each."""
    c = raw_session(srv, timeout_ms=30000)
    stem = "/w/" + "p" * max(0, path_bytes - 10)
    frames = [request(i + 1, zkwire.OP_EXISTS,
                      zkwire.Writer().ustring("%s%07d" % (stem, i)).bool(True).bytes())
              for i in range(count)]
    errors = pipeline(c, frames)
    return c, errors


def watch_count(srv):
    first = srv.four_letter(b"wchs").splitlines()
    for line in first:
        if line.startswith("Total watches:"):
            return int(line.split(":")[1])
    return -1


def scenario_watches(srv, prof, fig):
    """One session registers many watches, then closes: they are all dropped."""
    c, errors = register_watches(srv, prof["watches"])
    fig.check(set(errors) <= {ZNONODE}, "watch registrations answered %s" % errors)
    held = watch_count(srv)
    fig.check(held >= prof["watches"], "wchs shows %d watches, %d registered"
              % (held, prof["watches"]))
    c.close_session()
    c.close()
    gone = wait_until(lambda: watch_count(srv) == 0, SETTLE_TIMEOUT_S)
    fig.check(gone, "watches of the closed session still listed")
    fig.notes.append("%d watches" % prof["watches"])


def wait_until(pred, timeout_s, step_s=0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step_s)
    return pred()


def scenario_ephemerals(srv, prof, fig):
    """A session creates many ephemerals and vanishes: when it expires they all go."""
    admin = raw_session(srv)
    admin.create("/eph")
    # Long enough that the session does not expire while it creates them (ZooKeeper
    # stops reading a connection with many requests outstanding, pings included).
    c = raw_session(srv, timeout_ms=prof["ephemeral_session_ms"])
    acl = zkwire.Writer().acls(zkwire.OPEN_ACL_UNSAFE).bytes()
    frames = [request(i + 1, zkwire.OP_CREATE,
                      zkwire.Writer().ustring("/eph/e%07d" % i).buffer(b"").bytes()
                      + acl + struct.pack(">i", 1))
              for i in range(prof["ephemerals"])]
    errors = pipeline(c, frames)
    fig.check(errors == {0: prof["ephemerals"]}, "ephemeral creates answered %s" % errors)
    c.close()  # no closeSession: the session expires
    expired = wait_until(lambda: number_of_children(admin, "/eph") == 0,
                         SETTLE_TIMEOUT_S + prof["ephemeral_session_ms"] / 1000.0)
    fig.check(expired, "ephemerals of the expired session still there")
    admin.close_session()
    admin.close()
    fig.notes.append("%d ephemerals expired" % prof["ephemerals"])


def number_of_children(c, path):
    reply = c.get_children(path)
    r = zkwire.Reader(reply.body)
    return len(r.strings())


def scenario_multi_max(srv, prof, fig):
    """multi and multiRead with the most ops a frame can hold."""
    checks = (FRAME_BYTES_MAX - 8 - 9) // MULTI_CHECK_OP_BYTES
    gets = (FRAME_BYTES_MAX - 8 - 9) // MULTI_GET_OP_BYTES
    multi = zkmulti.encode_multi([("check", "/", -1)] * checks)
    multi_read = zkmulti.encode_multi([("get", "/")] * gets)
    c = raw_session(srv, timeout_ms=30000)
    bad = []
    for _ in range(prof["multi_rounds"]):
        for op, body in ((zkmulti.OP_MULTI, multi), (zkmulti.OP_MULTI_READ, multi_read)):
            reply = c.call(op, body, timeout_s=60.0)
            if reply.err != 0:
                bad.append((op, reply.err))
    c.close_session()
    c.close()
    fig.check(not bad, "largest multis answered %s" % bad[:4])
    fig.notes.append("multi of %d checks, multiRead of %d gets, x%d"
                     % (checks, gets, prof["multi_rounds"]))


FOURLW_WORDS = (b"wchp", b"wchc", b"dump", b"cons")


def scenario_fourlw_large(srv, prof, fig):
    """Many connections send wchp / wchc / dump / cons with large state and never read;
    then they go, and the memory must come back."""
    c, _ = register_watches(srv, prof["fourlw_watches"], prof["fourlw_path_bytes"])
    conns = []
    for i in range(prof["fourlw_conns"]):
        s = connect_raw(srv)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(FOURLW_WORDS[i % len(FOURLW_WORDS)])
        conns.append(s)
    time.sleep(prof["hold_s"])
    for s in conns:
        s.close()
    reply = ""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:  # the closed connections' answers are dropped
        reply = four_letter(srv.host, srv.port, b"wchp", timeout_s=LIVENESS_S * 2)
        if not reply.startswith("synod: wchp not run"):
            break
        time.sleep(0.2)
    fig.check(len(reply) > 0, "a reading client got no wchp answer")
    if srv.kind == "synod":
        m = mntr(srv)
        fig.check(int(m["zk_synod_fourlw_refused"]) > 0, "no listing refused while unsent")
        fig.check(len(reply) <= FOURLW_OUTPUT_BYTES_MAX and
                  reply.endswith("synod: answer truncated at %d bytes\n"
                                 % (FOURLW_OUTPUT_BYTES_MAX - FOURLW_MARKER_BYTES)),
                  "wchp of %d bytes is not cut with the marker: ...%r"
                  % (len(reply), reply[-80:]))
    c.close_session()
    c.close()
    fig.notes.append("%d unread 4lw over %d watches" % (len(conns), prof["fourlw_watches"]))
    fig.check_rss_return = True


SCENARIOS = [
    ("malformed", scenario_malformed),
    ("slowloris", scenario_slowloris),
    ("early_requests", scenario_early_requests),
    ("idle_connections", scenario_idle),
    ("never_reads", scenario_never_reads),
    ("watches", scenario_watches),
    ("ephemerals_expire", scenario_ephemerals),
    ("multi_max", scenario_multi_max),
    ("fourlw_large", scenario_fourlw_large),
]


def run_scenario(name, fn, target, prof):
    """Starts a server, runs one scenario beside the good client, returns its Figures."""
    fig = Figures(name, target)
    srv = make_server(target, prof, "hostile-" + name)
    try:
        pid = srv.process.pid
        good = GoodClient(srv.hosts, "/good").begin()
        time.sleep(0.5)
        fig.rss_start_mb = rss_mb(pid)
        sampler = RssSampler(pid)
        sampler.start()
        try:
            fn(srv, prof, fig)
        except Exception as exc:
            fig.failures.append("attack failed: %r" % (exc,))
        time.sleep(0.5)
        good.finish()
        settle_rss(pid, fig.rss_start_mb)
        sampler.stop()
        fig.rss_peak_mb = sampler.peak_mb
        fig.rss_end_mb = rss_mb(pid) if srv.running() else float("nan")
        fig.ops = len(good.latencies)
        if good.latencies:
            ms = [x * 1000.0 for x in good.latencies]
            fig.p50_ms, fig.p99_ms, fig.max_ms = (percentile(ms, 50), percentile(ms, 99),
                                                  max(ms))
        fig.check(srv.running(), "server died; log tail:\n%s" % srv.log_tail())
        fig.check(not good.errors, "good client: %d failures, e.g. %s"
                  % (len(good.errors), good.errors[:3]))
        fig.check(fig.ops > 0, "the good client did nothing")
        if target == "synod" and srv.running():
            m = mntr(srv)
            evictions = int(m.get("zk_synod_client_memory_evictions", "0"))
            if evictions:
                fig.notes.append("%d evicted" % evictions)
            refused = int(m.get("zk_synod_fourlw_refused", "0"))
            if refused:
                fig.notes.append("%d 4lw refused" % refused)
            limit = fig.rss_start_mb + prof["budget_mb"] + RSS_MARGIN_MB
            fig.check(fig.rss_peak_mb <= limit, "peak RSS %.0f MB over %.0f MB"
                      % (fig.rss_peak_mb, limit))
            if fig.check_rss_return:
                back = fig.rss_start_mb + RSS_RETURN_MARGIN_MB
                fig.check(fig.rss_end_mb <= back, "RSS %.0f MB after the clients left, "
                          "started at %.0f MB" % (fig.rss_end_mb, fig.rss_start_mb))
    finally:
        srv.destroy()
    return fig


def settle_rss(pid, start_mb):
    """Gives the server a moment to close what the attack left and give memory back."""
    wait_until(lambda: rss_mb(pid) <= start_mb + RSS_RETURN_MARGIN_MB / 2, 5.0, 0.2)
