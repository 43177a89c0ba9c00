"""pytest fixtures for the backup suite.

- original: a standalone synod server (SYNOD_BIN) with the admin server on a free port and
  admin.authEnabled, loaded with a tree of a few thousand nodes (data, binary data, ACLs,
  versions, sequential and deep nodes); shared by the module.
- kazoo: factory for started KazooClients (stopped and closed after the test).
- synod(*args, tty=False): runs the synod command line; returns (exit code, stdout,
  stderr), stderr on a pty when tty (then "\\r\\n" line ends, as a terminal has them).
"""

import os
import pty
import select
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from kazoo_clients import kazoo_client_factory  # noqa: E402

import servers  # noqa: E402
import suite  # noqa: E402
from ports import free_port  # noqa: E402

KAZOO_TIMEOUT_S = 15.0
TEST_TIMEOUT_S = int(os.environ.get("SYNOD_TEST_TIMEOUT_S", "240"))
CLI_TIMEOUT_S = 60.0
SUPER_AUTH = ("digest", "%s:%s" % (servers.SUPER_USER, servers.SUPER_PASSWORD))
TXN_OPS = 200


@pytest.fixture(autouse=True)
def _test_time_limit():
    with suite.time_limit(TEST_TIMEOUT_S):
        yield


def synod_bin():
    binary = os.environ.get("SYNOD_BIN")
    if not binary:
        raise RuntimeError("the backup suite needs SYNOD_BIN=<path to synod>")
    return binary


def run_synod(*args, tty=False, cwd=None):
    """(exit code, stdout, stderr) of `synod ARGS`; stderr on a pty when tty."""
    argv = [synod_bin()] + list(args)
    if not tty:
        p = subprocess.run(argv, capture_output=True, timeout=CLI_TIMEOUT_S, cwd=cwd)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                         cwd=cwd)
    os.close(slave)
    err = b""
    while True:
        ready, _, _ = select.select([master], [], [], CLI_TIMEOUT_S)
        if not ready:
            p.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    out = p.stdout.read()
    p.stdout.close()
    code = p.wait(timeout=CLI_TIMEOUT_S)
    return code, out.decode(errors="replace"), err.decode(errors="replace")


@pytest.fixture
def synod():
    return run_synod


def _kazoo_clients():
    yield from kazoo_client_factory(KAZOO_TIMEOUT_S)


kazoo = pytest.fixture(_kazoo_clients)
module_kazoo = pytest.fixture(scope="module")(_kazoo_clients)


def load_tree(zk):
    """A tree of about 2,600 nodes with the variety a restore must keep."""
    from kazoo.security import make_digest_acl, make_acl

    ops = []
    alice = [make_digest_acl("alice", "secret", all=True), make_acl("world", "anyone", read=True)]
    zk.ensure_path("/app")
    for name in ("cfg", "acl", "ver", "seq", "bin", "live"):
        zk.create("/app/" + name)
    for i in range(1500):
        ops.append(("create", "/app/cfg/k%04d" % i, ("value-%d" % i).encode() * (i % 7 + 1), None))
    for i in range(200):
        ops.append(("create", "/app/acl/n%03d" % i, b"guarded", alice))
    for i in range(300):
        ops.append(("create", "/app/ver/n%03d" % i, b"v0", None))
    for i in range(300):
        ops.append(("create", "/app/bin/b%03d" % i, bytes((i + j) % 256 for j in range(300)),
                    None))
    for start in range(0, len(ops), TXN_OPS):
        t = zk.transaction()
        for _, path, data, acl in ops[start:start + TXN_OPS]:
            t.create(path, data, acl=acl)
        assert all(not isinstance(r, Exception) for r in t.commit())
    for rnd in range(3):
        t = zk.transaction()
        for i in range(0, 300, 2):
            t.set_data("/app/ver/n%03d" % i, b"v%d" % (rnd + 1))
        t.commit()
    for i in range(200):
        zk.create("/app/seq/job-", b"%d" % i, sequence=True)
    zk.ensure_path("/app/deep/" + "/".join("d%d" % i for i in range(30)))


@pytest.fixture(scope="module")
def original(module_kazoo):
    overrides = {"admin.enableServer": "true", "admin.serverPort": free_port(),
                 "admin.authEnabled": "true"}
    srv = servers.make_server("backup", target="synod", cfg_overrides=overrides)
    srv.start()
    srv.admin_port = int(overrides["admin.serverPort"])
    zk = module_kazoo(srv.hosts, auth_data=[SUPER_AUTH])
    load_tree(zk)
    srv.zk = zk
    yield srv
    srv.destroy()
