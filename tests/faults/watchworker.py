"""A watcher for the fault harness: keeps a data watch on every register and re-reads a
register each time its watch fires, across reconnections to other servers (kazoo resends
its watches with SetWatches) and across new sessions (it sets them again).

Records (JSON lines, CLOCK_MONOTONIC):
  {"type": "watch", "p": P, "key": k, "why": "event"|"start"|"session", "version": v,
   "value": x, "t": t}          a read after the watch fired, or after (re)arming it
  {"type": "watch", "p": P, "key": k, "why": "final", "version": v, "value": x,
   "notified": v2, "t": t}      after the writers stopped: the register's last version
                                (sync+get) and the last one a notification brought

Checks (linearize.watch_anomalies): per register, the versions read only grow (a watcher
never goes back in time, whichever server it moves to); the same (version, value) always;
and at the end the last version notified is the register's last version: the final change
was not missed.
"""

import argparse
import json
import sys
import threading
import time

from kazoo.protocol.states import KazooState

import worker
from worker import make_client

OP_TIMEOUT_S = worker.OP_TIMEOUT_S
WAKE_S = 0.2
# After the writers stop: how long a notification of the last change may take to arrive
# (a write applied late, a reconnection to another server).
SETTLE_S = 2 * worker.OP_TIMEOUT_S
FINAL_POLL_S = 0.2


class Watcher:
    def __init__(self, args):
        self.args = args
        self.keys = args.keys.split(",")
        self.f = open(args.out, "a", buffering=1)
        self.fired = {k: threading.Event() for k in self.keys}
        self.why = {k: "start" for k in self.keys}
        self.last = {}
        self.lock = threading.Lock()
        self.zk = None
        self.session = None

    def write(self, **rec):
        rec.update(type="watch", p=self.args.process, t=time.monotonic())
        self.f.write(json.dumps(rec) + "\n")

    def on_state(self, state):
        """Runs on kazoo's thread when the connection state changes."""
        if state != KazooState.CONNECTED or self.zk is None or self.zk.client_id is None:
            return
        if self.zk.client_id[0] != self.session:
            # A new session has none of the old one's watches: arm them all again.
            self.session = self.zk.client_id[0]
            for k in self.keys:
                self.why[k] = "session"
                self.fired[k].set()

    def watch_of(self, key):
        def fire(event):
            self.why[key] = "event"
            self.fired[key].set()
        return fire

    def read(self, key):
        path = "%s/%s" % (worker.ROOT, key)
        data, stat = self.zk.get_async(path, watch=self.watch_of(key)).get(
            timeout=OP_TIMEOUT_S)
        self.last[key] = stat.version
        self.write(key=key, why=self.why[key], version=stat.version, value=data.decode())

    def run(self):
        deadline = time.monotonic() + self.args.seconds
        self.zk = make_client(self.args.hosts)
        self.session = self.zk.client_id[0]
        self.zk.add_listener(self.on_state)
        for k in self.keys:
            self.fired[k].set()
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
        """Re-reads every register whose watch fired; waits up to wait_s for one to."""
        pending = [k for k in self.keys if self.fired[k].is_set()]
        if not pending:
            time.sleep(wait_s)
            return
        for k in pending:
            self.fired[k].clear()
            try:
                self.read(k)
            except Exception:
                self.fired[k].set()  # not armed: try again
                time.sleep(wait_s)

    def final(self, key):
        """The register's last version, read linearizably, against the last notified."""
        path = "%s/%s" % (worker.ROOT, key)
        version = value = None
        for _ in range(int(SETTLE_S / FINAL_POLL_S)):
            try:
                self.zk.sync_async(path).get(timeout=OP_TIMEOUT_S)
                data, stat = self.zk.get_async(path).get(timeout=OP_TIMEOUT_S)
                version, value = stat.version, data.decode()
            except Exception:
                time.sleep(FINAL_POLL_S)
                continue
            if self.last.get(key) == version:
                break
            self.serve(FINAL_POLL_S)  # a notification may still be on its way
        self.write(key=key, why="final", version=version, value=value,
                   notified=self.last.get(key))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", required=True)
    args = worker.client_args(ap)
    Watcher(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
