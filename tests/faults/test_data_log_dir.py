"""dataLogDir puts the transaction log apart from the snapshots, as in ZooKeeper.

Both servers are started with dataLogDir pointing to its own directory and a small snapCount
so a snapshot is taken; after a clean stop the log files must sit under dataLogDir and the
snapshots under dataDir, and after a restart every acknowledged node must be back. The same
test runs against ZooKeeper 3.8 (its layout: <dir>/version-2/log.* and snapshot.*), which shows
the test checks ZooKeeper's behaviour and not a synod quirk.
"""

import glob
import os

import pytest
from kazoo.client import KazooClient

NODES = 120
KAZOO_TIMEOUT_S = 15


def connect(srv):
    c = KazooClient(hosts=srv.hosts, timeout=KAZOO_TIMEOUT_S, connection_retry={"max_tries": 3})
    c.start(timeout=KAZOO_TIMEOUT_S)
    return c


def layout(target, data_dir, log_dir):
    """(log files under log_dir, snapshot files under data_dir, log files under data_dir)."""
    if target == "synod":
        return (glob.glob(os.path.join(log_dir, "wal", "*.seg")),
                glob.glob(os.path.join(data_dir, "snap", "snap-*.snap")),
                glob.glob(os.path.join(data_dir, "wal", "*.seg")))
    return (glob.glob(os.path.join(log_dir, "version-2", "log.*")),
            glob.glob(os.path.join(data_dir, "version-2", "snapshot.*")),
            glob.glob(os.path.join(data_dir, "version-2", "log.*")))


@pytest.mark.parametrize("target", ["synod", "zookeeper"])
def test_log_lives_in_data_log_dir_and_survives_restart(make_server, target):
    srv = make_server(target, snapCount=20)
    log_dir = os.path.join(srv.tmp_dir, "txnlog")
    srv.cfg_overrides["dataLogDir"] = log_dir
    srv.start()
    c = connect(srv)
    try:
        c.create("/dl", b"")
        for i in range(NODES):
            c.create("/dl/n-%03d" % i, b"v%d" % i)
    finally:
        c.stop()
        c.close()
    srv.stop()

    logs, snaps, misplaced = layout(target, srv.data_dir, log_dir)
    assert logs, "no transaction log under dataLogDir %s" % log_dir
    assert snaps, "no snapshot under dataDir %s" % srv.data_dir
    assert not misplaced, "log files left in dataDir: %s" % misplaced

    srv.start()
    c = connect(srv)
    try:
        names = sorted(c.get_children("/dl"))
        assert names == ["n-%03d" % i for i in range(NODES)]
        assert c.get("/dl/n-%03d" % (NODES - 1))[0] == b"v%d" % (NODES - 1)
    finally:
        c.stop()
        c.close()
