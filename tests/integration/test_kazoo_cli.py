"""The ZooKeeper C client's CLI (cli_mt from zookeeper-bin) against the server: a second,
independent client implementation (the C client parses the handshake at fixed offsets).
Batch mode (-c) runs one command per process and session; its output goes to stderr.
(The `exists` command does not exit in batch mode, so it is not used.) Such a one-command
session cannot sync before it reads, so on a cluster every client of a test, the CLI's and
kazoo's, is on one server (`member`)."""

import os
import re
import subprocess

import pytest

CLI = "/usr/lib/zookeeper/bin/cli_mt"
CLI_TIMEOUT_S = 20



@pytest.fixture(autouse=True)
def _needs_cli_mt():
    if not os.access(CLI, os.X_OK):
        pytest.fail("%s missing: scripts/deps.sh installs zookeeper-bin" % CLI)


def cli(server, command):
    r = subprocess.run([CLI, "-h", server.hosts, "-c", command], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=CLI_TIMEOUT_S, text=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert "Got a new session id: 0x" in out, out
    return out


def test_cli_create_get_set_ls_delete(member, clients, prefix):
    server, zk = member, clients(hosts=member.hosts)
    path = prefix + "/cli"
    out = cli(server, "create %s" % path)
    assert re.search(r"\[%s\]: rc = 0\n\tname = %s\n" % (re.escape(path), re.escape(path)), out)
    assert zk.get(path)[0] == b"new"  # the CLI's create writes the data "new"

    out = cli(server, "set %s hello-cli" % path)
    assert "%s: rc = 0" % path in out
    assert re.search(r"version=1\s", out)
    assert zk.get(path)[0] == b"hello-cli"

    out = cli(server, "get %s" % path)
    assert re.search(r"%s: rc = 0\n value_len = 9\nhello-cli\n" % re.escape(path), out), out
    st = zk.exists(path)
    # the C CLI prints zxids in hex without 0x
    assert "czxid=%x\n" % st.czxid in out and "mzxid=%x\n" % st.mzxid in out

    zk.create(prefix + "/cli2", b"")
    out = cli(server, "ls %s" % prefix)
    assert "%s: rc = 0" % prefix in out
    listed = re.findall(r"^\t(\S+)$", out, re.M)
    assert sorted(listed) == ["cli", "cli2"]

    out = cli(server, "delete %s" % path)
    assert "%s: rc = 0" % path in out
    assert zk.exists(path) is None
    out = cli(server, "get %s" % path)
    assert "%s: rc = -101" % path in out


def test_cli_sequential_and_ephemeral(member, clients, prefix):
    server, zk = member, clients(hosts=member.hosts)
    out = cli(server, "create +s %s/seq-" % prefix)
    assert "name = %s/seq-0000000000" % prefix in out
    out = cli(server, "create +e %s/eph" % prefix)
    assert re.search(r"\[%s/eph\]: rc = 0" % re.escape(prefix), out)
    # the CLI process exited and closed its session: the ephemeral is gone
    assert zk.exists(prefix + "/eph") is None
    assert zk.get_children(prefix) == ["seq-0000000000"]
