"""A watcher for the fault harness: data watches on every register, a child watch on the
ephemerals' directory, and an exists watch on every ephemeral it sees there (which fires
when the node is deleted, its owner's session closed or expired). Each watch is read again
(and re-armed) when it fires, across reconnections to other servers (kazoo 2.8 drops its
watches when the connection is lost and calls them with a NONE event: they are armed again)
and across new sessions (it arms them all again). Every read is
sync + read over one connection (a pair split by a reconnection is tried again), so a read
after a notification sees the change that caused it, wherever the watcher now is.

Records (JSON lines, CLOCK_MONOTONIC; why = "event" (a notification) | "start" | "session" |
"reconnect" (armed again)):
  {"type": "watch", "kind": "data", "p": P, "key": k, "why": w, "version": v, "value": x,
   "armed": a, "t": t}          a register read after its watch fired, or after (re)arming;
                                after a notification, armed is the highest version read
                                when the watches that fired were set (null: unknown)
  {"type": "watch", "kind": "data", "p": P, "key": k, "why": "final", "version": v,
   "value": x, "notified": v2, "t": t}   after the writers stopped: the register's last
                                version and the last one a notification brought
  {"type": "watch", "kind": "children", "p": P, "key": "eph", "why": w, "cversion": c,
   "children": [...], "armed": a, "t0": t_invoked, "t": t}   the directory's children
  {"type": "watch", "kind": "deleted", "p": P, "key": name, "why": "event"|"gone",
   "exists": bool, "t": t}      an exists watch on the ephemeral fired NodeDeleted (or it
                                was gone when armed); exists is what sync + exists said then

Each arming of a watch is told apart (its own callback, and the version its read saw): a
read that timed out may still set its watch when the reply comes late, so two of the
watcher's watches can fire for one change, and only the version a fired watch was set at
says what that notification promised.

Checks (linearize.watch_anomalies): per register, the versions read only grow, and a read
after a notification has a higher version than the fired watches were set at (a
notification without a change); the same (version, value) always; at the end the last
version notified is the register's last version. The directory's cversion only grows, and
after a notification exceeds the cversion the fired watches were set at. A node is reported deleted at most once, really is
gone then, and no listing invoked after that holds it again.
"""

import argparse
import json
import sys
import threading
import time

from kazoo.protocol.states import EventType, KazooState

import worker
from worker import make_client

OP_TIMEOUT_S = worker.OP_TIMEOUT_S
EPH_DIR = worker.ROOT + "/eph"  # ephworker's directory
WAKE_S = 0.2
# After the writers stop: how long a notification of the last change may take to arrive
# (a write applied late, a reconnection to another server).
SETTLE_S = 2 * worker.OP_TIMEOUT_S
FINAL_POLL_S = 0.2


DATA, CHILDREN, NODE = "data", "children", "node"


class Watcher:
    def __init__(self, args):
        self.args = args
        self.keys = args.keys.split(",")
        self.f = open(args.out, "a", buffering=1)
        self.lock = threading.Lock()
        # target -> (why its watch must be read again, ids of the armings that fired); a
        # target is (kind, key)
        self.due = {}
        # arming id -> the version (cversion) its read saw; None until that read succeeded
        self.armed = {}
        self.armings = 0
        self.last = {}
        self.nodes = set()  # ephemerals with an exists watch armed, or found deleted
        self.deleted = set()
        self.zk = None
        self.conn = None
        self.session = None

    def write(self, **rec):
        rec.update(type="watch", p=self.args.process, t=time.monotonic())
        self.f.write(json.dumps(rec) + "\n")

    def mark_due(self, target, why, fired=()):
        with self.lock:
            first, ids = self.due.get(target, (why, frozenset()))
            self.due[target] = (first, ids | frozenset(fired))

    def on_state(self, state):
        """Runs on kazoo's thread when the connection state changes."""
        if state != KazooState.CONNECTED or self.zk is None or self.zk.client_id is None:
            return
        if self.zk.client_id[0] != self.session:
            # A new session has none of the old one's watches: arm them all again.
            self.session = self.zk.client_id[0]
            for t in self.targets():
                self.mark_due(t, "session")

    def targets(self):
        with self.lock:
            nodes = [(NODE, n) for n in self.nodes - self.deleted]
        dirs = [(CHILDREN, "eph")] if self.args.eph else []
        return [(DATA, k) for k in self.keys] + dirs + nodes

    def watch_of(self, target):
        """A new arming's (id, callback)."""
        with self.lock:
            self.armings += 1
            arm = self.armings
            self.armed[arm] = None

        def fire(event):
            # kazoo drops every watch when the connection is lost and calls it with a NONE
            # event: no change, just "arm me again".
            if event.type == EventType.NONE:
                with self.lock:
                    self.armed.pop(arm, None)
                self.mark_due(target, "reconnect")
            else:
                self.mark_due(target, "event", (arm,))
        return arm, fire

    def armed_at(self, fired):
        """The highest version the fired armings read (None: none is known)."""
        with self.lock:
            seen = [self.armed.pop(a, None) for a in fired]
        seen = [v for v in seen if v is not None]
        return max(seen) if seen else None

    def synced(self, path, read):
        """sync + read(path) over one connection: the read's result, or raises."""
        mark = self.conn.mark()
        self.zk.sync_async(path).get(timeout=OP_TIMEOUT_S)
        result = read()
        if not self.conn.same(mark):
            raise RuntimeError("reconnected between sync and read")
        return result

    def read(self, target, why, fired):
        kind, key = target
        arm, fire = self.watch_of(target)
        if kind == DATA:
            path = "%s/%s" % (worker.ROOT, key)
            data, stat = self.synced(path, lambda: self.zk.get_async(
                path, watch=fire).get(timeout=OP_TIMEOUT_S))
            self.set_armed(arm, stat.version)
            self.last[key] = stat.version
            self.write(kind=DATA, key=key, why=why, version=stat.version, value=data.decode(),
                       armed=self.armed_at(fired))
        elif kind == CHILDREN:
            t0 = time.monotonic()
            children, stat = self.synced(EPH_DIR, lambda: self.zk.get_children_async(
                EPH_DIR, watch=fire, include_data=True).get(timeout=OP_TIMEOUT_S))
            self.set_armed(arm, stat.cversion)
            self.write(kind=CHILDREN, key="eph", why=why, cversion=stat.cversion,
                       children=sorted(children), armed=self.armed_at(fired), t0=t0)
            with self.lock:
                new = [c for c in children if c not in self.nodes]
                self.nodes.update(new)
            for c in new:
                self.mark_due((NODE, c), "start")
        else:
            path = "%s/%s" % (EPH_DIR, key)
            stat = self.synced(path, lambda: self.zk.exists_async(
                path, watch=fire).get(timeout=OP_TIMEOUT_S))
            if (why == "event" or stat is None) and key not in self.deleted:
                # Deleted (the only change an ephemeral sees after its creation); once.
                self.deleted.add(key)
                self.write(kind="deleted", key=key, why=why if why == "event" else "gone",
                           exists=stat is not None)

    def set_armed(self, arm, version):
        with self.lock:
            if arm in self.armed:  # not dropped by a reconnection meanwhile
                self.armed[arm] = version

    def run(self):
        deadline = time.monotonic() + self.args.seconds
        self.zk = make_client(self.args.hosts)
        self.conn = worker.Connection(self.zk)
        self.session = self.zk.client_id[0]
        self.zk.add_listener(self.on_state)
        for t in self.targets():
            self.mark_due(t, "start")
        while time.monotonic() < deadline and not worker.stopped(self.args):
            self.serve(WAKE_S)
        # The writers are stopping too; notifications of their last writes may still come.
        settle = time.monotonic() + SETTLE_S
        while time.monotonic() < settle:
            self.serve(WAKE_S)
        for k in self.keys:
            self.final(k)
        self.zk.stop()
        self.zk.close()

    def serve(self, wait_s):
        """Reads every target whose watch fired; waits up to wait_s for one to."""
        with self.lock:
            due, self.due = self.due, {}
        if not due:
            time.sleep(wait_s)
            return
        for target, (why, fired) in due.items():
            try:
                self.read(target, why, fired)
            except Exception:
                self.mark_due(target, why, fired)  # not armed: try again
                time.sleep(wait_s)

    def final(self, key):
        """The register's last version, read linearizably, against the last notified."""
        path = "%s/%s" % (worker.ROOT, key)
        version = value = None
        for _ in range(int(SETTLE_S / FINAL_POLL_S)):
            try:
                data, stat = self.synced(path, lambda: self.zk.get_async(path).get(
                    timeout=OP_TIMEOUT_S))
                version, value = stat.version, data.decode()
            except Exception:
                time.sleep(FINAL_POLL_S)
                continue
            if self.last.get(key) == version:
                break
            self.serve(FINAL_POLL_S)  # a notification may still be on its way
        self.write(kind=DATA, key=key, why="final", version=version, value=value,
                   notified=self.last.get(key))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", required=True)
    ap.add_argument("--no-eph", dest="eph", action="store_false",
                    help="no ephemerals' directory to watch (the run has no owners)")
    args = worker.client_args(ap)
    Watcher(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
