"""multi (kazoo transactions): atomic commit, rollback with per-op results, one zxid for
all ops; multiRead; raw result encoding."""

import uuid

import pytest
from kazoo.exceptions import (BadVersionError, NodeExistsError, NoNodeError, NotEmptyError,
                              RolledBackError, RuntimeInconsistency)

import zkmulti
from consistency import raw_sync
from waiting import wait_until


def test_transaction_commits_all_ops_at_one_zxid(zk, prefix):
    zk.create(prefix + "/old", b"o")
    zk.create(prefix + "/victim", b"")
    t = zk.transaction()
    t.create(prefix + "/new", b"n")
    t.create(prefix + "/new/child", b"c")  # later ops see earlier ones
    t.set_data(prefix + "/old", b"o2", version=0)
    t.check(prefix + "/old", 1)
    t.delete(prefix + "/victim")
    results = t.commit()
    assert results[0] == prefix + "/new"
    assert results[1] == prefix + "/new/child"
    assert results[2].version == 1
    assert results[3] is True and results[4] is True
    new_st = zk.exists(prefix + "/new")
    child_st = zk.exists(prefix + "/new/child")
    old_data, old_st = zk.get(prefix + "/old")
    assert old_data == b"o2"
    assert new_st.czxid == child_st.czxid == old_st.mzxid == results[2].mzxid
    assert zk.exists(prefix + "/victim") is None
    _, parent = zk.get(prefix)
    assert parent.pzxid == new_st.czxid


def test_transaction_rolls_back_with_per_op_results(zk, prefix):
    zk.create(prefix + "/n", b"v")
    t = zk.transaction()
    t.create(prefix + "/created", b"")
    t.check(prefix + "/n", 5)  # wrong version
    t.set_data(prefix + "/n", b"changed")
    results = t.commit()
    assert [type(r) for r in results] == [RolledBackError, BadVersionError,
                                          RuntimeInconsistency]
    assert zk.exists(prefix + "/created") is None
    data, st = zk.get(prefix + "/n")
    assert data == b"v" and st.version == 0


@pytest.mark.parametrize("ops,expected", [
    ([("create", "/x"), ("create", "/x")], [RolledBackError, NodeExistsError]),
    ([("delete", "/missing"), ("create", "/y")], [NoNodeError, RuntimeInconsistency]),
    ([("create", "/p"), ("create", "/p/c"), ("delete", "/p")],
     [RolledBackError, RolledBackError, NotEmptyError]),
])
def test_transaction_failures(zk, prefix, ops, expected):
    t = zk.transaction()
    for kind, path in ops:
        if kind == "create":
            t.create(prefix + path, b"")
        else:
            t.delete(prefix + path)
    results = t.commit()
    assert [type(r) for r in results] == expected
    assert zk.get_children(prefix) == []


def test_raw_multi_failure_encoding(raw, zk, prefix):
    zk.create(prefix + "/n", b"")
    c = raw()
    body = zkmulti.encode_multi([("create", prefix + "/a", b"", 0),
                                 ("check", prefix + "/n", 7),
                                 ("set", prefix + "/n", b"x", -1)])
    reply = c.call(zkmulti.OP_MULTI, body)
    assert reply.err == 0  # the multi itself succeeds; the results carry the errors
    results = zkmulti.decode_multi(reply.body)
    assert [(r.type, r.err, r.value) for r in results] == [(-1, 0, 0), (-1, -103, -103),
                                                           (-1, -2, -2)]
    assert zk.exists(prefix + "/a") is None


def test_raw_multi_success_zxid(raw, zk, prefix):
    c = raw()
    body = zkmulti.encode_multi([("create", prefix + "/a", b"1", 0),
                                 ("set", prefix + "/a", b"22", 0),
                                 ("delete", prefix + "/a", 1)])
    reply = c.call(zkmulti.OP_MULTI, body)
    assert reply.err == 0
    results = zkmulti.decode_multi(reply.body)
    assert [r.type for r in results] == [1, 5, 2]
    assert results[0].value == prefix + "/a"
    assert results[1].value.mzxid == reply.zxid  # the multi's single zxid
    assert results[1].value.version == 1
    assert zk.exists(prefix + "/a") is None


@pytest.mark.zk_only(reason="ZooKeeper 3.8.0 answers a create2 inside multi with a type-1 "
                     "CreateResponse (fixed in 3.8.x by ZOOKEEPER-4026; synod implements the fix)")
def test_raw_multi_create2_result_zookeeper_380(raw, prefix):
    c = raw()
    reply = c.call(zkmulti.OP_MULTI, zkmulti.encode_multi([("create2", prefix + "/c", b"", 0)]))
    results = zkmulti.decode_multi(reply.body)
    assert [(r.type, r.value) for r in results] == [(1, prefix + "/c")]


@pytest.mark.synod_only(reason="fixed behaviour of ZOOKEEPER-4026: create2 in multi returns "
                        "Create2Response with stat; Debian's ZooKeeper 3.8.0 predates it")
def test_raw_multi_create2_result(raw, prefix):
    c = raw()
    reply = c.call(zkmulti.OP_MULTI, zkmulti.encode_multi([("create2", prefix + "/c", b"", 0)]))
    results = zkmulti.decode_multi(reply.body)
    assert len(results) == 1 and results[0].type == 15
    path, stat = results[0].value
    assert path == prefix + "/c" and stat.czxid == reply.zxid


def test_multi_read(raw, zk, prefix):
    zk.create(prefix + "/a", b"data-a")
    zk.create(prefix + "/a/k1", b"")
    zk.create(prefix + "/a/k2", b"")
    c = raw()
    raw_sync(c, prefix + "/a")  # (on a cluster c's server may not have zk's creates yet)
    body = zkmulti.encode_multi([("get", prefix + "/a"), ("children", prefix + "/a"),
                                 ("get", prefix + "/missing")])
    reply = c.call(zkmulti.OP_MULTI_READ, body)
    assert reply.err == 0
    results = zkmulti.decode_multi(reply.body)
    assert results[0].type == 4 and results[0].value[0] == b"data-a"
    assert results[0].value[1].numChildren == 2
    assert results[1].type == 8 and sorted(results[1].value) == ["k1", "k2"]
    # multiRead is not atomic: the missing node fails alone
    assert (results[2].type, results[2].err, results[2].value) == (-1, -101, -101)


JUTE_MAXBUFFER = 1024 * 1024 - 1  # ZooKeeper's default, synod's ZK_FRAME_BYTES_MAX
OLD_OP_CAP = 16384  # synod's former fixed ZK_MULTI_OPS_MAX


def test_multi_of_more_ops_than_the_old_cap_fits_and_runs(raw, zk):
    """ZooKeeper bounds a multi only by jute.maxbuffer: 30,000 checks and 1,000 creates in
    one frame under 1 MiB run atomically, and so does a multiRead of 30,000 ops."""
    base = "/mb%s" % uuid.uuid4().hex[:8]  # a short path, so that many ops fit in a frame
    zk.create(base, b"")
    try:
        n_checks, n_creates = 30000, 1000
        creates = ["%s/c%04d" % (base, i) for i in range(n_creates)]
        body = zkmulti.encode_multi([("check", base, 0)] * n_checks +
                                    [("create", p, b"", 0) for p in creates])
        assert 8 + len(body) <= JUTE_MAXBUFFER and n_checks + n_creates > OLD_OP_CAP
        c = raw()
        reply = c.call(zkmulti.OP_MULTI, body, timeout_s=60)
        assert reply.err == 0
        results = zkmulti.decode_multi(reply.body, max_results=n_checks + n_creates)
        assert len(results) == n_checks + n_creates
        assert all((r.type, r.err) == (zkmulti.OP_CHECK, 0) for r in results[:n_checks])
        assert [(r.type, r.value) for r in results[n_checks:]] == [(1, p) for p in creates]
        zk.sync(base)  # (zk may be on another server than c)
        assert zk.exists(base).numChildren == n_creates
        assert zk.exists(creates[-1]).czxid == reply.zxid  # one txn, one zxid

        n_reads = 30000
        body = zkmulti.encode_multi([("children", creates[0])] * n_reads)
        assert 8 + len(body) <= JUTE_MAXBUFFER
        reply = c.call(zkmulti.OP_MULTI_READ, body, timeout_s=60)
        assert reply.err == 0
        results = zkmulti.decode_multi(reply.body, max_results=n_reads)
        assert len(results) == n_reads and all(r.value == [] for r in results)
    finally:
        zk.delete(base, recursive=True)


def test_transaction_sequential_and_ephemeral(zk, prefix):
    t = zk.transaction()
    t.create(prefix + "/job-", b"", sequence=True)
    t.create(prefix + "/job-", b"", sequence=True, ephemeral=True)
    t.create(prefix + "/eph", b"", ephemeral=True)
    results = t.commit()
    assert results == [prefix + "/job-0000000000", prefix + "/job-0000000001",
                       prefix + "/eph"]
    assert zk.exists(prefix + "/job-0000000000").ephemeralOwner == 0
    assert zk.exists(prefix + "/job-0000000001").ephemeralOwner == zk.client_id[0]
    assert zk.exists(prefix + "/eph").ephemeralOwner == zk.client_id[0]


def test_failed_transaction_does_not_consume_sequence_numbers(zk, prefix):
    t = zk.transaction()
    t.create(prefix + "/s-", b"", sequence=True)
    t.check(prefix + "/missing", 0)
    results = t.commit()
    assert [type(r) for r in results] == [RolledBackError, NoNodeError]
    assert zk.create(prefix + "/s-", b"", sequence=True) == prefix + "/s-0000000000"


def test_transaction_watch_events(clients, prefix):
    zk, watcher = clients(), clients()
    zk.create(prefix + "/w", b"")
    events = []
    watcher.sync(prefix + "/w")
    watcher.get(prefix + "/w", watch=events.append)
    watcher.get_children(prefix, watch=events.append)
    t = zk.transaction()
    t.set_data(prefix + "/w", b"x")
    t.create(prefix + "/new", b"")
    t.commit()
    wait_until(lambda: len(events) == 2, 10, what="both watches fire")
    assert sorted((e.type, e.path) for e in events) == [("CHANGED", prefix + "/w"),
                                                        ("CHILD", prefix)]
