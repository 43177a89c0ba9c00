"""A minimal ZooKeeper wire-protocol client over a raw socket, for protocol-level tests.

Written from the protocol description (docs/protocol-notes.md, "The protocol as synod serves
it"), not from src/proto. It exists for what kazoo 2.8 cannot send (addWatch,
removeWatches/checkWatches, getAllChildrenNumber, getEphemerals, whoAmI, container/TTL
creates, SetWatches on reconnect) and for checks on the bytes themselves (handshake length,
error replies without body, closed connections).

Encoding is jute: big-endian ints/longs, length-prefixed buffers/strings (-1 = null),
count-prefixed vectors. Every frame is a 4-byte length + payload. The client is synchronous:
call() sends one request and reads frames until the reply with the same xid arrives; watch
notifications (xid -1) read meanwhile are queued for wait_event(). Every read is bounded by
a timeout; every length read from the server is checked against the bytes available.
"""

import collections
import socket
import struct
import time

FRAME_BYTES_MAX = 16 * 1024 * 1024

# opcodes
OP_CREATE = 1
OP_DELETE = 2
OP_EXISTS = 3
OP_GET_DATA = 4
OP_SET_DATA = 5
OP_GET_CHILDREN = 8
OP_SYNC = 9
OP_PING = 11
OP_GET_CHILDREN2 = 12
OP_CREATE2 = 15
OP_CHECK_WATCHES = 17
OP_REMOVE_WATCHES = 18
OP_CREATE_CONTAINER = 19
OP_CREATE_TTL = 21
OP_AUTH = 100
OP_SET_WATCHES = 101
OP_GET_EPHEMERALS = 103
OP_GET_ALL_CHILDREN_NUMBER = 104
OP_SET_WATCHES2 = 105
OP_ADD_WATCH = 106
OP_WHO_AM_I = 107
OP_CLOSE_SESSION = -11

XID_NOTIFICATION = -1
XID_PING = -2
XID_AUTH = -4
XID_SET_WATCHES = -8

# event types
EV_NODE_CREATED = 1
EV_NODE_DELETED = 2
EV_NODE_DATA_CHANGED = 3
EV_NODE_CHILDREN_CHANGED = 4

ADD_WATCH_PERSISTENT = 0
ADD_WATCH_PERSISTENT_RECURSIVE = 1

WATCHER_CHILDREN = 1
WATCHER_DATA = 2
WATCHER_ANY = 3

PERM_ALL = 31
OPEN_ACL_UNSAFE = [(PERM_ALL, "world", "anyone")]

Stat = collections.namedtuple(
    "Stat", "czxid mzxid ctime mtime version cversion aversion ephemeralOwner "
    "dataLength numChildren pzxid")
ConnectResponse = collections.namedtuple(
    "ConnectResponse", "protocol_version timeout_ms session_id passwd read_only payload_len")
Reply = collections.namedtuple("Reply", "xid zxid err body")
WatchEvent = collections.namedtuple("WatchEvent", "type state path")


class ConnectionClosed(Exception):
    """The server closed the connection (or it broke) before the expected bytes arrived."""


class DecodeError(Exception):
    """The server sent bytes that do not decode as the expected record."""


class Writer:
    def __init__(self):
        self.parts = []

    def int(self, v):
        self.parts.append(struct.pack(">i", v))
        return self

    def long(self, v):
        self.parts.append(struct.pack(">q", v))
        return self

    def bool(self, v):
        self.parts.append(b"\x01" if v else b"\x00")
        return self

    def buffer(self, b):
        if b is None:
            return self.int(-1)
        self.int(len(b))
        self.parts.append(bytes(b))
        return self

    def ustring(self, s):
        return self.buffer(None if s is None else s.encode("utf-8"))

    def strings(self, items):
        self.int(len(items))
        for s in items:
            self.ustring(s)
        return self

    def acls(self, acls):
        self.int(len(acls))
        for perms, scheme, ident in acls:
            self.int(perms).ustring(scheme).ustring(ident)
        return self

    def bytes(self):
        return b"".join(self.parts)


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def _take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError("need %d bytes at %d of %d" % (n, self.pos, len(self.data)))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self):
        return struct.unpack(">i", self._take(4))[0]

    def long(self):
        return struct.unpack(">q", self._take(8))[0]

    def bool(self):
        b = self._take(1)[0]
        if b not in (0, 1):
            raise DecodeError("boolean byte %d" % b)
        return b == 1

    def buffer(self):
        n = self.int()
        if n == -1:
            return None
        return self._take(n)

    def ustring(self):
        b = self.buffer()
        return None if b is None else b.decode("utf-8")

    def strings(self):
        n = self.int()
        if n == -1:
            return None
        if n < 0 or n > len(self.data):
            raise DecodeError("bad vector count %d" % n)
        return [self.ustring() for _ in range(n)]

    def stat(self):
        return Stat(self.long(), self.long(), self.long(), self.long(), self.int(),
                    self.int(), self.int(), self.long(), self.int(), self.int(),
                    self.long())

    def remaining(self):
        return len(self.data) - self.pos

    def end(self):
        if self.remaining() != 0:
            raise DecodeError("%d trailing bytes" % self.remaining())


def encode_connect(timeout_ms, session_id=0, passwd=b"\0" * 16, last_zxid=0,
                   read_only=False, protocol_version=0):
    """ConnectRequest payload; read_only=None omits the trailing readOnly byte (old clients)."""
    w = Writer().int(protocol_version).long(last_zxid).int(timeout_ms).long(session_id)
    w.buffer(passwd)
    if read_only is not None:
        w.bool(read_only)
    return w.bytes()


class RawClient:
    """One connection speaking the client protocol. Not thread-safe."""

    def __init__(self, host, port, io_timeout_s=10.0):
        self.host = host
        self.port = port
        self.io_timeout_s = io_timeout_s
        self.sock = socket.create_connection((host, port), timeout=io_timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.xid = 0
        self.last_zxid = 0
        self.session_id = 0
        self.passwd = b"\0" * 16
        self.timeout_ms = 0
        self.events = collections.deque()

    # ---- framing ------------------------------------------------------------------
    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, payload):
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def _recv_exact(self, n, deadline):
        out = b""
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out waiting for %d bytes" % n)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(n - len(out))
            except ConnectionResetError as exc:
                raise ConnectionClosed(str(exc))
            if not chunk:
                raise ConnectionClosed("closed after %d of %d bytes" % (len(out), n))
            out += chunk
        return out

    def recv_frame(self, timeout_s=None):
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.io_timeout_s)
        (n,) = struct.unpack(">i", self._recv_exact(4, deadline))
        if n < 0 or n > FRAME_BYTES_MAX:
            raise DecodeError("frame length %d" % n)
        return self._recv_exact(n, deadline)

    def wait_closed(self, timeout_s=10.0):
        """True if the server closes the connection within timeout_s (any unread data is
        discarded and counted in self.bytes_before_close)."""
        deadline = time.monotonic() + timeout_s
        self.bytes_before_close = 0
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.bytes_before_close += len(chunk)
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- session ------------------------------------------------------------------
    def connect(self, timeout_ms=10000, session_id=0, passwd=b"\0" * 16, last_zxid=None,
                read_only=False):
        """Send a ConnectRequest and decode the ConnectResponse (records the session)."""
        if last_zxid is None:
            last_zxid = self.last_zxid
        self.send_frame(encode_connect(timeout_ms, session_id, passwd, last_zxid, read_only))
        payload = self.recv_frame()
        r = Reader(payload)
        resp_version = r.int()
        negotiated = r.int()
        sid = r.long()
        pw = r.buffer()
        ro = r.bool() if r.remaining() > 0 else None
        r.end()
        self.session_id, self.passwd, self.timeout_ms = sid, pw, negotiated
        return ConnectResponse(resp_version, negotiated, sid, pw, ro, len(payload))

    def next_xid(self):
        self.xid += 1
        return self.xid

    def call(self, op, body=b"", xid=None, timeout_s=None):
        """Send one request, return its Reply; notifications read meanwhile are queued."""
        if xid is None:
            xid = self.next_xid()
        self.send_frame(struct.pack(">ii", xid, op) + body)
        deadline = time.monotonic() + (timeout_s or self.io_timeout_s)
        while True:
            reply = self._read_reply(max(0.01, deadline - time.monotonic()))
            if reply.xid == xid:
                return reply
            raise DecodeError("reply xid %d while waiting for %d" % (reply.xid, xid))

    def _read_reply(self, timeout_s):
        """Read frames until a non-notification reply; notifications go to self.events."""
        deadline = time.monotonic() + timeout_s
        while True:
            reply = self._read_frame(max(0.01, deadline - time.monotonic()))
            if reply is not None:
                return reply

    def _read_frame(self, timeout_s):
        """Read one frame: a notification is queued (returns None), else returns the Reply."""
        payload = self.recv_frame(timeout_s)
        r = Reader(payload)
        xid, zxid, err = r.int(), r.long(), r.int()
        if xid == XID_NOTIFICATION:
            self.events.append(WatchEvent(r.int(), r.int(), r.ustring()))
            r.end()
            return None
        if zxid > 0:
            self.last_zxid = max(self.last_zxid, zxid)
        return Reply(xid, zxid, err, payload[16:])

    def wait_event(self, timeout_s=10.0):
        """Next watch notification, or None if none arrives within timeout_s."""
        deadline = time.monotonic() + timeout_s
        while not self.events:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                reply = self._read_frame(left)
            except socket.timeout:
                return None
            if reply is not None:
                raise DecodeError("unexpected reply xid %d while waiting for an event"
                                  % reply.xid)
        return self.events.popleft()

    def drain_events(self, quiet_s=0.5):
        """All notifications that arrive until quiet_s passes without one."""
        out = []
        while True:
            ev = self.wait_event(quiet_s)
            if ev is None:
                return out
            out.append(ev)

    def ping(self):
        return self.call(OP_PING, xid=XID_PING)

    def close_session(self):
        reply = self.call(OP_CLOSE_SESSION)
        self.close()
        return reply

    # ---- operations (return Reply; decode helpers below) -------------------------
    def create(self, path, data=b"", acl=None, flags=0, op=OP_CREATE2, ttl_ms=None):
        w = Writer().ustring(path).buffer(data)
        w.acls(OPEN_ACL_UNSAFE if acl is None else acl).int(flags)
        if ttl_ms is not None:
            w.long(ttl_ms)
        return self.call(op, w.bytes())

    def delete(self, path, version=-1):
        return self.call(OP_DELETE, Writer().ustring(path).int(version).bytes())

    def exists(self, path, watch=False):
        return self.call(OP_EXISTS, Writer().ustring(path).bool(watch).bytes())

    def get_data(self, path, watch=False):
        return self.call(OP_GET_DATA, Writer().ustring(path).bool(watch).bytes())

    def set_data(self, path, data, version=-1):
        return self.call(OP_SET_DATA, Writer().ustring(path).buffer(data).int(version).bytes())

    def get_children(self, path, watch=False):
        return self.call(OP_GET_CHILDREN, Writer().ustring(path).bool(watch).bytes())

    def add_watch(self, path, mode):
        return self.call(OP_ADD_WATCH, Writer().ustring(path).int(mode).bytes())

    def check_watches(self, path, watcher_type):
        return self.call(OP_CHECK_WATCHES, Writer().ustring(path).int(watcher_type).bytes())

    def remove_watches(self, path, watcher_type):
        return self.call(OP_REMOVE_WATCHES, Writer().ustring(path).int(watcher_type).bytes())

    def get_all_children_number(self, path):
        return self.call(OP_GET_ALL_CHILDREN_NUMBER, Writer().ustring(path).bytes())

    def get_ephemerals(self, prefix):
        return self.call(OP_GET_EPHEMERALS, Writer().ustring(prefix).bytes())

    def who_am_i(self):
        return self.call(OP_WHO_AM_I)

    def add_auth(self, scheme, auth):
        body = Writer().int(0).ustring(scheme).buffer(auth).bytes()
        return self.call(OP_AUTH, body, xid=XID_AUTH)

    def set_watches(self, relative_zxid, data=(), exist=(), child=()):
        w = Writer().long(relative_zxid).strings(list(data)).strings(list(exist))
        w.strings(list(child))
        return self.call(OP_SET_WATCHES, w.bytes(), xid=XID_SET_WATCHES)

    def set_watches2(self, relative_zxid, data=(), exist=(), child=(), persistent=(),
                     recursive=()):
        w = Writer().long(relative_zxid).strings(list(data)).strings(list(exist))
        w.strings(list(child)).strings(list(persistent)).strings(list(recursive))
        return self.call(OP_SET_WATCHES2, w.bytes(), xid=XID_SET_WATCHES)


# ---- response decoders -----------------------------------------------------------------
def decode_create2(body):
    r = Reader(body)
    path, stat = r.ustring(), r.stat()
    r.end()
    return path, stat


def decode_stat(body):
    r = Reader(body)
    stat = r.stat()
    r.end()
    return stat


def decode_get_data(body):
    r = Reader(body)
    data, stat = r.buffer(), r.stat()
    r.end()
    return data, stat


def decode_children(body):
    r = Reader(body)
    names = r.strings()
    r.end()
    return names


def decode_int(body):
    r = Reader(body)
    v = r.int()
    r.end()
    return v


def decode_who_am_i(body):
    r = Reader(body)
    n = r.int()
    if n < 0 or n > len(body):
        raise DecodeError("bad ClientInfo count %d" % n)
    out = [(r.ustring(), r.ustring()) for _ in range(n)]
    r.end()
    return out


def connected_client(host, port, timeout_ms=10000):
    """A RawClient with a fresh session."""
    c = RawClient(host, port)
    resp = c.connect(timeout_ms)
    if resp.timeout_ms <= 0:
        c.close()
        raise ConnectionClosed("session refused")
    return c
