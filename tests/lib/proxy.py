"""A TCP proxy that tests can cut and restore, to simulate a broken client connection.

The proxy listens on a free port on 127.0.0.1 and forwards every accepted connection to the
target server. cut() closes every proxied connection (both sides, like a network failure
seen by the client as a reset/EOF) and, until restore(), closes new connections at once, so
a client cannot reconnect. One thread runs a select() loop over all sockets; stop() ends it
and closes everything. Bounded: at most PROXY_CONNECTIONS_MAX connection pairs.
"""

import select
import socket
import threading


PROXY_CONNECTIONS_MAX = 64
PROXY_CHUNK_BYTES = 65536


class CuttableProxy:
    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.host, self.port = self.listener.getsockname()
        self.lock = threading.Lock()
        self.peer = {}  # socket -> the socket it forwards to
        self.is_cut = False
        self.accepted = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name="proxy", daemon=True)
        self.thread.start()

    @property
    def hosts(self):
        return "%s:%d" % (self.host, self.port)

    def cut(self):
        """Break all current connections and refuse new ones until restore()."""
        with self.lock:
            self.is_cut = True
            self._close_all()

    def restore(self):
        with self.lock:
            self.is_cut = False

    def stop(self):
        with self.lock:
            self.stopping = True
            self._close_all()
        self.thread.join(timeout=5)
        self.listener.close()

    def _close_all(self):
        for s in list(self.peer):
            try:
                s.close()
            except OSError:
                pass
        self.peer.clear()

    def _accept(self):
        client, _ = self.listener.accept()
        client.settimeout(5)
        if self.is_cut or len(self.peer) >= 2 * PROXY_CONNECTIONS_MAX:
            client.close()
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        self.accepted += 1
        self.peer[client] = upstream
        self.peer[upstream] = client

    def _pump(self, s):
        other = self.peer.get(s)
        if other is None:
            return
        try:
            data = s.recv(PROXY_CHUNK_BYTES)
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        for x in (s, other):
            self.peer.pop(x, None)
            try:
                x.close()
            except OSError:
                pass

    def _loop(self):
        while True:  # ends when stop() sets stopping
            with self.lock:
                if self.stopping:
                    return
                socks = [self.listener] + list(self.peer)
            try:
                readable, _, _ = select.select(socks, [], [], 0.05)
            except (OSError, ValueError):
                continue  # a socket was closed by cut(); rebuild the list
            with self.lock:
                if self.stopping:
                    return
                for s in readable:
                    if s is self.listener:
                        self._accept()
                    elif s in self.peer:
                        self._pump(s)
