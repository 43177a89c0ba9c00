"""Helpers for the fault suite: crash a server, read and rewrite synod's on-disk files.

Servers come from the integration harness (tests/lib/servers.py); this module adds what a
fault test needs on top of it:

- crash(srv): SIGKILL the server's whole process group. The harness starts every server with
  start_new_session=True, so the group id is the PID we recorded and the group holds exactly
  that server and the children it forked (synod's snapshot writer). Killing the group at once
  is what a power cut does; killing only the parent would leave a snapshot child running on
  into the next server's life, which no real crash does.
- run_synod_once(srv): run `synod serve` on the server's zoo.cfg in the foreground, for
  start-ups that are expected to be refused; returns the exit code and output, and kills the
  process (by PID) if it starts serving instead.
- A reader/writer for the WAL segment, meta and snapshot layouts of docs/storage-format.md,
  written from that document (CRC-32C included), so the tests can cut and damage files at
  exact record boundaries and can split one segment into several.
- check_wal(path): run synod-check-wal (env SYNOD_CHECK_WAL) and return (exit code, output).
"""

import os
import signal
import struct
import subprocess
import time

from crc32c import crc32c  # noqa: F401 (faultlib.crc32c is used by the tests)

WAL_HEADER_BYTES = 32
WAL_RECORD_HEADER_BYTES = 32
WAL_MAGIC = b"SYNODWAL"
META_BYTES = 64
META_MAGIC = b"SYNODMET"
SNAP_MAGIC = b"SYNODSNP"
CRASH_REAP_TIMEOUT_S = 10.0
REFUSE_TIMEOUT_S = 30.0
OUTPUT_BYTES_MAX = 1 << 20


def crash(srv):
    """SIGKILL the server's process group (server + forked children) and reap the server."""
    proc = srv.process
    if proc is None or proc.proc is None:
        return
    pid = proc.proc.pid
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.proc.wait(timeout=CRASH_REAP_TIMEOUT_S)
    proc.proc = None
    srv.process = None
    # Orphaned children are reaped by whoever adopts them (maybe never, in a container):
    # wait, bounded, until no live (non-zombie) process of the group is left.
    deadline = time.monotonic() + CRASH_REAP_TIMEOUT_S
    while time.monotonic() < deadline and live_group_members(pid):
        time.sleep(0.01)


def live_group_members(pgid):
    """PIDs of the processes in process group pgid that are not zombies (from /proc)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 3 and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            out.append(int(name))
    return out


def run_synod_once(srv, timeout_s=REFUSE_TIMEOUT_S):
    """Run `$SYNOD_BIN serve -c <srv's zoo.cfg>` and wait for it to exit.

    Returns (exit code, output). If it is still running after timeout_s (it started
    serving), it is killed by PID and the exit code returned is None."""
    argv, env = srv.command()
    p = subprocess.Popen(argv, cwd=srv.tmp_dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout_s)
        return p.returncode, out[:OUTPUT_BYTES_MAX].decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate(timeout=CRASH_REAP_TIMEOUT_S)
        return None, out[:OUTPUT_BYTES_MAX].decode("utf-8", "replace")


def check_wal(path, verbose=False):
    """Run synod-check-wal on path; (exit code, output)."""
    tool = os.environ.get("SYNOD_CHECK_WAL")
    if not tool:
        raise RuntimeError("set SYNOD_CHECK_WAL=<path to synod-check-wal>")
    argv = [tool] + (["-v"] if verbose else []) + [path]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=REFUSE_TIMEOUT_S)
    return p.returncode, p.stdout[:OUTPUT_BYTES_MAX].decode("utf-8", "replace")


# --- WAL segments -----------------------------------------------------------------------


class Record:
    """One WAL record as found on disk: where it is and what its header says."""

    def __init__(self, offset, size, index, term, rtype, payload):
        self.offset = offset  # file offset of the record header
        self.size = size  # header + payload + padding
        self.index = index
        self.term = term
        self.type = rtype
        self.payload = payload

    @property
    def end(self):
        return self.offset + self.size


def _pad8(n):
    return (n + 7) & ~7


def segment_header(first_index):
    head = WAL_MAGIC + struct.pack(">IIQI", 1, 0, first_index, 0)
    return head + struct.pack(">I", crc32c(head))


def parse_segment(data):
    """(first_index, [Record]) for the valid records at the start of a segment's bytes.

    Stops at the first record that is not valid (or at the end); raises ValueError when the
    header itself is bad. The rules are those of docs/storage-format.md."""
    if len(data) < WAL_HEADER_BYTES or data[:8] != WAL_MAGIC:
        raise ValueError("bad segment header")
    if struct.unpack(">I", data[28:32])[0] != crc32c(data[:28]):
        raise ValueError("bad segment header crc")
    first_index = struct.unpack(">Q", data[16:24])[0]
    records = []
    off = WAL_HEADER_BYTES
    while off + WAL_RECORD_HEADER_BYTES <= len(data):
        crc, length, rtype = struct.unpack(">IIB", data[off:off + 9])
        term, index = struct.unpack(">QQ", data[off + 16:off + 32])
        size = WAL_RECORD_HEADER_BYTES + _pad8(length)
        if rtype == 0 or off + size > len(data):
            break
        body = data[off + 4:off + WAL_RECORD_HEADER_BYTES + length]
        if crc32c(body) != crc or index != first_index + len(records):
            break
        payload = bytes(data[off + WAL_RECORD_HEADER_BYTES:off + WAL_RECORD_HEADER_BYTES + length])
        records.append(Record(off, size, index, term, rtype, payload))
        off += size
    return first_index, records


def segment_paths(data_dir):
    """Full paths of the WAL segments, in index order."""
    wal = os.path.join(data_dir, "wal")
    names = sorted(n for n in os.listdir(wal) if n.endswith(".seg") and len(n) == 24)
    return [os.path.join(wal, n) for n in names]


def segment_name(first_index):
    return "%020d.seg" % first_index


def read_segment(path):
    with open(path, "rb") as f:
        data = f.read()
    first, records = parse_segment(data)
    return data, first, records


def split_segment(path, cut_positions):
    """Rewrite one segment as several: a new segment starts before each record position in
    cut_positions (0-based positions in the segment). The records are copied byte for byte;
    each new file gets a correct header. Returns the new paths in order."""
    data, first, records = read_segment(path)
    end = records[-1].end if records else WAL_HEADER_BYTES
    cuts = sorted(set(cut_positions))
    assert cuts and 0 < cuts[0] and cuts[-1] < len(records), "cuts must fall between records"
    bounds = [0] + cuts + [len(records)]
    wal_dir = os.path.dirname(path)
    out = []
    for a, b in zip(bounds, bounds[1:]):
        start = records[a].offset
        stop = records[b].offset if b < len(records) else end
        new_path = os.path.join(wal_dir, segment_name(first + a))
        body = segment_header(first + a) + data[start:stop]
        tmp = new_path + ".part"
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        out.append((tmp, new_path))
    os.unlink(path)
    for tmp, new_path in out:
        os.rename(tmp, new_path)
    return [p for _, p in out]


def flip_byte(path, offset, mask=0x01):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        assert len(b) == 1, "offset %d beyond %s" % (offset, path)
        f.seek(offset)
        f.write(bytes([b[0] ^ mask]))


def truncate(path, size):
    with open(path, "r+b") as f:
        f.truncate(size)


def append(path, data):
    with open(path, "ab") as f:
        f.write(data)


# --- meta and snapshot files -----------------------------------------------------------


def read_meta(path):
    """(valid, sequence, term, vote) of one meta file."""
    with open(path, "rb") as f:
        data = f.read(META_BYTES + 1)
    if len(data) != META_BYTES or data[:8] != META_MAGIC:
        return False, None, None, None
    ok = struct.unpack(">I", data[60:64])[0] == crc32c(data[:60])
    seq, term, vote = struct.unpack(">QQQ", data[16:40])
    return ok, seq, term, vote


def snapshot_paths(data_dir):
    """Full paths of the finished snapshots, newest (highest index) first."""
    snap = os.path.join(data_dir, "snap")
    if not os.path.isdir(snap):
        return []
    names = [n for n in os.listdir(snap) if n.startswith("snap-") and n.endswith(".snap")]
    names.sort(key=lambda n: int(n.split("-")[1]), reverse=True)
    return [os.path.join(snap, n) for n in names]


def snapshot_index(path):
    return int(os.path.basename(path).split("-")[1])
