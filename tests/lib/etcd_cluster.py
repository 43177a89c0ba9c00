"""Real clusters of etcd 3.4 servers (Debian's etcd-server) with cluster.py's interface.

EtcdCluster(n) is a cluster.Cluster: the same private temp dir, members, ports, setsid'd
processes signalled by PID (kill9, stop, pause, resume), leader() and wait_leader(). What
differs is how a server is started and asked about its role:

- server N runs `etcd --name sN` with its data in sN/etcd-data, the member's client port
  as its client URL and its peer port as its peer URL on 127.0.0.1 (the election port is
  unused), and every member in --initial-cluster. A restarted server finds its WAL and
  ignores the initial-cluster flags. etcd's defaults otherwise: fsync of the WAL on every
  commit, heartbeat 100 ms, election timeout 1000 ms.
- its role comes from Maintenance/Status through etcd's JSON gateway on the client port:
  leader when the leader's member id is its own, follower when it knows another leader.

The helpers (put, range_keys, get) speak that JSON gateway too, with urllib only: keys and
values are base64 in the gateway's JSON, 64-bit integers are strings.
"""

import base64
import json
import os
import socket
import time
import urllib.request

import cluster
from cluster import HOST

HTTP_TIMEOUT_S = 2.0
CATCH_UP_TIMEOUT_S = 90.0
POLL_S = 0.05


def _b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def _prefix_end(prefix):
    """The range end that selects every key starting with `prefix` (etcd's --prefix)."""
    b = bytearray(prefix.encode())
    b[-1] += 1
    return bytes(b)


class EtcdCluster(cluster.Cluster):
    kind = "etcd"

    def url(self, port):
        return "http://%s:%d" % (HOST, port)

    def command(self, member):
        initial = ",".join("s%d=%s" % (i, self.url(m.peer_port))
                           for i, m in sorted(self.members.items()))
        client = self.url(member.client_port)
        peer = self.url(member.peer_port)
        argv = ["etcd", "--name", "s%d" % member.server_id,
                "--data-dir", os.path.join(member.dir, "etcd-data"),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", os.path.basename(self.tmp_dir)]
        return argv, None

    def _wait_listening(self, i):
        m = self.members[i]
        deadline = time.monotonic() + cluster.LISTEN_TIMEOUT_S
        for _ in range(cluster.POLL_ROUNDS_MAX):
            if not self.running(i):
                raise RuntimeError("etcd server.%d exited at start-up; log tail:\n%s"
                                   % (i, self.log_tail(i)))
            try:
                socket.create_connection((HOST, m.client_port), timeout=HTTP_TIMEOUT_S).close()
                return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                break
            time.sleep(cluster.POLL_INTERVAL_S)
        raise RuntimeError("etcd server.%d does not listen on %d after %.0fs; log tail:\n%s"
                           % (i, m.client_port, cluster.LISTEN_TIMEOUT_S, self.log_tail(i)))

    def call(self, i, path, body, timeout_s=HTTP_TIMEOUT_S):
        """POSTs `body` (JSON) to server i's gateway; the decoded reply. Raises OSError
        (urllib's errors are OSErrors) or ValueError (a reply that is not JSON)."""
        req = urllib.request.Request(
            self.url(self.members[i].client_port) + path, data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout_s) as reply:
            return json.loads(reply.read())

    def status(self, i):
        """Server i's Maintenance/Status, or None if it is down, paused or not answering."""
        if not self.running(i) or self.members[i].paused:
            return None
        try:
            return self.call(i, "/v3/maintenance/status", {})
        except (OSError, ValueError):
            return None

    def mode(self, i):
        st = self.status(i)
        if st is None or st.get("leader", "0") == "0":
            return None
        return "leader" if st["leader"] == st["header"]["member_id"] else "follower"

    def put(self, i, key, value):
        """Put through server i; the revision of the write."""
        reply = self.call(i, "/v3/kv/put", {"key": _b64(key), "value": _b64(value)})
        return int(reply["header"]["revision"])

    def range_keys(self, i, prefix):
        """Every key under `prefix` (linearizable read through server i)."""
        reply = self.call(i, "/v3/kv/range", {"key": _b64(prefix),
                                               "range_end": _b64(_prefix_end(prefix)),
                                               "keys_only": True}, timeout_s=30.0)
        return {base64.b64decode(kv["key"]).decode() for kv in reply.get("kvs", [])}

    def get(self, i, key, serializable=True):
        """The value of `key` read through server i (serializable: from its own state), or
        None when it has no such key."""
        reply = self.call(i, "/v3/kv/range", {"key": _b64(key), "serializable": serializable})
        kvs = reply.get("kvs", [])
        return base64.b64decode(kvs[0].get("value", "")) if kvs else None

    def wait_rejoined(self, i, timeout_s=CATCH_UP_TIMEOUT_S):
        """Server i follows and has applied a write made through the leader now."""
        deadline = time.monotonic() + timeout_s
        key = "/rejoin-check"
        value = "%s-%d" % (i, time.monotonic_ns())
        for _ in range(int(timeout_s / POLL_S) + 2):
            leader = self.leader()
            try:
                if leader is not None and leader != i and self.mode(i) == "follower":
                    self.put(leader, key, value)
                    while time.monotonic() < deadline:
                        if self.get(i, key) == value.encode():
                            return
                        time.sleep(POLL_S)
            except (OSError, ValueError):
                pass
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_S)
        raise RuntimeError("etcd server.%d did not rejoin in %.0fs (modes %s)"
                           % (i, timeout_s, self.modes()))
