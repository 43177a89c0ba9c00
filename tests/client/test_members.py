"""`synod members` against a real 3-server ensemble (ZooKeeper 3.8 or synod, like every test
here): list shows the membership with each server's live mode, add joins a 4th server that
then follows, remove takes it out again; the failures an operator meets (not the super
user, a stale version, reconfig disabled) exit 1 with a message that says what to do."""

import json
import os
import subprocess
import sys

import pytest

import conftest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cluster as cluster_lib  # noqa: E402
import servers  # noqa: E402
from waiting import wait_until  # noqa: E402

SUPER_AUTH = "digest:%s:%s" % (servers.SUPER_USER, servers.SUPER_PASSWORD)
CLI_TIMEOUT_S = 60
JOIN_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def ensemble():
    cfg = {"reconfigEnabled": "true"}
    if servers.target_name() == "zookeeper":  # it rewrites its zoo.cfg: one copy per server
        c = cluster_lib.ZooKeeperOwnConfigCluster(3, cfg, name="members")
    else:
        c = cluster_lib.make_cluster(3, cfg_overrides=cfg, name="members")
    try:
        c.start()
        c.wait_leader()
        wait_until(lambda: all(c.modes().values()), JOIN_TIMEOUT_S, 0.2, "every server to serve")
        yield c
    finally:
        c.destroy()


def members(hosts, args, auth=None, env_auth=None):
    """synod members ARGS, authenticated with --auth auth or $SYNOD_AUTH env_auth."""
    argv = [conftest.cli_path(), "--server", hosts]
    if auth is not None:
        argv += ["--auth", auth]
    env = dict(os.environ)
    env.pop("SYNOD_AUTH", None)
    if env_auth is not None:
        env["SYNOD_AUTH"] = env_auth
    return subprocess.run(argv + ["members"] + args, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S, env=env)


def listed(hosts):
    r = members(hosts, ["list", "--json"])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def server_arg(c, i):
    """ID=HOST:PEERPORT:ELECTIONPORT;HOST:CLIENTPORT, the line add_server() wrote."""
    return c.members[i].server_line()[len("server."):]


def test_list_shows_the_servers_with_their_live_mode(ensemble):
    c = ensemble
    doc = listed(c.hosts())
    assert doc["version"]
    assert [s["id"] for s in doc["servers"]] == [1, 2, 3]
    for s in doc["servers"]:
        m = c.members[s["id"]]
        assert s["role"] == "participant"
        assert s["peer"] == "127.0.0.1:%d:%d" % (m.peer_port, m.election_port)
        assert s["client"] == "127.0.0.1:%d" % m.client_port
        assert s["mode"] == c.mode(s["id"]) and isinstance(s["zxid"], int)
    assert sorted(s["mode"] for s in doc["servers"]) == ["follower", "follower", "leader"]
    # The membership is the cluster's: read outside a chroot of the connect string.
    assert listed(c.host(1) + "/some/app")["version"] == doc["version"]
    r = members(c.hosts(), ["list"])
    lines = r.stdout.splitlines()
    assert lines[0] == "# version %s" % doc["version"]
    assert lines[1].split() == ["ID", "ROLE", "PEER", "CLIENT", "MODE", "ZXID"]
    assert [line.split()[0] for line in lines[2:]] == ["1", "2", "3"]


def test_refusals_say_why_and_change_nothing(ensemble):
    c = ensemble
    before = listed(c.hosts())
    r = members(c.hosts(), ["remove", "3"])
    assert r.returncode == 1
    assert "not authenticated" in r.stderr and "--auth digest:super:" in r.stderr
    r = members(c.hosts(), ["remove", "-c", "7777", "3"], auth=SUPER_AUTH)
    assert r.returncode == 1
    assert "bad version" in r.stderr and "changed since" in r.stderr
    assert listed(c.hosts())["version"] == before["version"]


def test_add_then_remove_a_server(ensemble):
    c = ensemble
    first = c.hosts()
    version = listed(first)["version"]
    new = c.add_server()
    c.start(new)
    r = members(first, ["add", "-c", version, server_arg(c, new)], auth=SUPER_AUTH)
    assert r.returncode == 0, r.stderr
    assert [line.split()[0] for line in r.stdout.splitlines()[2:]] == ["1", "2", "3", "4"]

    def follows():
        doc = listed(first)
        modes = {s["id"]: s["mode"] for s in doc["servers"]}
        return modes.get(new) == "follower" and doc
    doc = wait_until(follows, JOIN_TIMEOUT_S, 0.3, "server.%d to follow" % new)
    assert [s["id"] for s in doc["servers"]] == [1, 2, 3, 4]
    assert doc["version"] != version

    r = members(first, ["remove", str(new)], env_auth=SUPER_AUTH)
    assert r.returncode == 0, r.stderr
    assert "\n4 " not in r.stdout
    assert [s["id"] for s in listed(first)["servers"]] == [1, 2, 3]


def test_usage_standalone_and_reconfig_disabled(server):
    # The session's server fixture is standalone with reconfig off (both are defaults).
    for args in (["add", "4"], ["add", "4=host"], ["add", "4=h:1:2:voter"], ["remove", "x"],
                 ["add", "-c", "zz", "4=h:1"], ["list", "extra"], ["bogus"]):
        r = members(server.hosts, args)
        assert r.returncode == 2, (args, r.stderr)
    r = members(server.hosts, ["list"])
    assert r.returncode == 1 and "no server" in r.stderr
    r = members(server.hosts, ["add", "4=127.0.0.1:1:2;127.0.0.1:3"], auth=SUPER_AUTH)
    assert r.returncode == 1
    assert "reconfig disabled" in r.stderr and "reconfigEnabled=true" in r.stderr
