"""A private network of Linux network namespaces for the fault harness.

    hub namespace:     bridge br0, one veth end per member (vs1 .. vsN, vc)
    server namespaces: eth0 = 198.18.0.<i>/24 (i = 1..N), lo
    client namespace:  eth0 = 198.18.0.100/24, lo

Nothing is created in the namespace the harness runs in: each veth pair is made with both
ends already inside their namespaces, there is no default route and no address outside
198.18.0.0/15 (RFC 2544's block for test networks), so no packet can leave the namespaces
made here. Every name starts with `synf<pid>-`, the harness's PID, so two harnesses never
collide and a later harness can tell that a namespace belongs to a dead one and delete it
(clean_stale()).

Faults act inside server namespaces only (clients are never cut off; what a client sees of
a cut server is that server's behaviour):
- partitions are nftables rules in table `inet synodfault`: `isolate(i, peers)` drops what i
  sends to peers and what it receives from them; `drop_from(i, peers)` drops only what i
  receives (a one-way link);
- slow, lossy and reordering links are a `tc netem` qdisc on the server's eth0 (egress);
  on a kernel without sch_netem, a token bucket (tbf) makes a slow link and an nftables
  rule drops packets at random (degrade() says which was used).
heal() removes both from every server.

Namespaces cannot be made without CAP_SYS_ADMIN; create() then raises NetnsUnavailable with
the command's error, and callers fail with it: a fault run that could not build its network
tested nothing and must not pass.
"""

import atexit
import ctypes
import ipaddress
import os
import re
import signal
import socket
import subprocess
import threading

PREFIX = "synf"
SUBNET = ipaddress.ip_network("198.18.0.0/24")
TEST_BLOCK = ipaddress.ip_network("198.18.0.0/15")
PREFIX_LEN = 24
CLIENT_HOST_NUMBER = 100
SERVERS_MAX = 9
COMMAND_TIMEOUT_S = 20.0
NFT_TABLE = "synodfault"
CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
NETEM_DELAY = "100ms"
NETEM_JITTER = "50ms"
NETEM_REORDER = "25%"
LINK_LOSS_PERCENT = 20
# A link that carries ~25 KB/s: heartbeats pass, appends and snapshot chunks queue up.
LINK_SLOW_RATE = "200kbit"
LINK_SLOW_BURST = "4kb"
LINK_SLOW_LATENCY = "500ms"
NAME_RE = re.compile(r"^%s(\d+)-" % PREFIX)


class NetnsUnavailable(RuntimeError):
    """Namespaces (or veths, bridges, nftables) cannot be made here."""


def _run(argv, input_text=None, check=True):
    p = subprocess.run(argv, input=input_text, stdin=None if input_text else subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=COMMAND_TIMEOUT_S)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                               (p.stderr or p.stdout).strip()))
    return p


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_namespaces():
    p = _run(["ip", "netns", "list"], check=False)
    # `name (id: 3)` or just `name`
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def clean_stale(log=print):
    """Deletes namespaces left by harnesses whose PID is gone (killed with -9, say)."""
    removed = []
    for name in list_namespaces():
        m = NAME_RE.match(name)
        if m and not pid_alive(int(m.group(1))):
            _run(["ip", "netns", "delete", name], check=False)
            removed.append(name)
    if removed:
        log("netns: removed %d stale namespaces of dead harnesses: %s"
            % (len(removed), " ".join(removed)))
    return removed


_libc = ctypes.CDLL(None, use_errno=True)


class _InNamespace:
    """Runs the calling thread inside a namespace for the duration of a with block.

    A network namespace is a property of a thread (setns(2)), and a socket stays in the
    namespace it was created in, so the harness talks to servers (4lw) without a helper
    process per question."""

    def __init__(self, name):
        self.name = name
        self.saved = None

    def __enter__(self):
        self.saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open(os.path.join(NETNS_DIR, self.name), os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, "setns(%s): %s" % (self.name, os.strerror(err)))
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        try:
            if _libc.setns(self.saved, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                # A thread left in the wrong namespace would send the harness's own traffic
                # there; nothing sane can continue.
                raise OSError(err, "setns back: %s" % os.strerror(err))
        finally:
            os.close(self.saved)
        return False


class Network:
    """n server namespaces and one client namespace on one bridge. create() builds it,
    destroy() removes it; destroy also runs at exit and on SIGINT/SIGTERM."""

    def __init__(self, n_servers, log=print):
        if not 1 <= n_servers <= SERVERS_MAX:
            raise ValueError("1..%d servers" % SERVERS_MAX)
        self.n = n_servers
        self.log = log
        self.tag = "%s%d-" % (PREFIX, os.getpid())
        self.hub = self.tag + "hub"
        self.client_ns = self.tag + "cli"
        self.created = []
        self._lock = threading.Lock()
        self._previous_handlers = {}
        self.qdisc = set()
        self._netem_available = None
        self.cuts = {}

    # ---- names and addresses ----

    def server_ns(self, i):
        return "%ss%d" % (self.tag, i)

    def server_addr(self, i):
        return str(SUBNET.network_address + i)

    @property
    def client_addr(self):
        return str(SUBNET.network_address + CLIENT_HOST_NUMBER)

    def ids(self):
        return list(range(1, self.n + 1))

    # ---- lifetime ----

    def create(self):
        clean_stale(self.log)
        atexit.register(self.destroy)
        self._install_signal_handlers()
        for addr in [self.server_addr(i) for i in self.ids()] + [self.client_addr]:
            assert ipaddress.ip_address(addr) in TEST_BLOCK, addr
        try:
            self._add_ns(self.hub)
            self._ip(self.hub, "link", "add", "br0", "type", "bridge")
            self._ip(self.hub, "link", "set", "br0", "up")
            for i in self.ids():
                self._member(self.server_ns(i), "vs%d" % i, self.server_addr(i))
            self._member(self.client_ns, "vc", self.client_addr)
            for i in self.ids():
                # An empty table with both hooks, so partitions only add rules.
                _run(["ip", "netns", "exec", self.server_ns(i), "nft", "-f", "-"],
                     input_text=self._nft_base())
        except (RuntimeError, OSError) as e:
            self.destroy()
            raise NetnsUnavailable("cannot build the test network (needs root, iproute2 and "
                                   "nftables): %s" % e) from e
        self.log("netns: %d servers %s..%s and clients %s on bridge %s/br0"
                 % (self.n, self.server_addr(1), self.server_addr(self.n), self.client_addr,
                    self.hub))
        return self

    def _add_ns(self, name):
        _run(["ip", "netns", "add", name])
        self.created.append(name)
        self._ip(name, "link", "set", "lo", "up")

    def _member(self, ns, hub_end, addr):
        self._add_ns(ns)
        _run(["ip", "link", "add", "eth0", "netns", ns, "type", "veth",
              "peer", "name", hub_end, "netns", self.hub])
        self._ip(self.hub, "link", "set", hub_end, "master", "br0")
        self._ip(self.hub, "link", "set", hub_end, "up")
        self._ip(ns, "addr", "add", "%s/%d" % (addr, PREFIX_LEN), "dev", "eth0")
        self._ip(ns, "link", "set", "eth0", "up")

    def _ip(self, ns, *args):
        return _run(["ip", "-n", ns] + list(args))

    def destroy(self):
        """Removes every namespace this object made (their veths and bridge go with them).
        Idempotent; processes still inside a namespace keep it alive until they exit, so
        callers stop their servers first."""
        with self._lock:
            while self.created:
                _run(["ip", "netns", "delete", self.created.pop()], check=False)
        self._restore_signal_handlers()

    def _install_signal_handlers(self):
        if threading.current_thread() is not threading.main_thread():
            return

        def on_signal(signum, frame):
            # SystemExit unwinds the harness's finally blocks (its servers are stopped by
            # PID there) before atexit removes the namespaces.
            raise SystemExit(128 + signum)

        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous_handlers[sig] = signal.signal(sig, on_signal)

    def _restore_signal_handlers(self):
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler)
        self._previous_handlers.clear()

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.destroy()
        return False

    # ---- running things inside ----

    def exec_argv(self, ns, argv):
        """argv that runs `argv` inside namespace ns. `ip netns exec` execs the command
        itself (no fork), so the PID the caller gets is the command's."""
        return ["ip", "netns", "exec", ns] + list(argv)

    def inside(self, ns):
        """with net.inside(ns): sockets made by this thread live in ns."""
        return _InNamespace(ns)

    def connect(self, ns, addr, port, timeout_s):
        with self.inside(ns):
            return socket.create_connection((addr, port), timeout=timeout_s)

    # ---- partitions ----

    def _nft_base(self):
        return ("table inet %s {\n"
                "  chain input { type filter hook input priority 0; policy accept; }\n"
                "  chain output { type filter hook output priority 0; policy accept; }\n"
                "}\n" % NFT_TABLE)

    def _nft(self, i, script):
        _run(["ip", "netns", "exec", self.server_ns(i), "nft", "-f", "-"], input_text=script)

    def _addr_set(self, peers):
        return "{ %s }" % ", ".join(self.server_addr(j) for j in sorted(peers))

    def isolate(self, i, peers):
        """Server i neither hears from nor reaches `peers` (server ids)."""
        peers = [j for j in peers if j != i]
        if not peers:
            return
        s = self._addr_set(peers)
        self._nft(i, "add rule inet %s input ip saddr %s drop\n"
                     "add rule inet %s output ip daddr %s drop\n" % (NFT_TABLE, s, NFT_TABLE, s))
        self.cuts.setdefault(i, set()).update(("both", j) for j in peers)

    def drop_from(self, i, peers):
        """Server i no longer hears from `peers`; what it sends still arrives."""
        peers = [j for j in peers if j != i]
        if not peers:
            return
        self._nft(i, "add rule inet %s input ip saddr %s drop\n" % (NFT_TABLE,
                                                                 self._addr_set(peers)))
        self.cuts.setdefault(i, set()).update(("in", j) for j in peers)

    def partition(self, groups):
        """Every server hears only the servers of the groups it is in (a server may be in
        several groups: a bridge)."""
        for i in self.ids():
            reach = set()
            for g in groups:
                if i in g:
                    reach.update(g)
            self.isolate(i, [j for j in self.ids() if j not in reach])

    # ---- links ----

    def netem_available(self):
        """Whether this kernel has sch_netem (some CI kernels are built without it); tried
        once on the client namespace's loopback."""
        if self._netem_available is None:
            p = _run(["tc", "-n", self.client_ns, "qdisc", "add", "dev", "lo", "root", "netem",
                      "delay", "1ms"], check=False)
            self._netem_available = p.returncode == 0
            if self._netem_available:
                _run(["tc", "-n", self.client_ns, "qdisc", "del", "dev", "lo", "root"],
                     check=False)
        return self._netem_available

    def degrade(self, i, kind):
        """Makes server i's outgoing link `slow`, `lossy` or `reorder`ing; returns a line
        saying how. With netem: delay with jitter, random loss, reordering. Without it: a
        slow link is a token bucket at LINK_SLOW_RATE (its queue is the delay), loss is an
        nftables rule dropping LINK_LOSS_PERCENT of packets at random, and reordering is
        not possible (returns None)."""
        ns = self.server_ns(i)
        if self.netem_available():
            spec = {"slow": ["delay", NETEM_DELAY, NETEM_JITTER, "distribution", "normal"],
                    "lossy": ["loss", "%d%%" % LINK_LOSS_PERCENT],
                    "reorder": ["delay", NETEM_DELAY, "reorder", NETEM_REORDER, "50%"]}[kind]
            _run(["tc", "-n", ns, "qdisc", "replace", "dev", "eth0", "root", "netem"] + spec)
            self.qdisc.add(i)
            return "netem " + " ".join(spec)
        if kind == "slow":
            spec = ["rate", LINK_SLOW_RATE, "burst", LINK_SLOW_BURST, "latency",
                    LINK_SLOW_LATENCY]
            _run(["tc", "-n", ns, "qdisc", "replace", "dev", "eth0", "root", "tbf"] + spec)
            self.qdisc.add(i)
            return "tbf " + " ".join(spec)
        if kind == "lossy":
            self._nft(i, "add rule inet %s output numgen random mod 100 < %d drop\n"
                      % (NFT_TABLE, LINK_LOSS_PERCENT))
            return "nftables drop %d%% at random" % LINK_LOSS_PERCENT
        return None

    def heal(self):
        """Removes every partition rule, drop rule and qdisc."""
        for i in self.ids():
            _run(["ip", "netns", "exec", self.server_ns(i), "nft", "flush", "table", "inet",
                  NFT_TABLE], check=False)
            if i in self.qdisc:
                _run(["tc", "-n", self.server_ns(i), "qdisc", "del", "dev", "eth0", "root"],
                     check=False)
        self.qdisc.clear()
        self.cuts.clear()

    def rules(self, i):
        """The nftables ruleset of server i's namespace (for logs and tests)."""
        return _run(["ip", "netns", "exec", self.server_ns(i), "nft", "list", "ruleset"]).stdout
