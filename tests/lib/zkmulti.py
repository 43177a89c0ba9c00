"""Raw encoding of multi (14) and multiRead (22) requests and their responses, on top of
zkwire. kazoo's transaction covers the common case; this is for byte-level checks
(header err, result types, multiRead) that kazoo hides.
"""

import collections

import zkwire

OP_MULTI = 14
OP_MULTI_READ = 22
OP_CHECK = 13

MultiResult = collections.namedtuple("MultiResult", "type err value")


def _header(w, op_type, done, err):
    w.int(op_type).bool(done).int(err)


def encode_multi(ops):
    """ops: list of tuples: ("create", path, data, flags) / ("create2", path, data, flags) /
    ("delete", path, version) / ("set", path, data, version) / ("check", path, version) /
    ("get", path) / ("children", path)."""
    w = zkwire.Writer()
    for op in ops:
        kind = op[0]
        if kind in ("create", "create2"):
            _header(w, zkwire.OP_CREATE if kind == "create" else zkwire.OP_CREATE2, False, -1)
            w.ustring(op[1]).buffer(op[2]).acls(zkwire.OPEN_ACL_UNSAFE).int(op[3])
        elif kind == "delete":
            _header(w, zkwire.OP_DELETE, False, -1)
            w.ustring(op[1]).int(op[2])
        elif kind == "set":
            _header(w, zkwire.OP_SET_DATA, False, -1)
            w.ustring(op[1]).buffer(op[2]).int(op[3])
        elif kind == "check":
            _header(w, OP_CHECK, False, -1)
            w.ustring(op[1]).int(op[2])
        elif kind == "get":
            _header(w, zkwire.OP_GET_DATA, False, -1)
            w.ustring(op[1]).bool(False)
        elif kind == "children":
            _header(w, zkwire.OP_GET_CHILDREN, False, -1)
            w.ustring(op[1]).bool(False)
        else:
            raise ValueError(kind)
    _header(w, -1, True, -1)
    return w.bytes()


def decode_multi(body, max_results=10000):
    """List of MultiResult; value is the decoded record (path, (path, stat), stat,
    (data, stat), [names], or None). More than max_results results is a DecodeError."""
    r = zkwire.Reader(body)
    out = []
    for _ in range(max_results + 1):  # the results, then the terminating header
        op_type, done, err = r.int(), r.bool(), r.int()
        if done:
            r.end()
            return out
        if op_type == -1:
            value = r.int()
        elif op_type == zkwire.OP_CREATE:
            value = r.ustring()
        elif op_type == zkwire.OP_CREATE2:
            value = (r.ustring(), r.stat())
        elif op_type in (zkwire.OP_DELETE, OP_CHECK):
            value = None
        elif op_type == zkwire.OP_SET_DATA:
            value = r.stat()
        elif op_type == zkwire.OP_GET_DATA:
            value = (r.buffer(), r.stat())
        elif op_type == zkwire.OP_GET_CHILDREN:
            value = r.strings()
        else:
            raise zkwire.DecodeError("multi result type %d" % op_type)
        out.append(MultiResult(op_type, err, value))
    raise zkwire.DecodeError("too many multi results")
