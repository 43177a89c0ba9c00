"""`synod backup` of a loaded server while writers run, `synod restore`, and servers
started from the restored directories serving the same tree.

The backup is taken at one zxid Z (it prints it). The writers only create nodes, so the
restored tree must be exactly the original's nodes with czxid <= Z: every such node with
the same data, ACL and Stat (czxid, mzxid, ctime, mtime, version, aversion, dataLength,
ephemeralOwner; and pzxid, cversion, numChildren where no child came after Z), and no
other node. /zookeeper/config is the new servers' own (docs/operations.md).
"""

import os
import re
import shutil
import tempfile
import threading
import time

import pytest
from kazoo.exceptions import NoNodeError

import cluster
import servers
from conftest import SUPER_AUTH

STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "aversion", "dataLength",
               "ephemeralOwner")
CHILD_FIELDS = ("pzxid", "cversion", "numChildren")
MEMBERSHIP = "/zookeeper/config"
WALK_BATCH = 500
WRITERS = 2
WRITES_BEFORE_BACKUP = 50
WAIT_S = 20.0


def walk(zk):
    """{path: (data, stat, acls, sorted children)} of the whole tree, read in batches."""
    tree = {}
    level = ["/"]
    while level:
        nxt = []
        for start in range(0, len(level), WALK_BATCH):
            batch = [(p, zk.get_async(p), zk.get_acls_async(p), zk.get_children_async(p))
                     for p in level[start:start + WALK_BATCH]]
            for p, g, a, c in batch:
                data, stat = g.get(timeout=WAIT_S)
                acls, _ = a.get(timeout=WAIT_S)
                kids = sorted(c.get(timeout=WAIT_S))
                tree[p] = (data, stat, [(x.perms, x.id.scheme, x.id.id) for x in acls], kids)
                nxt += [(p.rstrip("/") + "/" + k) for k in kids]
        level = nxt
    return tree


def assert_same_tree(restored, original, zxid):
    """restored == the nodes of original with czxid <= zxid (see the module comment)."""
    expected = {p for p, v in original.items() if v[1].czxid <= zxid}
    assert sorted(set(restored) - expected) == []
    assert sorted(expected - set(restored)) == []
    for p in sorted(expected):
        if p == MEMBERSHIP:
            continue
        data, stat, acls, kids = original[p]
        rdata, rstat, racls, rkids = restored[p]
        assert rdata == data, p
        assert racls == acls, p
        for f in STAT_FIELDS:
            assert getattr(rstat, f) == getattr(stat, f), (p, f)
        child = lambda k: p.rstrip("/") + "/" + k  # noqa: E731
        assert rkids == [k for k in kids if original[child(k)][1].czxid <= zxid], p
        if rkids == kids:
            for f in CHILD_FIELDS:
                assert getattr(rstat, f) == getattr(stat, f), (p, f)


class Writers:
    """Clients creating nodes under /app/live/wN as fast as they can until stopped."""

    def __init__(self, kazoo, hosts):
        self.stop_event = threading.Event()
        self.counts = [0] * WRITERS
        self.errors = []
        self.threads = []
        for i in range(WRITERS):
            zk = kazoo(hosts, auth_data=[SUPER_AUTH])
            zk.ensure_path("/app/live/w%d" % i)
            t = threading.Thread(target=self._run, args=(zk, i), daemon=True)
            self.threads.append(t)

    def _run(self, zk, i):
        try:
            while not self.stop_event.is_set():
                zk.create("/app/live/w%d/n-" % i, b"x" * 64, sequence=True)
                self.counts[i] += 1
        except Exception as e:  # reported by stop()
            self.errors.append(e)

    def start(self):
        for t in self.threads:
            t.start()
        deadline = time.monotonic() + WAIT_S
        while min(self.counts) < WRITES_BEFORE_BACKUP and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(WAIT_S)
        assert self.errors == []
        return sum(self.counts)


def saved_zxid(out):
    m = re.search(r"zxid 0x([0-9a-f]+)", out)
    assert m, out
    return int(m.group(1), 16)


@pytest.fixture(scope="module")
def work():
    d = tempfile.mkdtemp(prefix="backup-test-")
    yield d
    if os.environ.get("SYNOD_KEEP_TMP") != "1":
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def backup(original, work, module_kazoo):
    """The backup file of the loaded original, taken while writers run: (path, zxid,
    the original's tree afterwards)."""
    writers = Writers(module_kazoo, original.hosts).start()
    path = os.path.join(work, "full.snap")
    from conftest import run_synod
    code, out, err = run_synod("--server", original.hosts, "--auth", "digest:super:test",
                               "backup", path)
    written_during = sum(writers.counts)
    total = writers.stop()
    assert (code, err) == (0, ""), out + err  # no progress line when piped
    assert total > written_during, "the writers ran on while the backup was taken"
    tree = walk(original.zk)
    return path, saved_zxid(out), tree


def test_backup_saves_a_consistent_snapshot_while_serving(backup):
    path, zxid, tree = backup
    assert os.path.getsize(path) > 100 * 1024
    assert not os.path.exists(path + ".part")
    assert len(tree) > 2500
    live = [p for p, v in tree.items() if p.startswith("/app/live/w") and v[1].czxid > zxid]
    assert live, "writers created nodes after the backup's zxid"


def test_restore_single_server_serves_the_same_tree(backup, work, synod, kazoo):
    path, zxid, tree = backup
    srv = servers.make_server("restored", target="synod")
    try:
        os.rmdir(srv.data_dir)  # restore makes it
        code, out, err = synod("restore", path, srv.data_dir)
        assert (code, err) == (0, ""), out + err
        assert "zxid 0x%x" % zxid in out
        srv.start()
        zk = kazoo(srv.hosts, auth_data=[SUPER_AUTH])
        assert_same_tree(walk(zk), tree, zxid)
        created = zk.create("/after-restore", b"new")
        assert zk.exists(created).czxid > zxid
    finally:
        srv.destroy()


def test_restore_cluster_serves_the_same_tree_and_replicates(backup, work, synod, kazoo):
    path, zxid, tree = backup
    c = cluster.make_cluster(3, target="synod", name="restored",
                             cfg_overrides={"admin.enableServer": "true"})
    try:
        for i in c.ids():
            m = c.members[i]
            shutil.rmtree(m.data_dir)
            code, out, err = synod("restore", path, m.data_dir)
            assert (code, err) == (0, ""), out + err
        c.start()
        c.wait_leader()
        clients = {i: kazoo(c.host(i), auth_data=[SUPER_AUTH]) for i in c.ids()}
        for i in c.ids():
            assert_same_tree(walk(clients[i]), tree, zxid)
        clients[1].create("/after-restore", b"replicated")
        for i in c.ids():
            clients[i].sync("/after-restore")
            data, stat = clients[i].get("/after-restore")
            assert data == b"replicated" and stat.czxid > zxid
        membership = clients[1].get(MEMBERSHIP)[0].decode()
        for i in c.ids():
            assert "server.%d=127.0.0.1:%d" % (i, c.members[i].peer_port) in membership

        # A member of the restored cluster backs up too; its membership does not travel.
        again = os.path.join(work, "cluster.snap")
        code, out, err = synod("--server", c.host(2), "backup", "--admin",
                               "127.0.0.1:%d" % c.members[2].admin_port, again)
        assert (code, err) == (0, ""), out + err
        single = servers.make_server("from-cluster", target="synod")
        try:
            os.rmdir(single.data_dir)
            assert synod("restore", again, single.data_dir)[0] == 0
            single.start()
            zk = kazoo(single.hosts, auth_data=[SUPER_AUTH])
            assert zk.get("/after-restore")[0] == b"replicated"
            assert zk.get(MEMBERSHIP)[0] == b""
            zk.create("/standalone-write")
        finally:
            single.destroy()
    finally:
        c.destroy()


def test_restore_refuses_a_non_empty_dir(backup, work, synod):
    d = os.path.join(work, "not-empty")
    os.mkdir(d)
    open(os.path.join(d, "keep"), "w").close()
    code, out, err = synod("restore", backup[0], d)
    assert code == 2 and "is not empty" in err, err
    assert os.listdir(d) == ["keep"]


def damaged_copy(work, name, change):
    src = open(os.path.join(work, "full.snap"), "rb").read()
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(change(bytearray(src)))
    return path


def flip(b):
    b[len(b) // 2] ^= 0x01
    return b


@pytest.mark.parametrize("name,change,code,message", [
    ("flipped.snap", flip, 7, "is damaged"),
    ("truncated.snap", lambda b: b[:len(b) * 2 // 3], 7, "is truncated"),
    ("header.snap", lambda b: b"X" + b[1:], 7, "is damaged"),
])
def test_restore_refuses_a_damaged_file(backup, work, synod, name, change, code, message):
    path = damaged_copy(work, name, change)
    target = os.path.join(work, "from-" + name)
    got, out, err = synod("restore", path, target)
    assert got == code and message in err, err
    assert not os.path.exists(target)


def test_restore_refuses_a_missing_file(work, synod):
    target = os.path.join(work, "from-missing")
    code, out, err = synod("restore", os.path.join(work, "missing.snap"), target)
    assert code == 2 and "missing.snap: No such file or directory" in err, err
    assert not os.path.exists(target)


def test_backup_needs_credentials_when_admin_auth_is_on(original, work, synod):
    path = os.path.join(work, "refused.snap")
    code, out, err = synod("--server", original.hosts, "backup", path)
    assert code == 1 and "HTTP 401" in err and "Auth info is missing" in err, err
    assert not os.path.exists(path) and not os.path.exists(path + ".part")


def test_backup_names_an_unreachable_admin_server(work, synod):
    from ports import free_port
    code, out, err = synod("backup", "--admin", "127.0.0.1:%d" % free_port(),
                           os.path.join(work, "nowhere.snap"))
    assert code == 3 and "no admin server at 127.0.0.1:" in err, err


def test_progress_on_a_terminal_only(original, backup, work, synod):
    path = os.path.join(work, "tty.snap")
    code, out, err = synod("--server", original.hosts, "--auth", "digest:super:test",
                           "backup", path, tty=True)
    assert code == 0, err
    assert "\r\x1b[Kbackup  " in err and "/s" in err, repr(err)
    assert "saved " in out
    code, out, err = synod("restore", path, os.path.join(work, "tty-dir"), tty=True)
    assert code == 0, err
    assert "\r\x1b[Krestore: " in err, repr(err)
    code, out, err = synod("restore", path, os.path.join(work, "piped-dir"))
    assert (code, err) == (0, "")


def make_many(zk, parent, count):
    zk.create(parent)
    for start in range(0, count, 200):
        t = zk.transaction()
        for i in range(start, min(count, start + 200)):
            t.create("%s/c%05d" % (parent, i))
        t.commit()


def test_progress_of_recursive_delete_and_listing(original, synod):
    many = 300  # above CLI_PROGRESS_NODES_MIN: a small subtree shows nothing
    make_many(original.zk, "/many", many)
    server = ("--server", original.hosts)
    code, out, err = synod(*server, "ls", "-R", "/many", tty=True)
    assert code == 0 and len(out.splitlines()) == many
    assert "\r\x1b[Kls -R: listed " in err and " nodes" in err, repr(err)
    code, out, err = synod(*server, "ls", "-R", "/many")
    assert (code, err) == (0, "") and len(out.splitlines()) == many
    code, out, err = synod(*server, "rm", "-r", "/many", tty=True)
    assert code == 0 and "\r\x1b[Krm -r: deleted " in err, repr(err)
    assert original.zk.exists("/many") is None
    make_many(original.zk, "/many", many)
    code, out, err = synod(*server, "rm", "-r", "/many")
    assert (code, out, err) == (0, "", "")
    assert original.zk.exists("/many") is None
