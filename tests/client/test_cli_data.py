"""synod-cli data commands against a real server: output, --json, exit codes, txn, acl,
watch and status."""

import json
import time

from waiting import wait_until


def test_create_get_set_stat_and_exit_codes(cli, prefix):
    p = prefix + "/a"
    r = cli(["create", p, "v1"])
    assert r.returncode == 0 and r.stdout.strip() == p
    assert cli(["create", p, "again"]).returncode == 1  # node exists
    assert cli(["get", p]).stdout == "v1\n"
    assert cli(["set", "-v", "0", p, "v2"]).returncode == 0
    r = cli(["set", "-v", "0", p, "v3"])
    assert r.returncode == 1 and "bad version" in r.stderr
    doc = json.loads(cli(["get", p, "--json"]).stdout)
    assert doc["data"] == "v2" and doc["stat"]["version"] == 1
    assert cli(["get", prefix + "/missing"]).returncode == 1
    assert cli(["get"]).returncode == 2
    assert cli(["get", "relative"]).returncode == 2
    assert cli(["stat", p]).stdout.startswith("cZxid = 0x")


def test_modes_ls_and_recursive_rm(cli, prefix):
    r = cli(["create", "-s", "-p", prefix + "/q/n-", "x"])
    assert r.returncode == 0 and r.stdout.strip() == prefix + "/q/n-0000000000"
    cli(["create", prefix + "/q/z"])
    assert cli(["ls", prefix + "/q"]).stdout.split() == ["n-0000000000", "z"]
    assert json.loads(cli(["ls", "--json", prefix]).stdout) == ["q"]
    assert set(cli(["ls", "-R", prefix]).stdout.split()) == {
        prefix + "/q", prefix + "/q/n-0000000000", prefix + "/q/z"}
    assert cli(["rm", prefix + "/q"]).returncode == 1  # not empty
    assert cli(["rm", "-r", prefix + "/q"]).returncode == 0
    assert cli(["ls", prefix]).stdout == ""
    # An ephemeral lives only as long as the command's session.
    assert cli(["create", "-e", prefix + "/eph"]).returncode == 0
    assert cli(["get", prefix + "/eph"]).returncode == 1


def test_txn_is_all_or_nothing(cli, prefix):
    cli(["create", prefix + "/k", "0"])
    bad = "create %s/t1 a\nset %s/k 1\ncheck %s/k 7\n" % (prefix, prefix, prefix)
    r = cli(["txn"], input=bad)
    assert r.returncode == 1
    assert r.stdout.split("\n")[:3] == ["ZOK %s/t1" % prefix, "ZOK %s/k" % prefix,
                                        "ZBADVERSION %s/k" % prefix]
    assert cli(["get", prefix + "/t1"]).returncode == 1
    assert cli(["get", prefix + "/k"]).stdout == "0\n"
    good = "create %s/t1 a\nset %s/k 1 0\ndelete %s/t1\n" % (prefix, prefix, prefix)
    assert cli(["txn"], input=good).returncode == 0
    assert cli(["get", prefix + "/k"]).stdout == "1\n"
    assert cli(["txn"], input="bogus line\n").returncode == 2


def test_acl_get_set(cli, prefix):
    p = prefix + "/acl"
    cli(["create", p])
    assert cli(["acl", "get", p]).stdout.strip() == "world:anyone:rwcda"
    assert cli(["acl", "set", p, "world:anyone:r"]).returncode == 0
    assert cli(["acl", "get", p]).stdout.strip() == "world:anyone:r"
    r = cli(["set", p, "x"])
    assert r.returncode == 1 and "not authenticated" in r.stderr
    assert cli(["acl", "set", p, "world:anyone:q"]).returncode == 2


def test_watch_prints_events(cli, spawn, prefix):
    w = spawn(["watch", "-r", "-n", "3", prefix])
    wait_until(lambda: "WATCHING" in w.output(), what="watch started")
    cli(["create", prefix + "/c"])
    cli(["set", prefix + "/c", "x"])
    cli(["rm", prefix + "/c"])
    w.proc.wait(timeout=20)
    lines = [l for l in w.output().splitlines() if not l.startswith(("WATCHING", "SESSION"))]
    assert lines == ["CREATED %s/c" % prefix, "DATA_CHANGED %s/c" % prefix,
                     "DELETED %s/c" % prefix]
    assert w.proc.returncode == 0


def test_status_table_and_json(cli, server):
    r = cli(["status"])
    assert r.returncode == 0
    row = r.stdout.splitlines()[1].split()
    assert row[0] == server.hosts and row[-1] == "ok"
    assert row[1] in ("standalone", "leader", "follower")
    doc = json.loads(cli(["status", "--json"]).stdout)
    assert doc[0]["health"] == "ok" and isinstance(doc[0]["zxid"], int)
    # numbers are numbers: what srvr prints as text comes out typed
    assert isinstance(doc[0]["connections"], int) and doc[0]["connections"] >= 1
    assert all(isinstance(doc[0][k], (int, float))
               for k in ("outstanding", "latency_min_ms", "latency_avg_ms", "latency_max_ms"))
    dead = cli(["--server", "127.0.0.1:1", "status"])
    assert dead.returncode == 3 and "down" in dead.stdout
    down = json.loads(cli(["--server", "127.0.0.1:1", "status", "--json"]).stdout)[0]
    assert down["health"] == "down" and down["zxid"] is None and down["connections"] is None


def test_help_everywhere(cli):
    for cmd in ("get", "lock", "elect", "service", "config", "status", "txn"):
        r = cli([cmd, "--help"])
        assert r.returncode == 0 and r.stdout.startswith("usage: synod " + cmd)
    r = cli(["--help"])
    assert "Exit codes" in r.stdout
    assert cli(["help", "--man"]).stdout.startswith(".TH SYNOD 1")
    assert cli(["nonsense"]).returncode == 2


def test_connect_failure_exit_code(cli):
    r = cli(["--connect-timeout", "1500", "--server", "127.0.0.1:1", "get", "/"])
    assert r.returncode == 3
    r = cli(["--server", "bad:port:x", "get", "/"])
    assert r.returncode == 2


def test_chroot_in_connect_string(cli, server, prefix):
    cli(["create", prefix + "/inside", "v"])
    r = cli(["--server", server.hosts + prefix, "get", "/inside"])
    assert r.returncode == 0 and r.stdout == "v\n"
    r = cli(["--server", server.hosts + prefix, "create", "-s", "/s-"])
    assert r.stdout.strip() == "/s-0000000001"
    time.sleep(0)
