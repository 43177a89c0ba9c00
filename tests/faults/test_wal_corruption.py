"""Damaged data directories: synod recovers exactly what docs/storage-format.md promises.

Each test writes a known tree with a real server (50 znodes /w/n-000.. with known data, each
create acknowledged), stops it with SIGTERM, damages the files, and restarts. The outcomes
asserted are the ones the format document gives:

- WAL: a torn last record (cut in its header, payload or padding, or a damaged last record
  with nothing valid after it) is a torn tail: start-up warns, truncates the file at the
  record and serves everything before it. Zeros after the last record are a clean end;
  garbage there is a torn tail. A damaged record in the middle of the log, a bad header or a
  torn tail in a segment that is not the last, a missing middle or first segment: start-up
  refuses (exit status 1) with one error naming the file (and the offset), synod-check-wal
  exits 2, and the refused start-up leaves every file as it was.
- Snapshots: a newest snapshot that does not verify (flipped byte, truncated) is skipped with
  a warning naming it and the next one is loaded; with every snapshot bad the WAL alone
  rebuilds the tree; a stray .tmp is ignored.
- meta.0/meta.1: one damaged copy → the other is used, with a warning naming the file; both
  damaged → refused; a single existing copy that is damaged beside a non-empty WAL → refused
  (a torn first write leaves wal/ and snap/ empty); a copy in the wrong file (sequence
  parity) → refused.

Multi-segment cases need several segments, and the server has no segment-size setting: the
test splits the one segment into three at record boundaries (new headers, records copied
byte for byte), checks the server and synod-check-wal accept the split log, then damages it.
"""

import hashlib
import os
import random
import re
import struct
import time

import pytest
from kazoo.client import KazooClient

import faultlib

NODES = 50
KAZOO_TIMEOUT_S = 10.0
SNAP_COUNT = 10  # the smallest snapCount synod takes: snapshots every few writes
SNAPSHOT_WAIT_S = 20.0


@pytest.fixture(autouse=True)
def _needs_synod():
    if not os.environ.get("SYNOD_BIN") or not os.environ.get("SYNOD_CHECK_WAL"):
        pytest.fail("needs SYNOD_BIN and SYNOD_CHECK_WAL (ctest sets them)")


def node_data(i):
    return b"value of node %03d " % i + bytes(range(i % 7 + 1))


def node_path(i):
    return "/w/n-%03d" % i


def connect(srv):
    c = KazooClient(hosts=srv.hosts, timeout=KAZOO_TIMEOUT_S,
                    connection_retry={"max_tries": 2, "delay": 0.1, "max_delay": 0.5})
    c.start(timeout=KAZOO_TIMEOUT_S)
    return c


def close(c):
    try:
        c.stop()
    finally:
        c.close()


def populate(srv, nodes=NODES):
    """Start srv, create /w and its nodes (each acknowledged), SIGTERM the server while the
    session is still open, so the last WAL record is the last create."""
    srv.start()
    c = connect(srv)
    try:
        c.create("/w", b"")
        for i in range(nodes):
            c.create(node_path(i), node_data(i))
        if srv.cfg_overrides.get("snapCount"):
            wait_snapshots(srv, 2)
        srv.stop()
    finally:
        close(c)


def wait_snapshots(srv, count):
    deadline = time.monotonic() + SNAPSHOT_WAIT_S
    while len(faultlib.snapshot_paths(srv.data_dir)) < count:
        assert time.monotonic() < deadline, "fewer than %d snapshots" % count
        time.sleep(0.05)


def read_tree(srv):
    """{index: data} of the /w/n-* nodes on a running server."""
    c = connect(srv)
    try:
        out = {}
        for name in c.get_children("/w"):
            if name.startswith("n-"):
                out[int(name[2:])] = c.get("/w/" + name)[0]
        return out
    finally:
        close(c)


def expect_nodes(srv, count):
    """The server serves exactly nodes 0..count-1, each with its data."""
    tree = read_tree(srv)
    assert sorted(tree) == list(range(count)), "nodes %s, expected 0..%d" % (
        sorted(tree)[-3:], count - 1)
    for i, data in tree.items():
        assert data == node_data(i), "node %d holds %r" % (i, data)


def log_text(srv):
    with open(srv.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def last_segment(srv):
    paths = faultlib.segment_paths(srv.data_dir)
    assert paths, "no WAL segment"
    return paths[-1]


def record_of(srv, i):
    """(segment path, Record) of the create of node i."""
    needle = node_path(i).encode()
    for path in faultlib.segment_paths(srv.data_dir):
        _, _, records = faultlib.read_segment(path)
        for r in records:
            if needle in r.payload:
                return path, r
    raise AssertionError("no WAL record creates %s" % node_path(i))


def dir_digest(path):
    """{relative name: sha256} of every file under path."""
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, path)] = hashlib.sha256(f.read()).hexdigest()
    return out


def expect_refused(srv, *patterns):
    """Start-up must fail (exit 1) with output matching every pattern, leaving files as
    they were."""
    before = dir_digest(srv.data_dir)
    rc, out = faultlib.run_synod_once(srv)
    assert rc is not None, "synod started serving on a damaged data dir:\n" + out[-2000:]
    assert rc == 1, "exit status %s:\n%s" % (rc, out[-2000:])
    for p in patterns:
        assert re.search(p, out), "no %r in the output:\n%s" % (p, out[-2000:])
    assert dir_digest(srv.data_dir) == before, "a refused start-up changed the data dir"
    return out


def expect_check_wal(srv, code, *patterns):
    rc, out = faultlib.check_wal(srv.data_dir)
    assert rc == code, "synod-check-wal exit %d, expected %d:\n%s" % (rc, code, out[-2000:])
    for p in patterns:
        assert re.search(p, out), "no %r in synod-check-wal output:\n%s" % (p, out[-2000:])
    return out


@pytest.fixture
def populated(make_server):
    srv = make_server("synod", "wal")
    populate(srv)
    expect_check_wal(srv, 0)
    seg, last = record_of(srv, NODES - 1)
    assert seg == last_segment(srv)
    _, _, records = faultlib.read_segment(seg)
    assert records[-1].offset == last.offset, "the last create is not the last WAL record"
    return srv


# --- (a) torn last record, (b) bytes after the last record ---------------------------------


@pytest.mark.parametrize("where", ["header", "payload", "padding-or-last-byte", "damaged"])
def test_torn_last_record_is_cut(populated, where):
    srv = populated
    seg, rec = record_of(srv, NODES - 1)
    if where == "header":
        faultlib.truncate(seg, rec.offset + 12)
    elif where == "payload":
        faultlib.truncate(seg, rec.offset + 32 + len(rec.payload) // 2)
    elif where == "padding-or-last-byte":
        faultlib.truncate(seg, rec.end - 1)
    else:  # complete but damaged, nothing valid after it: also a torn tail by the format
        faultlib.flip_byte(seg, rec.offset + 32 + len(rec.payload) // 2)
    expect_check_wal(srv, 1, r"(?i)torn")
    srv.start()
    assert re.search(r"torn tail in %s at offset %d" % (re.escape(seg), rec.offset),
                     log_text(srv)), log_text(srv)[-2000:]
    expect_nodes(srv, NODES - 1)
    c = connect(srv)
    try:
        c.create(node_path(NODES - 1), node_data(NODES - 1))  # the lost write, again
    finally:
        close(c)
    srv.stop()
    expect_check_wal(srv, 0)
    srv.start()
    expect_nodes(srv, NODES)


def test_zeros_after_last_record_are_a_clean_end(populated):
    srv = populated
    seg = last_segment(srv)
    size = os.path.getsize(seg)
    faultlib.append(seg, bytes(4096))
    expect_check_wal(srv, 0)
    srv.start()
    assert "torn tail" not in log_text(srv)
    expect_nodes(srv, NODES)
    srv.stop()
    expect_check_wal(srv, 0)
    assert os.path.getsize(seg) >= size


def test_garbage_after_last_record_is_a_torn_tail(populated):
    srv = populated
    seg = last_segment(srv)
    size = os.path.getsize(seg)
    rng = random.Random(size)
    faultlib.append(seg, bytes(rng.randrange(1, 256) for _ in range(4096)))
    expect_check_wal(srv, 1)
    srv.start()
    assert re.search(r"torn tail in %s at offset %d" % (re.escape(seg), size), log_text(srv))
    expect_nodes(srv, NODES)
    srv.stop()
    expect_check_wal(srv, 0)


# --- (c) a damaged record in the middle of the log -----------------------------------------


@pytest.mark.parametrize("field", ["payload", "crc", "index", "type"])
def test_damaged_middle_record_refuses_start(populated, field):
    srv = populated
    seg, rec = record_of(srv, NODES // 2)
    at = {"payload": rec.offset + 32 + len(rec.payload) // 2, "crc": rec.offset + 1,
          "index": rec.offset + 31, "type": rec.offset + 8}[field]
    faultlib.flip_byte(seg, at, 0x40)
    out = expect_check_wal(srv, 2, r"(?i)corrupt", r"\b%d\b" % rec.offset)
    assert os.path.basename(seg) in out
    expect_refused(srv, r"corrupt WAL segment %s at offset %d\b" % (re.escape(seg), rec.offset),
                   r"refusing to start")


def test_valid_record_with_wrong_index_refuses(populated):
    """A record whose CRC matches but whose index is not the expected one: a torn write
    cannot produce that, so it is corruption, not a tail to cut."""
    srv = populated
    seg, rec = record_of(srv, NODES // 2)
    with open(seg, "r+b") as f:
        data = bytearray(f.read())
        data[rec.offset + 24:rec.offset + 32] = struct.pack(">Q", rec.index + 1)
        body = bytes(data[rec.offset + 4:rec.offset + 32 + len(rec.payload)])
        data[rec.offset:rec.offset + 4] = struct.pack(">I", faultlib.crc32c(body))
        f.seek(0)
        f.write(data)
    expect_check_wal(srv, 2)
    expect_refused(srv, r"corrupt WAL segment %s at offset %d\b" % (re.escape(seg), rec.offset))


def test_foreign_file_in_wal_dir_is_ignored(populated):
    srv = populated
    junk = os.path.join(srv.data_dir, "wal", "notes.txt")
    with open(junk, "wb") as f:
        f.write(b"not a segment")
    srv.start()
    assert re.search(r"ignoring .*notes\.txt", log_text(srv)), log_text(srv)[-2000:]
    expect_nodes(srv, NODES)
    assert os.path.exists(junk)


@pytest.mark.parametrize("header", ["empty", "partial", "bad-crc"])
def test_torn_new_segment_is_removed(populated, header):
    """A crash while creating the next segment leaves a short or bad header and no record:
    a torn tail; the file is deleted and the log ends in the previous segment."""
    srv = populated
    _, last = record_of(srv, NODES - 1)
    path = os.path.join(srv.data_dir, "wal", faultlib.segment_name(last.index + 1))
    good = faultlib.segment_header(last.index + 1)
    body = {"empty": b"", "partial": good[:10], "bad-crc": good[:-1] + bytes([good[-1] ^ 1])}
    with open(path, "wb") as f:
        f.write(body[header])
    expect_check_wal(srv, 1)
    srv.start()
    assert re.search(r"removing %s: torn segment header" % re.escape(path), log_text(srv))
    expect_nodes(srv, NODES)
    assert not os.path.exists(path)


# --- (d) several segments: split, then damage one -------------------------------------------


def split_three(srv, compacting=False):
    """Split the single segment into three, check the split log is accepted as it is (and,
    unless compacting: snapshots may then retire segments, left as they are)."""
    paths = faultlib.segment_paths(srv.data_dir)
    assert len(paths) == 1
    _, _, records = faultlib.read_segment(paths[0])
    n = len(records)
    faultlib.split_segment(paths[0], [n // 3, 2 * n // 3])
    paths = faultlib.segment_paths(srv.data_dir)
    assert len(paths) == 3
    expect_check_wal(srv, 0, r"3 segments")
    srv.start()
    expect_nodes(srv, NODES)
    srv.stop()
    if not compacting:
        assert faultlib.segment_paths(srv.data_dir) == paths
    return paths


def test_split_segments_then_missing_middle_segment_refuses(populated):
    srv = populated
    paths = split_three(srv)
    os.unlink(paths[1])
    expect_check_wal(srv, 2)
    expect_refused(srv, re.escape(paths[2]), r"not contiguous")


def test_missing_first_segment_refuses(populated):
    srv = populated
    paths = split_three(srv)
    os.unlink(paths[0])
    expect_refused(srv, r"entries are missing")


def test_torn_tail_in_a_middle_segment_refuses(populated):
    srv = populated
    paths = split_three(srv)
    _, _, records = faultlib.read_segment(paths[1])
    faultlib.truncate(paths[1], records[-1].offset + 20)
    expect_check_wal(srv, 2)
    expect_refused(srv, r"corrupt WAL segment %s at offset %d\b" % (re.escape(paths[1]),
                                                                     records[-1].offset))


@pytest.mark.parametrize("which", [1, 2])
def test_bad_segment_header_with_records_refuses(populated, which):
    """A bad header is only a torn segment creation when no record follows it; the last
    segment too holds acknowledged records here, so deleting it would lose them."""
    srv = populated
    paths = split_three(srv)
    faultlib.flip_byte(paths[which], 20)  # inside first_index
    expect_check_wal(srv, 2)
    expect_refused(srv, re.escape(paths[which]))
    assert os.path.exists(paths[which])


# --- (e) snapshots ---------------------------------------------------------------------------


@pytest.fixture
def with_snapshots(make_server):
    srv = make_server("synod", "snap", snapCount=SNAP_COUNT)
    populate(srv)
    snaps = faultlib.snapshot_paths(srv.data_dir)
    assert len(snaps) >= 2, "expected several snapshots, have %s" % snaps
    return srv, snaps


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_bad_newest_snapshot_falls_back_to_older(with_snapshots, damage):
    srv, snaps = with_snapshots
    newest, older = snaps[0], snaps[1]
    size = os.path.getsize(newest)
    if damage == "flip":
        faultlib.flip_byte(newest, size // 2)
    else:
        faultlib.truncate(newest, size // 2)
    srv.start()
    log = log_text(srv)
    assert re.search(r"skipping snapshot %s" % re.escape(newest), log), log[-2000:]
    assert "loaded snapshot %s" % os.path.basename(older) in log, log[-2000:]
    expect_nodes(srv, NODES)


def test_every_snapshot_bad_replays_the_wal(with_snapshots):
    srv, snaps = with_snapshots
    for s in snaps:
        faultlib.flip_byte(s, 70)  # first chunk
    srv.start()
    log = log_text(srv)
    for s in snaps:
        assert "skipping snapshot %s" % s in log
    assert "loaded snapshot" not in log
    expect_nodes(srv, NODES)


def test_every_snapshot_bad_after_compaction_refuses(make_server):
    """Once retention has removed WAL segments, the log alone cannot rebuild the tree: with
    every snapshot bad, start-up must refuse (entries missing), never serve a partial tree."""
    srv = make_server("synod", "compact", snapCount=SNAP_COUNT)
    populate(srv)
    first = split_three(srv, compacting=True)[0]
    srv.start()
    c = connect(srv)
    try:
        c.create("/more", b"")
        deadline = time.monotonic() + SNAPSHOT_WAIT_S
        for i in range(1000):  # write until retention has dropped the first segment
            if not os.path.exists(first):
                break
            assert time.monotonic() < deadline, "retention never removed %s" % first
            c.create("/more/m-%d" % i, b"")
            time.sleep(0.01)
        srv.stop()
    finally:
        close(c)
    srv.start()
    expect_nodes(srv, NODES)
    srv.stop()
    for snap in faultlib.snapshot_paths(srv.data_dir):
        faultlib.flip_byte(snap, 70)
    expect_refused(srv, r"entries are missing")


def test_stray_tmp_snapshot_is_ignored(with_snapshots):
    srv, snaps = with_snapshots
    tmp = os.path.join(srv.data_dir, "snap", "snap-%020d-%020d.tmp" % (10 ** 6, 9))
    with open(tmp, "wb") as f:
        f.write(b"SYNODSNP" + bytes(100))
    srv.start()
    assert "loaded snapshot %s" % os.path.basename(snaps[0]) in log_text(srv)
    expect_nodes(srv, NODES)


# --- (f) meta.0 / meta.1 ----------------------------------------------------------------------


def meta_paths(srv):
    return [os.path.join(srv.data_dir, "meta.%d" % i) for i in (0, 1)]


@pytest.fixture
def two_metas(populated):
    """Restart once more so both copies exist; returns (srv, newer path, older path)."""
    srv = populated
    srv.start()
    srv.stop()
    metas = meta_paths(srv)
    info = [faultlib.read_meta(p) for p in metas]
    assert all(ok for ok, _, _, _ in info), info
    newer = 0 if info[0][1] > info[1][1] else 1
    assert info[newer][2] > info[1 - newer][2], "a restart should raise the term: %s" % info
    return srv, metas[newer], metas[1 - newer]


def expect_recovered_or_refused_clearly(srv, damaged):
    """The brief's rule for damaged metadata the server cannot fully trust: it either starts
    and serves everything, or exits 1 with an ERROR line about the metadata/term (not just
    an errno string). A warning naming the damaged file is required either way."""
    rc, out = faultlib.run_synod_once(srv, timeout_s=5.0)
    assert re.search(r"%s does not check" % re.escape(damaged), out), out[-2000:]
    if rc is None:  # it was serving (run_synod_once killed it): start it for real and look
        srv.start()
        expect_nodes(srv, NODES)
        return "recovered"
    errors = [line for line in out.splitlines() if "ERROR" in line]
    assert rc == 1 and any(re.search(r"(?i)meta|term", e) for e in errors), (
        "start-up neither recovered nor refused with a clear message (exit %s); "
        "ERROR lines: %s" % (rc, errors))
    return "refused"


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_bad_newer_meta_uses_the_other_copy(two_metas, damage):
    """docs/storage-format.md: one corrupted file leaves the previous value in the other
    one, and the valid copy wins. The WAL already holds entries of the newer term, though."""
    srv, newer, older = two_metas
    if damage == "flip":
        faultlib.flip_byte(newer, 30)
    else:
        faultlib.truncate(newer, 30)
    expect_check_wal(srv, 0, r"meta: term")
    if expect_recovered_or_refused_clearly(srv, newer) == "recovered":
        srv.stop()
        infos = [faultlib.read_meta(p) for p in meta_paths(srv)]
        assert all(ok for ok, _, _, _ in infos), infos


def test_both_metas_bad_refuses(two_metas):
    srv, newer, older = two_metas
    faultlib.flip_byte(newer, 30)
    faultlib.flip_byte(older, 30)
    expect_refused(srv, r"both metadata files in %s are corrupt" % re.escape(srv.data_dir))


def test_both_metas_bad_check_wal_exits_2(two_metas):
    srv, newer, older = two_metas
    faultlib.flip_byte(newer, 30)
    faultlib.flip_byte(older, 30)
    expect_check_wal(srv, 2, r"meta: .*corrupt")


def test_meta_in_the_wrong_file_refuses(two_metas):
    srv, newer, older = two_metas
    with open(newer, "rb") as f:
        data = f.read()
    with open(older, "wb") as f:
        f.write(data)
    expect_refused(srv, r"holds sequence")


def test_single_bad_meta_is_a_torn_first_write(populated):
    """Only one copy exists and it does not check. A torn first write can only happen while
    wal/ and snap/ are empty (the first meta fsync precedes the first record); here the WAL
    holds entries, so it is damage after the fact, and starting fresh (term 0, no vote)
    could vote twice in a term: start-up must refuse, naming the file and the metadata."""
    srv = populated
    metas = [p for p in meta_paths(srv) if os.path.exists(p)]
    assert len(metas) == 1, metas
    faultlib.flip_byte(metas[0], 30)
    expect_refused(srv, r"%s does not check" % re.escape(metas[0]),
                   r"ERROR.*only metadata file .* is corrupt")
