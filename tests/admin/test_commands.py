"""/commands compared field by field with a live ZooKeeper 3.8 AdminServer (Debian's
zookeeper package ships JettyAdminServer): both servers get the same zoo.cfg keys and the
same client activity (an ephemeral node, a data watch), then every command's JSON must have
ZooKeeper's fields with ZooKeeper's JSON types, nested objects included, and the values
that do not depend on the implementation must be equal."""

import json

import pytest

from conftest import http

# The commands compared, by their primary names (ZooKeeper 3.8's Commands.java).
COMMANDS = [
    "ruok", "server_stats", "stats", "monitor", "configuration", "connections", "dirs", "dump",
    "environment", "is_read_only", "watches", "watches_by_path", "watch_summary", "leader",
    "voting_view", "zabstate", "last_snapshot", "stat_reset", "connection_stat_reset",
]

# Fields ZooKeeper has and synod does not, and why (docs/operations.md, "Admin server").
ABSENT = {
    # The JVM's, which synod has no equivalent of.
    "environment": {"java.version", "java.vendor", "java.home", "java.class.path",
                    "java.library.path", "java.io.tmpdir", "java.compiler", "os.memory.free",
                    "os.memory.max", "os.memory.total"},
    # monitor: ZooKeeper's metrics provider adds ~200 counters of its own pipeline
    # (request throttling, Zab stages, JVM); synod prints mntr's rows, checked below.
    "monitor": None,
}

# mntr's standard rows: monitor must have every one with ZooKeeper's type.
MONITOR_KEYS = [
    "version", "server_state", "ephemerals_count", "num_alive_connections", "avg_latency",
    "outstanding_requests", "znode_count", "global_sessions", "packets_sent",
    "packets_received", "watch_count", "auth_failed_count", "min_latency",
    "max_file_descriptor_count", "approximate_data_size", "open_file_descriptor_count",
    "local_sessions", "uptime", "max_latency",
]


# Objects keyed by ids, paths or times rather than field names: their keys differ between
# any two servers (values are checked in test_values_that_must_agree).
KEYED_BY_DATA = {"current_config", "session_id_to_watched_paths", "path_to_session_ids",
                 "expiry_time_to_session_ids", "session_id_to_ephemeral_paths"}


def json_type(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    return type(v).__name__


def compare(zk, syn, where, absent=frozenset()):
    """Every key of ZooKeeper's object is in synod's with the same JSON type; recursive
    into objects of fields and into the first element of non-empty lists of objects.
    Returns how many fields were compared."""
    missing = set(zk) - set(syn) - set(absent)
    assert not missing, "%s: synod lacks %s" % (where, sorted(missing))
    compared = 0
    for key, zv in zk.items():
        if key not in syn:
            continue
        sv = syn[key]
        if zv is None or sv is None:
            assert zv is None and sv is None or key == "error", "%s.%s: %r vs %r" % (
                where, key, zv, sv)
            continue
        assert json_type(zv) == json_type(sv), "%s.%s: %s vs %s" % (
            where, key, json_type(zv), json_type(sv))
        compared += 1
        if isinstance(zv, dict) and key not in KEYED_BY_DATA:
            compared += compare(zv, sv, where + "." + key)
        elif isinstance(zv, list) and zv and isinstance(zv[0], dict):
            assert sv, "%s.%s: empty in synod" % (where, key)
            compared += compare(zv[0], sv[0], where + "." + key + "[0]")
    return compared


def command(port, name):
    status, ctype, body = http(port, "/commands/" + name)
    assert status == 200, (name, status, body)
    assert ctype.startswith("application/json")
    return json.loads(body)


@pytest.fixture(scope="module")
def pair(module_admin_server, module_kazoo):
    """A ZooKeeper and a synod server with the same keys and the same client activity."""
    out = {}
    for target in ("zookeeper", "synod"):
        srv = module_admin_server(target=target)
        zk = module_kazoo(srv.hosts)
        zk.create("/eph", b"x", ephemeral=True)
        zk.get("/eph", watch=lambda event: None)
        out[target] = (srv, zk)
    return out


def test_commands_have_zookeepers_fields(pair):
    zk_port = pair["zookeeper"][0].admin_port
    syn_port = pair["synod"][0].admin_port
    compared = 0
    for name in COMMANDS:
        zj, sj = command(zk_port, name), command(syn_port, name)
        assert sj["command"] == zj["command"] == name
        if name == "monitor":
            for key in MONITOR_KEYS:
                assert key in sj, key
                assert json_type(zj[key]) == json_type(sj[key]), key
            continue
        compared += compare(zj, sj, name, ABSENT.get(name) or ())
    # server_stats' 18 nested fields, the connection's 16, ...: the walk went deep.
    assert compared > 120, compared


def test_values_that_must_agree(pair):
    zk_port = pair["zookeeper"][0].admin_port
    syn_port = pair["synod"][0].admin_port
    z = {n: command(zk_port, n) for n in COMMANDS}
    s = {n: command(syn_port, n) for n in COMMANDS}
    for name in ("ruok", "server_stats", "watch_summary", "is_read_only", "voting_view"):
        assert s[name]["error"] is None and z[name]["error"] is None
    assert s["watch_summary"] == z["watch_summary"]
    assert s["is_read_only"] == z["is_read_only"]
    assert s["voting_view"] == z["voting_view"] == {"current_config": {}, "command":
                                                    "voting_view", "error": None}
    assert s["leader"] == z["leader"]  # standalone: "server is not initialized"
    assert s["zabstate"] == z["zabstate"]
    assert s["server_stats"]["server_stats"]["server_state"] == "standalone"
    for key in ("tick_time", "max_client_cnxns", "min_session_timeout", "max_session_timeout"):
        assert s["configuration"][key] == z["configuration"][key], key
    # The same one session watches and owns the same one path on each server.
    assert [list(v) for v in s["watches"]["session_id_to_watched_paths"].values()] == \
        [list(v) for v in z["watches"]["session_id_to_watched_paths"].values()] == [["/eph"]]
    assert list(s["watches_by_path"]["path_to_session_ids"]) == ["/eph"]
    assert list(s["dump"]["session_id_to_ephemeral_paths"].values()) == \
        list(z["dump"]["session_id_to_ephemeral_paths"].values()) == [["/eph"]]
    conns = s["connections"]["connections"]
    assert len(conns) == len(z["connections"]["connections"]) == 1
    sid = pair["synod"][1].client_id[0]
    assert conns[0]["session_id"] == sid
    assert str(sid) in s["watches"]["session_id_to_watched_paths"]
    assert s["stats"]["connections"][0].keys() == z["stats"]["connections"][0].keys()


def test_aliases_and_unknown_command(pair):
    zk_port = pair["zookeeper"][0].admin_port
    syn_port = pair["synod"][0].admin_port
    for alias, primary in (("stat", "stats"), ("srvr", "server_stats"), ("mntr", "monitor"),
                           ("conf", "configuration"), ("cons", "connections"),
                           ("envi", "environment"), ("wchc", "watches"),
                           ("wchp", "watches_by_path"), ("wchs", "watch_summary"),
                           ("isro", "is_read_only"), ("lead", "leader")):
        assert command(syn_port, alias)["command"] == command(zk_port, alias)["command"] == primary
    assert command(syn_port, "nonexistent") == command(zk_port, "nonexistent") == {
        "command": "nonexistent", "error": "Unknown command: nonexistent"}
