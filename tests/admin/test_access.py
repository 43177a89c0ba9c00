"""Who may ask what: the 4lw whitelist governs the commands with a four-letter twin, digest
auth guards the commands that reveal sessions or configuration, the listener is on
loopback unless configured otherwise, only GET is served, and a taken admin port does not
keep the server from serving clients."""

import json
import socket
import subprocess
import threading
import time

from kazoo.security import make_digest_acl

from conftest import http
from ports import free_port

SUPER = "digest super:test"  # servers.SUPER_DIGEST is base64(sha1("super:test"))


def body(port, path, headers=None):
    status, _, text = http(port, path, headers=headers)
    return status, json.loads(text)


def test_whitelist_applies_to_the_twin_commands(admin_server):
    srv = admin_server(**{"4lw.commands.whitelist": "ruok, mntr"})
    port = srv.admin_port
    assert body(port, "/commands/ruok") == (200, {"command": "ruok", "error": None})
    assert body(port, "/commands/monitor")[0] == 200
    assert body(port, "/commands/server_stats")[0] == 200  # srvr is always allowed
    status, refused = body(port, "/commands/stats")
    assert status == 403
    assert refused == {"command": "stats",
                       "error": "stat is not executed because it is not in the whitelist."}
    assert body(port, "/commands/dump")[0] == 403
    # No four-letter twin: not governed by the whitelist.
    assert body(port, "/commands/leader")[0] == 200
    # The same refusal on the client port.
    assert "not in the whitelist" in srv.four_letter(b"stat")


def test_digest_auth_guards_revealing_commands(admin_server, kazoo):
    srv = admin_server(**{"admin.authEnabled": "true"})
    port = srv.admin_port
    for name in ("connections", "stats", "dump", "watches", "watches_by_path",
                 "configuration", "environment", "stat_reset", "connection_stat_reset"):
        status, refused = body(port, "/commands/" + name)
        assert status == 401, name
        assert refused["command"] == name and "Auth info is missing" in refused["error"]
        assert body(port, "/commands/" + name, {"Authorization": SUPER})[0] == 200, name
    for name in ("ruok", "monitor", "server_stats", "watch_summary", "dirs", "leader"):
        assert body(port, "/commands/" + name)[0] == 200, name
    assert body(port, "/commands/dump", {"Authorization": "Basic c3VwZXI6dGVzdA=="})[0] == 403
    # A digest identity is whatever user:password hashes to (no password store, as in
    # ZooKeeper): with / open to anyone every identity may read; once / is restricted to
    # user1, others may not, as ZooKeeper 3.9 checks the root ACL.
    assert body(port, "/commands/dump", {"Authorization": "digest user2:pw2"})[0] == 200
    zk = kazoo(srv.hosts, auth_data=[("digest", "super:test")])
    zk.set_acls("/", [make_digest_acl("user1", "pw1", all=True)])
    assert body(port, "/commands/dump", {"Authorization": "digest user1:pw1"})[0] == 200
    assert body(port, "/commands/dump", {"Authorization": "digest user2:pw2"})[0] == 403
    assert body(port, "/commands/dump", {"Authorization": "digest super:wrong"})[0] == 403
    assert body(port, "/commands/dump", {"Authorization": SUPER})[0] == 200
    # Failed admin auth counts where ZooKeeper counts failed auth.
    assert body(port, "/commands/monitor")[1]["auth_failed_count"] >= 3


def listening_address(port):
    out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True,
                         text=True, check=True).stdout.split()
    assert len(out) >= 4, out
    return out[3]


def test_loopback_by_default_and_configurable(admin_server):
    srv = admin_server()
    assert listening_address(srv.admin_port) == "127.0.0.1:%d" % srv.admin_port
    conf = dict(line.split("=", 1) for line in srv.four_letter(b"conf").splitlines()
                if "=" in line)
    assert conf["admin.serverAddress"] == "127.0.0.1"
    assert conf["admin.commandURL"] == "/commands"
    other = admin_server(**{"admin.serverAddress": "0.0.0.0",
                            "admin.commandURL": "/zk/commands"})
    assert listening_address(other.admin_port) == "0.0.0.0:%d" % other.admin_port
    assert body(other.admin_port, "/zk/commands/ruok")[0] == 200
    assert http(other.admin_port, "/commands/ruok")[0] == 404


def test_methods_paths_and_index(admin_server):
    srv = admin_server()
    port = srv.admin_port
    assert http(port, "/commands/ruok", method="POST")[0] == 405
    assert http(port, "/nothing/here")[0] == 404
    status, ctype, index = http(port, "/commands")
    assert status == 200 and ctype.startswith("text/html")
    for name in ("stats", "monitor", "voting_view", "watch_summary"):
        assert '<a href="/commands/%s">%s</a>' % (name, name) in index


def test_taken_port_does_not_stop_the_server(admin_server, kazoo):
    """As ZooKeeper: the admin server is logged as not started, clients are still served."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        taken = holder.getsockname()[1]
        srv = admin_server(**{"admin.serverPort": taken})
        zk = kazoo(srv.hosts)
        zk.create("/still-serving", b"")
        assert "admin server not started: cannot listen on 127.0.0.1:%d" % taken in \
            srv.log_tail()
    assert free_port() != 0


def test_connection_limit_and_idle_timeout(admin_server):
    """At most ADMIN_CONNECTIONS_MAX (16) connections: a 17th waits in the kernel's backlog
    until admin.idleTimeout closes idle ones, so when it is answered they are all closed."""
    srv = admin_server(**{"admin.idleTimeout": 1000})
    port = srv.admin_port
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(16)]
    try:
        time.sleep(0.3)  # the HTTP thread accepts them from the backlog
        assert http(port, "/commands/ruok")[0] == 200
        for s in idle:
            s.settimeout(0)
            try:
                assert s.recv(1) == b""  # closed by the server before the 17th got in
            except BlockingIOError:
                raise AssertionError("a 17th connection was served next to 16 open ones")
    finally:
        for s in idle:
            s.close()


def test_concurrent_requests_under_load(admin_server, kazoo):
    """Requests from several threads while clients write: every answer is whole."""
    srv = admin_server()
    port = srv.admin_port
    zk = kazoo(srv.hosts)
    errors = []

    def poll():
        try:
            for _ in range(15):
                for path in ("/metrics", "/commands/stats", "/commands/connections"):
                    status, _, text = http(port, path)
                    assert status == 200 and text.endswith("\n"), (path, status)
                    if path != "/metrics":
                        json.loads(text)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=poll) for _ in range(6)]
    for t in threads:
        t.start()
    for i in range(100):
        zk.create("/c%d" % i, b"v")
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive()
    assert not errors, errors[:3]
    assert body(port, "/commands/monitor")[1]["synod_admin_requests"] >= 6 * 15 * 3
