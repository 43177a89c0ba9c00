"""A full disk on one synod server: refused writes, reads served, recovery, nothing lost.

The server's data directory is its own 6 MiB tmpfs (root: the test fails without it). Two
kazoo sessions write nodes; then the file system is filled to the last byte. Writes still fit
in the WAL's last page (tmpfs allocated it already); the first that needs a new page cannot be
answered until there is room (it is in the WAL's queue); every later
write must be refused at once with SystemZookeeperError (ZSYSTEMERROR), while reads go on
working and mntr says zk_synod_wal_no_space 1; the server must not exit. Then it is killed
(-9) and started again on the full disk: it must wait, not exit. Then the filler is removed:
it serves, writes work, and after another kill -9 and restart every acknowledged node is there
with its data and no refused one is.
"""

import os
import re
import subprocess
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import SystemZookeeperError
from kazoo.handlers.threading import KazooTimeoutError

import diskfull
import faultlib

TMPFS_BYTES = 6 * 1024 * 1024
KAZOO_TIMEOUT_S = 15
WRITE_WAIT_S = 3
REFUSE_ATTEMPTS = 40
FILL_WRITES_MAX = 400
RECOVER_S = 20
FULL_START_S = 3
SNAP_COUNT = 10
# Snapshots that fail on the full disk are tried again after SRV_SNAPSHOT_RETRY_MS, not in
# every loop iteration: a bound far below what a retry per iteration gives.
FAILED_SNAPSHOTS_MAX = 20


def connect(srv):
    c = KazooClient(hosts=srv.hosts, timeout=KAZOO_TIMEOUT_S, connection_retry={"max_tries": 3})
    c.start(timeout=KAZOO_TIMEOUT_S)
    return c


def mntr(srv):
    rows = {}
    for line in srv.four_letter("mntr").splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            rows[parts[0]] = parts[1]
    return rows


@pytest.fixture
def tmpfs_server(make_server):
    if os.geteuid() != 0:
        pytest.fail("a private tmpfs needs root (mount); this test never skips")
    # A snapshot every 10 entries: some are due while the disk is full.
    srv = make_server("synod", name="fulldisk", snapCount=SNAP_COUNT)
    diskfull.mount_tmpfs(srv.data_dir, TMPFS_BYTES, "synod-test-fulldisk-%d" % os.getpid())
    try:
        yield srv
    finally:
        faultlib.crash(srv)
        diskfull.umount(srv.data_dir)


def test_full_disk_refuses_writes_keeps_reads_and_loses_nothing(tmpfs_server):
    srv = tmpfs_server
    srv.start()
    a, b = connect(srv), connect(srv)
    acked, refused, unknown = {}, set(), []
    try:
        a.create("/fd", b"")
        for i in range(50):
            path = "/fd/before-%03d" % i
            a.create(path, b"v-" + path.encode())
            acked[path] = b"v-" + path.encode()

        filled = diskfull.fill(srv.data_dir, 2 * TMPFS_BYTES)
        assert filled > 0

        # Writes go on into the WAL's last page, which tmpfs has already allocated, until
        # one finds the disk full: its answer waits for room (bounded in attempts).
        for i in range(FILL_WRITES_MAX):
            path = "/fd/filling-%03d" % i
            res = a.create_async(path, path.encode())
            try:
                res.get(timeout=WRITE_WAIT_S)
                acked[path] = path.encode()
            except KazooTimeoutError:
                unknown.append(path)
                break
        assert unknown, "%d writes all acknowledged on a full disk" % FILL_WRITES_MAX

        # Every later write is refused at once (bounded in attempts).
        for i in range(REFUSE_ATTEMPTS):
            path = "/fd/full-%03d" % i
            try:
                b.create(path, b"x")
                pytest.fail("%s was acknowledged while the disk was full" % path)
            except SystemZookeeperError:
                refused.add(path)
                break
        assert refused, "no write was refused with SystemZookeeperError"
        assert b.get("/fd/before-001")[0] == acked["/fd/before-001"]
        assert len(b.get_children("/fd")) >= 50
        rows = mntr(srv)
        assert rows.get("zk_synod_wal_no_space") == "1", rows
        assert int(rows.get("zk_synod_writes_refused_no_space", "0")) >= 1, rows
        assert srv.process.running(), "the server exited on a full disk"

        # A crash while the disk is full, and a start-up on it: the server waits (it
        # cannot write its term-start entry, so it does not serve yet) and must not exit.
        faultlib.crash(srv)  # first: a's close would wait behind its unanswered write
        for c in (a, b):
            c.stop()
            c.close()
        # The start waits for service, so space returns from a timer (the server is started
        # from this thread: procs kills a server when the thread that started it ends).
        seen = []

        def look_and_free():
            seen.append(srv.process is not None and srv.process.running())
            seen.append(diskfull.free(srv.data_dir))

        timer = threading.Timer(FULL_START_S, look_and_free)
        timer.start()
        try:
            srv.start()
        finally:
            timer.join()
        assert seen == [True, True], "the server exited starting on a full disk:\n" + \
            srv.log_tail()
        a, b = connect(srv), connect(srv)
        deadline = time.monotonic() + RECOVER_S
        done = False
        # Bounded by RECOVER_S: refused until the WAL's next retry finds room.
        while not done and time.monotonic() < deadline:
            try:
                b.create("/fd/after-first", b"after")
                acked["/fd/after-first"] = b"after"
                done = True
            except SystemZookeeperError:
                time.sleep(0.1)
        assert done, "writes did not resume within %d s after space returned" % RECOVER_S
        for i in range(50):
            path = "/fd/after-%03d" % i
            a.create(path, b"v-" + path.encode())
            acked[path] = b"v-" + path.encode()
        assert mntr(srv).get("zk_synod_wal_no_space") == "0"
    finally:
        for c in (a, b):
            c.stop()
            c.close()

    faultlib.crash(srv)
    srv.start()
    c = connect(srv)
    try:
        names = set(c.get_children("/fd"))
        for path, data in acked.items():
            assert path.rsplit("/", 1)[1] in names, "acknowledged %s lost" % path
            assert c.get(path)[0] == data
        for path in refused:
            assert path.rsplit("/", 1)[1] not in names, "refused %s was applied" % path
    finally:
        c.stop()
        c.close()
    log = open(srv.log_path, encoding="utf-8", errors="replace").read()
    assert "no space left for the WAL" in log
    assert "fatal" not in log, srv.log_tail()
    assert re.search(r"snapshot at index \d+ written", log), \
        "no snapshot was taken (snapCount=%d)" % SNAP_COUNT
    failed = len(re.findall(r"snapshot at index \d+ failed", log))
    assert failed <= FAILED_SNAPSHOTS_MAX, "%d failed snapshots" % failed


def test_harness_unmounts_disks_of_dead_harnesses(tmp_path):
    """A harness killed -9 leaves its servers' tmpfs mounted; the next one unmounts them
    (nscluster.clean_stale_disks, by the harness PID in the mount's source name)."""
    if os.geteuid() != 0:
        pytest.fail("mounting needs root; this test never skips")
    import netns
    import nscluster
    dead = subprocess.Popen(["true"])
    dead.wait()
    live_path, dead_path = tmp_path / "live", tmp_path / "dead"
    live_path.mkdir()
    dead_path.mkdir()
    diskfull.mount_tmpfs(str(dead_path), 1 << 20, "%s%d-s1" % (netns.PREFIX, dead.pid))
    diskfull.mount_tmpfs(str(live_path), 1 << 20, "%s%d-s1" % (netns.PREFIX, os.getpid()))
    try:
        removed = nscluster.clean_stale_disks(log=lambda msg: None)
        assert removed == [str(dead_path)]
        mounted = [path for _, path in diskfull.mounts_with_source(netns.PREFIX)]
        assert str(dead_path) not in mounted
        assert str(live_path) in mounted
    finally:
        for path in (live_path, dead_path):
            if str(path) in [p for _, p in diskfull.mounts_with_source(netns.PREFIX)]:
                diskfull.umount(str(path))
