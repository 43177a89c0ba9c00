"""One client process of the fault harness: a kazoo session doing register operations and
recording every one of them, as JSON lines, to its own history file.

Run inside the client namespace by run_faults.py:
    ip netns exec <ns> /usr/bin/python3 worker.py --process P --hosts H --keys K1,K2 ...

Records (linearize.py reads them; times are CLOCK_MONOTONIC seconds, which every process
on the machine shares, so histories of several workers and the nemesis log merge):
    {"type": "invoke", "p": P, "i": n, "key": k, "f": "read"|"write"|"cas", "arg": a, "t": t}
    {"type": "ok"|"fail"|"info", "p": P, "i": n, "result": r, "error": e, "t": t}
Each line is written and flushed before the operation starts (invoke) and after it ends, so
a worker killed half-way leaves an invocation without a completion, which the checker
treats as unknown.

Operations on /faults/<key>:
- read: sync() then get(), on one connection. ZooKeeper reads are answered from the local
  server's state (sequentially consistent, possibly stale); a sync first makes the server
  apply everything the leader had committed when the sync began (synod: a ReadIndex round),
  so the read that follows it in the session's order is linearizable. If the connection
  changed between the two (kazoo reconnected, maybe to another server that never saw the
  sync), the read proves nothing and is recorded as failed (reads have no effect).
  The cluster keeps its default linearizableReads=false: this is how ZooKeeper
  applications get linearizable reads, and it is what the stale-read plant breaks.
- write(v): setData with any version; ok carries the new dataVersion.
- create (key "seq", 10 % of operations): a persistent sequential node /faults/seq/n-<seq>
  holding a unique id; ok carries the name the server gave it. Checked directly
  (linearize.sequential_anomalies): names unique, increasing in real time, and after the
  run every acknowledged one is there with its id and nothing else is.
- cas(version, v): setData with that expected version (from this worker's last view of the
  key); BadVersion is a definite refusal (fail, error "badversion"), which the checker
  checks too; so is SystemZookeeperError (error "refused": a server whose disk is full
  refuses a write before proposing it), which the checker holds to: never applied.
A write or cas whose reply does not come (timeout, connection loss, session expiry) is
unknown ("info"): it may have been applied, now or later.
"""

import argparse
import json
import logging
import os
import random
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NoNodeError, SystemZookeeperError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KazooState

ROOT = "/faults"
INIT_VALUE = "init"
SESSION_TIMEOUT_S = 10.0
START_TIMEOUT_S = 60.0
SETUP_TRIES_MAX = 300
SETUP_RETRY_S = 0.2
# Longer than a failover (electionTimeoutMs=1000 → a new leader within a few seconds) so
# most writes in flight across one get their real outcome; shorter than a fault.
OP_TIMEOUT_S = 6.0
THINK_S_MAX = 0.02
CONNECT_RETRY = {"max_tries": -1, "delay": 0.1, "backoff": 1.5, "max_delay": 1.0}
SEQ_SHARE = 0.1
READ_SHARE = 0.4
WRITE_SHARE = 0.25
SEQ_DIR = ROOT + "/seq"
SEQ_KEY = "seq"
SEQ_DIGITS = 10
# A session that cannot reconnect for this long is given up for a new one, as an
# application would restart its client. A server refuses a session that has seen a
# later zxid than the server has applied (ZooKeeper's rule), so after a cluster lost
# acknowledged writes only new sessions get through, and only they can show the loss.
FRESH_SESSION_AFTER_S = 12.0


class History:
    def __init__(self, path, process):
        self.f = open(path, "a", buffering=1)
        self.process = process
        self.seq = 0

    def invoke(self, key, f, arg=None):
        n = self.seq
        self.seq += 1
        self._write({"type": "invoke", "p": self.process, "i": n, "key": key, "f": f,
                     "arg": arg, "t": time.monotonic()})
        return n

    def end(self, n, kind, result=None, error=None):
        self._write({"type": kind, "p": self.process, "i": n, "result": result,
                     "error": error, "t": time.monotonic()})

    def _write(self, rec):
        self.f.write(json.dumps(rec) + "\n")


class Connection:
    """Which TCP connection kazoo is on, and how many state changes it has seen: a read's
    sync and get prove something together only if both went over one connection."""

    def __init__(self, zk):
        self.zk = zk
        self.changes = 0
        self.down_since = None
        zk.add_listener(self._changed)

    def _changed(self, state):
        self.changes += 1
        if state == KazooState.CONNECTED:
            self.down_since = None
        elif self.down_since is None:
            self.down_since = time.monotonic()

    def down_for(self):
        return 0.0 if self.down_since is None else time.monotonic() - self.down_since

    def mark(self):
        return (self.changes, self.zk._connection._socket)

    def same(self, mark):
        changes, sock = mark
        return changes == self.changes and sock is not None and \
            self.zk._connection._socket is sock


def make_client(hosts, start_timeout_s=START_TIMEOUT_S):
    zk = KazooClient(hosts=hosts, timeout=SESSION_TIMEOUT_S, connection_retry=CONNECT_RETRY,
                     randomize_hosts=True)
    try:
        zk.start(timeout=start_timeout_s)
    except KazooTimeoutError:
        zk.stop()
        zk.close()
        raise
    return zk


def setup(hosts, keys):
    """Creates /faults/<key> = INIT_VALUE for each key; retried through a young cluster's
    elections, bounded."""
    zk = make_client(hosts)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        for key in keys:
            for attempt in range(SETUP_TRIES_MAX):
                try:
                    zk.ensure_path(SEQ_DIR)  # and ROOT, its parent
                    if zk.exists("%s/%s" % (ROOT, key)) is None:
                        zk.create("%s/%s" % (ROOT, key), INIT_VALUE.encode())
                    data, stat = zk.get("%s/%s" % (ROOT, key))
                    if (data.decode(), stat.version) != (INIT_VALUE, 0):
                        raise RuntimeError("%s exists with %r" % (key, (data, stat.version)))
                    break
                except RuntimeError:
                    raise
                except Exception:
                    if time.monotonic() > deadline or attempt + 1 == SETUP_TRIES_MAX:
                        raise
                    time.sleep(SETUP_RETRY_S)
    finally:
        zk.stop()
        zk.close()


def dump_seq(hosts, out):
    """Writes {name: data} of every node under SEQ_DIR, read after a sync, as JSON."""
    zk = make_client(hosts)
    try:
        zk.sync(SEQ_DIR)
        nodes = {}
        for name in zk.get_children(SEQ_DIR):
            data, _ = zk.get("%s/%s" % (SEQ_DIR, name))
            nodes[name] = data.decode()
    finally:
        zk.stop()
        zk.close()
    with open(out, "w") as f:
        json.dump(nodes, f)


def stopped(args):
    """The runner creates the stop file when the run is over; the deadline only bounds a
    worker whose runner died."""
    return args.stop_file is not None and os.path.exists(args.stop_file)


def error_name(e):
    if isinstance(e, KazooTimeoutError):
        return "timeout"
    return type(e).__name__


def run(args):
    rng = random.Random(args.seed * 1000 + args.process)
    keys = args.keys.split(",")
    hist = History(args.out, args.process)
    zk = make_client(args.hosts)
    conn = Connection(zk)
    last_version = {k: 0 for k in keys}
    deadline = time.monotonic() + args.seconds
    n_written = 0
    while time.monotonic() < deadline and not stopped(args):
        if conn.down_for() > FRESH_SESSION_AFTER_S:
            print("%.3f: no connection for %.0f s: a new session" % (
                time.monotonic(), conn.down_for()), file=sys.stderr, flush=True)
            zk.stop()
            zk.close()
            try:
                zk = make_client(args.hosts, max(1.0, deadline - time.monotonic()))
            except KazooTimeoutError:
                break
            conn = Connection(zk)
        roll = rng.random()
        if roll < SEQ_SHARE:
            n_written += 1
            uid = "p%d-s%d" % (args.process, n_written)
            n = hist.invoke(SEQ_KEY, "create", uid)
            try:
                name = zk.create_async(SEQ_DIR + "/n-", uid.encode(),
                                       sequence=True).get(timeout=OP_TIMEOUT_S)
            except NoNodeError:
                hist.end(n, "fail", error="nonode")
            except Exception as e:
                hist.end(n, "info", error=error_name(e))
            else:
                hist.end(n, "ok", result=name.rsplit("/", 1)[1])
            time.sleep(rng.random() * THINK_S_MAX)
            continue
        roll = (roll - SEQ_SHARE) / (1.0 - SEQ_SHARE)
        key = rng.choice(keys)
        path = "%s/%s" % (ROOT, key)
        if roll < READ_SHARE:
            n = hist.invoke(key, "read")
            mark = conn.mark()
            try:
                zk.sync_async(path).get(timeout=OP_TIMEOUT_S)
                data, stat = zk.get_async(path).get(timeout=OP_TIMEOUT_S)
            except NoNodeError:
                # The keys exist from before any worker started: checked as an anomaly.
                hist.end(n, "fail", error="nonode")
            except Exception as e:
                hist.end(n, "fail", error=error_name(e))
            else:
                if conn.same(mark):
                    hist.end(n, "ok", result=[data.decode(), stat.version])
                    last_version[key] = stat.version
                else:
                    hist.end(n, "fail", error="reconnected between sync and get")
        else:
            n_written += 1
            value = "p%d-%d" % (args.process, n_written)
            if roll < READ_SHARE + WRITE_SHARE:
                n = hist.invoke(key, "write", value)
                version = -1
            else:
                version = last_version[key]
                n = hist.invoke(key, "cas", [version, value])
            try:
                stat = zk.set_async(path, value.encode(), version).get(timeout=OP_TIMEOUT_S)
            except BadVersionError:
                hist.end(n, "fail", error="badversion")
            except NoNodeError:
                hist.end(n, "fail", error="nonode")
            except SystemZookeeperError:
                # synod refuses a write before proposing it when its disk is full: definite.
                hist.end(n, "fail", error="refused")
            except Exception as e:
                hist.end(n, "info", error=error_name(e))
            else:
                hist.end(n, "ok", result=stat.version)
                last_version[key] = stat.version
        time.sleep(rng.random() * THINK_S_MAX)
    zk.stop()
    zk.close()


def client_args(ap):
    """The options every client process of the harness takes (run_faults.py passes them),
    parsed; and quiet logs: kazoo logs every lost connection, and here they are the point."""
    ap.add_argument("--hosts", required=True)
    ap.add_argument("--process", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--out")
    ap.add_argument("--stop-file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    return args


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", required=True)
    ap.add_argument("--setup", action="store_true")
    ap.add_argument("--dump-seq", action="store_true",
                    help="write the sequential nodes and their data to --out")
    args = client_args(ap)
    if args.dump_seq:
        dump_seq(args.hosts, args.out)
        return 0
    if args.setup:
        setup(args.hosts, args.keys.split(","))
        print("setup done", flush=True)
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
