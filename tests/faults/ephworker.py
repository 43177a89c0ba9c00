"""Sessions and ephemerals for the fault harness: an ephemeral node exists exactly while the
session that made it lives.

Three roles, each its own process in the client namespace (run_faults.py starts them):
- owner: again and again, a new session creates the ephemeral /faults/eph/p<P>-<n>, then
  for a while checks it with exists() (each ok exists proves the session alive at that
  moment, so the node must be there and owned by it), then closes the session;
- observer: again and again, sync + getChildren of /faults/eph on one connection (so the
  list is linearizable, like the register reads of worker.py);
- abandoner: again and again, a raw session (tests/lib/zkwire.py, session timeout
  ABANDON_TIMEOUT_MS) creates the ephemeral /faults/eph/x<P>-<n> and then goes silent, as a
  client partitioned away would: no ping, no close. A kazoo session of its own watches the
  node (exists watch, then sync + exists) until it is gone: the expiry observed. Then the
  abandoned session tries to come back (a ConnectRequest with its id and password on a new
  connection), which the cluster must refuse as expired.

Records (JSON lines, CLOCK_MONOTONIC, like worker.py's):
  {"type": "eph", "p": P, "event": "create", "node": n, "session": s, "ok": bool|null,
   "call": t, "ret": t}                      ok null: no reply (it may exist)
  {"type": "eph", "p": P, "event": "alive", "node": n, "session": s, "seen": bool,
   "owner": session in the Stat or null, "call": t, "ret": t}
  {"type": "eph", "p": P, "event": "closed", "node": n, "session": s, "call": t, "ret": t}
  {"type": "eph", "p": P, "event": "list", "nodes": [...], "call": t, "ret": t}
  {"type": "eph", "p": P, "event": "expired", "node": n, "session": s, "gone": t|null,
   "back": "refused"|"accepted"|null, "t": t}   gone: when its absence was observed (null:
                                                 not within ABANDON_WAIT_S); back: the
                                                 abandoned session's attempt to return

Checks (linearize.ephemeral_anomalies):
- an exists() of the owner that succeeded found the node, owned by its session: its session
  was alive at that moment (the reply came on it);
- a list whose call came after the create was acknowledged and whose reply came before an
  owner's successful exists() was invoked holds the node (the session lived across it);
- a listed node was created by some owner (no phantom);
- after the run, once every owner has closed its sessions, the directory empties within
  EPH_GONE_TIMEOUT_S (a session whose close was lost in a fault must still expire);
- an abandoned session's ephemeral, once observed gone, is in no list invoked afterwards,
  and the abandoned session is not let back in after that.
"""

import argparse
import json
import os
import random
import sys
import threading
import time

import worker
from worker import Connection, make_client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkwire  # noqa: E402

EPH_DIR = worker.ROOT + "/eph"
HOLD_S_MIN = 1.0
HOLD_S_MAX = 3.0
CHECK_EVERY_S = 0.3
OBSERVE_EVERY_S = 0.1
OP_TIMEOUT_S = worker.OP_TIMEOUT_S
# The clients' session timeout, plus a failover or two (a new leader gives every session
# a full timeout again), plus the ASan build's restarts.
EPH_GONE_TIMEOUT_S = 4 * worker.SESSION_TIMEOUT_S
EPH_GONE_POLL_S = 0.5
# The abandoned sessions' timeout (the cluster's minSessionTimeout allows it), and how long
# the abandoner waits for the expiry: a few timeouts and failovers (a new leader gives every
# session a full timeout again).
ABANDON_TIMEOUT_MS = 3000
ABANDON_WAIT_S = 60.0
EPH_FLAG_EPHEMERAL = 1


class Log:
    def __init__(self, path, process):
        self.f = open(path, "a", buffering=1)
        self.process = process

    def write(self, **rec):
        rec["type"] = "eph"
        rec["p"] = self.process
        self.f.write(json.dumps(rec) + "\n")


def owner(args, log, rng, deadline):
    n = 0
    while time.monotonic() < deadline and not worker.stopped(args):
        try:
            zk = make_client(args.hosts, max(1.0, deadline - time.monotonic()))
        except Exception:
            time.sleep(CHECK_EVERY_S)
            continue
        n += 1
        node = "%s/p%d-%d" % (EPH_DIR, args.process, n)
        session = zk.client_id[0]
        call = time.monotonic()
        try:
            zk.create_async(node, b"", ephemeral=True).get(timeout=OP_TIMEOUT_S)
            ok = True
        except Exception:
            ok = None
        log.write(event="create", node=node, session=session, ok=ok, call=call,
                  ret=time.monotonic())
        hold_until = time.monotonic() + rng.uniform(HOLD_S_MIN, HOLD_S_MAX)
        while ok and time.monotonic() < min(hold_until, deadline) and \
                not worker.stopped(args):
            call = time.monotonic()
            try:
                stat = zk.exists_async(node).get(timeout=OP_TIMEOUT_S)
            except Exception:
                break  # the session's fate is unknown from here on
            log.write(event="alive", node=node, session=session, seen=stat is not None,
                      owner=None if stat is None else stat.ephemeralOwner, call=call,
                      ret=time.monotonic())
            time.sleep(CHECK_EVERY_S)
        call = time.monotonic()
        zk.stop()
        zk.close()
        log.write(event="closed", node=node, session=session, call=call, ret=time.monotonic())


def observer(args, log, deadline):
    zk = make_client(args.hosts)
    conn = Connection(zk)
    while time.monotonic() < deadline and not worker.stopped(args):
        call = time.monotonic()
        mark = conn.mark()
        try:
            zk.sync_async(EPH_DIR).get(timeout=OP_TIMEOUT_S)
            nodes = zk.get_children_async(EPH_DIR).get(timeout=OP_TIMEOUT_S)
        except Exception:
            nodes = None
        if nodes is not None and conn.same(mark):
            log.write(event="list", nodes=sorted("%s/%s" % (EPH_DIR, c) for c in nodes),
                      call=call, ret=time.monotonic())
        time.sleep(OBSERVE_EVERY_S)
    zk.stop()
    zk.close()


def raw_session(hosts, rng):
    """A raw session with ABANDON_TIMEOUT_MS on a random server, or None."""
    servers = hosts.split(",")
    rng.shuffle(servers)
    for server in servers:
        host, port = server.rsplit(":", 1)
        try:
            c = zkwire.RawClient(host, int(port), io_timeout_s=OP_TIMEOUT_S)
        except OSError:
            continue
        try:
            if c.connect(ABANDON_TIMEOUT_MS).timeout_ms > 0:
                return c
        except Exception:
            pass
        c.close()
    return None


def come_back(hosts, session_id, passwd):
    """An abandoned session's attempt to return: "refused" (expired: timeout 0 or the
    connection closed), "accepted", or None when no server answered."""
    for server in hosts.split(","):
        host, port = server.rsplit(":", 1)
        try:
            c = zkwire.RawClient(host, int(port), io_timeout_s=OP_TIMEOUT_S)
        except OSError:
            continue
        try:
            r = c.connect(ABANDON_TIMEOUT_MS, session_id=session_id, passwd=passwd,
                          last_zxid=0)
            return "accepted" if r.timeout_ms > 0 else "refused"
        except zkwire.ConnectionClosed:
            return "refused"
        except Exception:
            continue
        finally:
            c.close()
    return None


def abandoner(args, log, rng, deadline):
    zk = make_client(args.hosts)
    conn = Connection(zk)
    n = 0
    while time.monotonic() < deadline and not worker.stopped(args):
        raw = raw_session(args.hosts, rng)
        if raw is None:
            time.sleep(CHECK_EVERY_S)
            continue
        n += 1
        node = "%s/x%d-%d" % (EPH_DIR, args.process, n)
        call = time.monotonic()
        try:
            ok = raw.create(node, b"", flags=EPH_FLAG_EPHEMERAL).err == 0
        except Exception:
            ok = None
        log.write(event="create", node=node, session=raw.session_id, ok=ok, call=call,
                  ret=time.monotonic())
        # Silent from here on: the socket stays open and says nothing, as if cut off.
        gone = None
        fired = threading.Event()
        until = time.monotonic() + ABANDON_WAIT_S
        # Bounded by ABANDON_WAIT_S: wait for the deletion, re-arming after each check.
        while time.monotonic() < until:
            fired.clear()
            mark = conn.mark()
            try:
                zk.sync_async(node).get(timeout=OP_TIMEOUT_S)
                stat = zk.exists_async(node, watch=lambda e: fired.set()).get(
                    timeout=OP_TIMEOUT_S)
            except Exception:
                time.sleep(CHECK_EVERY_S)
                continue
            if stat is None and conn.same(mark):
                gone = time.monotonic()
                break
            fired.wait(CHECK_EVERY_S * 3)
        back = come_back(args.hosts, raw.session_id, raw.passwd) if gone is not None else None
        raw.close()
        log.write(event="expired", node=node, session=raw.session_id, gone=gone, back=back,
                  t=time.monotonic())
    zk.stop()
    zk.close()


def wait_gone(hosts):
    """After the owners stopped: polls until /faults/eph is empty, bounded. Prints the
    seconds it took and what was left (JSON), for the runner."""
    zk = make_client(hosts)
    started = time.monotonic()
    left = None
    try:
        for _ in range(int(EPH_GONE_TIMEOUT_S / EPH_GONE_POLL_S) + 1):
            try:
                zk.sync(EPH_DIR)
                left = zk.get_children(EPH_DIR)
            except Exception:
                left = None
            if left == [] or time.monotonic() - started > EPH_GONE_TIMEOUT_S:
                break
            time.sleep(EPH_GONE_POLL_S)
    finally:
        zk.stop()
        zk.close()
    print(json.dumps({"seconds": time.monotonic() - started, "left": left}), flush=True)


def setup(hosts):
    zk = make_client(hosts)
    try:
        zk.ensure_path(EPH_DIR)
    finally:
        zk.stop()
        zk.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=["owner", "observer", "abandoner", "setup", "wait-gone"])
    args = worker.client_args(ap)
    if args.role == "setup":
        setup(args.hosts)
        return 0
    if args.role == "wait-gone":
        wait_gone(args.hosts)
        return 0
    log = Log(args.out, args.process)
    deadline = time.monotonic() + args.seconds
    rng = random.Random(args.seed * 1000 + args.process)
    if args.role == "owner":
        owner(args, log, rng, deadline)
    elif args.role == "abandoner":
        abandoner(args, log, rng, deadline)
    else:
        observer(args, log, deadline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
