"""A lock client of the fault harness: takes the lock recipe's lock, writes its fencing
token to a guarded register while it holds it, releases it; records everything.

Run inside the client namespace by run_faults.py (worker.py's options, plus --workload
lock is implied). The recipe is ZooKeeper's: an ephemeral sequential node under
/faults/lock; the holder is the owner of the lowest one; a waiter watches the node just
below its own. The node's sequence number is the holder's fencing token: a later holder's
node was created later, so tokens only grow.

Records, next to worker.py's:
  {"type": "lock", "p": P, "event": "acquired", "token": n, "t": t}   it learned it holds
  {"type": "lock", "p": P, "event": "released", "token": n, "t": t}   before deleting its node
  {"type": "lock", "p": P, "event": "lost", "token": n, "t": t}       its connection dropped
                                                                       while it held: from
                                                                       then on it assumes
                                                                       it does not
  fenced writes as worker.py operations on key "fence": f "write", arg the token;
  ok when the guard let it through, fail "fenced" when the register already held a
  higher token, unknown when no reply came.
The guard: sync+get the register, refuse if it holds a higher token, else setData with the
version read (so nothing got in between). linearize.fenced_step is its model; the runner
checks, directly, that no two holding intervals overlap in time and that tokens grow.

PLANTED BUG (checker_catches_two_lock_holders): SYNOD_PLANT_LOCK_SECOND_HOLDER=1 makes this
client take the lock when one node is below its own instead of none: a broken recipe
that gives the lock to two holders. It is a client-side plant: it shows the checker
catches two holders; it says nothing about the server.
"""

import argparse
import os
import random
import sys
import threading
import time
import uuid

from kazoo.exceptions import BadVersionError, NoNodeError

import worker
from worker import Connection, History, make_client

LOCK_DIR = worker.ROOT + "/lock"
FENCE = worker.ROOT + "/fence"
FENCE_KEY = "fence"
ACQUIRE_TIMEOUT_S = 20.0
WAIT_SLICE_S = 0.5
HOLD_WRITES_MAX = 3
HOLD_PAUSE_S_MAX = 0.2
BETWEEN_LOCKS_S_MAX = 0.3
OP_TIMEOUT_S = worker.OP_TIMEOUT_S
PLANT_ENV = "SYNOD_PLANT_LOCK_SECOND_HOLDER"
SEQ_DIGITS = 10


class Abandon(Exception):
    """The session can no longer be trusted with the lock: start a new one."""


def seq_of(name):
    return int(name[-SEQ_DIGITS:])


class Locker:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed * 1000 + args.process)
        self.hist = History(args.out, args.process)
        self.planted = os.environ.get(PLANT_ENV) == "1"
        self.zk = None
        self.conn = None
        self.node = None  # our lock node's full path, once known
        self.prefix = None

    def event(self, event, token, t=None):
        self.hist._write({"type": "lock", "p": self.args.process, "event": event,
                          "token": token, "t": time.monotonic() if t is None else t})

    def session(self, deadline):
        if self.zk is not None:
            self.zk.stop()
            self.zk.close()
        self.zk = make_client(self.args.hosts, max(1.0, deadline - time.monotonic()))
        self.conn = Connection(self.zk)
        self.node = None

    def call(self, async_result):
        return async_result.get(timeout=OP_TIMEOUT_S)

    def connected(self):
        return self.conn.down_since is None

    # ---- the recipe ----

    def find_own_node(self):
        """After a create whose reply was lost: our node, if it was made, by its prefix."""
        for child in self.call(self.zk.get_children_async(LOCK_DIR)):
            if child.startswith(self.prefix):
                return "%s/%s" % (LOCK_DIR, child)
        return None

    def acquire(self, deadline):
        """Returns our token once we hold the lock; None if the deadline passed first."""
        self.prefix = "p%d-%s-" % (self.args.process, uuid.uuid4().hex[:8])
        try:
            self.node = self.call(self.zk.create_async(
                "%s/%s" % (LOCK_DIR, self.prefix), b"", ephemeral=True, sequence=True))
        except Exception:
            try:
                self.node = self.find_own_node()
            except Exception:
                raise Abandon()
            if self.node is None:
                raise Abandon()
        mine = seq_of(self.node)
        while time.monotonic() < deadline and not worker.stopped(self.args):
            children = self.call(self.zk.get_children_async(LOCK_DIR))
            names = {seq_of(c): c for c in children}
            if mine not in names:
                raise Abandon()  # our session ended and took the node with it
            lower = sorted(s for s in names if s < mine)
            if not lower or (self.planted and len(lower) == 1):
                return mine
            fired = threading.Event()
            stat = self.call(self.zk.exists_async("%s/%s" % (LOCK_DIR, names[lower[-1]]),
                                                  watch=lambda e: fired.set()))
            if stat is not None:
                fired.wait(WAIT_SLICE_S)
            if not self.connected():
                raise Abandon()
        self.release_node()
        return None

    def release_node(self):
        try:
            self.call(self.zk.delete_async(self.node))
        except NoNodeError:
            pass
        except Exception:
            raise Abandon()
        self.node = None

    def fenced_write(self, token):
        n = self.hist.invoke(FENCE_KEY, "write", token)
        mark = self.conn.mark()
        try:
            self.call(self.zk.sync_async(FENCE))
            data, stat = self.call(self.zk.get_async(FENCE))
            if not self.conn.same(mark):
                self.hist.end(n, "fail", error="reconnected between sync and get")
                return
            if int(data) > token:
                self.hist.end(n, "fail", error="fenced")
                return
            self.call(self.zk.set_async(FENCE, str(token).encode(), stat.version))
        except BadVersionError:
            self.hist.end(n, "fail", error="raced")
        except Exception as e:
            self.hist.end(n, "info", error=worker.error_name(e))
            raise Abandon()
        else:
            self.hist.end(n, "ok")

    def hold(self, token):
        self.event("acquired", token)
        try:
            for _ in range(self.rng.randint(1, HOLD_WRITES_MAX)):
                if not self.connected():
                    break
                self.fenced_write(token)
                time.sleep(self.rng.random() * HOLD_PAUSE_S_MAX)
        except Abandon:
            pass
        if not self.connected():
            self.event("lost", token, t=self.conn.down_since)
            raise Abandon()
        self.event("released", token)
        self.release_node()

    def run(self):
        deadline = time.monotonic() + self.args.seconds
        self.session(deadline)
        while time.monotonic() < deadline and not worker.stopped(self.args):
            try:
                token = self.acquire(min(deadline, time.monotonic() + ACQUIRE_TIMEOUT_S))
                if token is not None:
                    self.hold(token)
            except Abandon:
                self.renew(deadline)
            except Exception:
                # A reply that never came during acquire: the node may be ours and the
                # session alive, so only a new session surely lets go of it.
                self.renew(deadline)
            time.sleep(self.rng.random() * BETWEEN_LOCKS_S_MAX)
        if self.zk is not None:
            self.zk.stop()
            self.zk.close()

    def renew(self, deadline):
        if time.monotonic() >= deadline:
            return
        try:
            self.session(deadline)
        except Exception:
            time.sleep(WAIT_SLICE_S)


def setup(hosts):
    """/faults/lock (the recipe's parent) and /faults/fence = 0."""
    zk = make_client(hosts)
    try:
        zk.ensure_path(LOCK_DIR)
        if zk.exists(FENCE) is None:
            zk.create(FENCE, b"0")
    finally:
        zk.stop()
        zk.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--setup", action="store_true")
    args = worker.client_args(ap)
    if args.setup:
        setup(args.hosts)
        print("setup done", flush=True)
        return 0
    if os.environ.get(PLANT_ENV) == "1":
        print("PLANTED BUG: this client takes the lock with one node below its own",
              file=sys.stderr, flush=True)
    Locker(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
