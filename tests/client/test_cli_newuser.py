"""The command line as a new user meets it: each mistake gets a message saying what is
wrong (and what to do) with the right exit code, at once; values come from stdin and
files; --json stays valid JSON; ZooKeeper's habits work; the README's examples run.
Every check runs the real binary and looks at its output and exit code."""

import base64
import json
import os
import pty
import re
import select
import socket
import subprocess
import time

import pytest

from conftest import cli_path
from ports import free_port
from waiting import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, "..", "..", "README.md")
# A connect attempt that ends by "refused" or "unknown host" is reported well within this,
# while the connect timeout the tests give is far longer.
PROMPT_S = 5.0
LONG_CONNECT_TIMEOUT_MS = 30000
JUTE_MAXBUFFER = 1048575


def one_json_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    assert len(lines) == 1, text
    return json.loads(lines[0])


# ---- connecting ----

def test_refused_connection_and_unknown_host_are_reported_at_once(cli, server):
    port = free_port()
    cases = [
        ("127.0.0.1:%d" % port, ["no server at 127.0.0.1:%d (connection refused)" % port,
                                 "is synod running?"]),
        ("nosuchhost.invalid:2181", ["no server at nosuchhost.invalid:2181 (unknown host)",
                                     "is the host name right?"]),
        # a cluster string: reported only when every server refused or is unknown
        ("127.0.0.1:%d,nosuchhost.invalid:2181" % port, ["(connection refused)",
                                                         "(unknown host)"]),
    ]
    for hosts, needles in cases:
        t0 = time.monotonic()
        r = cli(["--server", hosts, "--connect-timeout", str(LONG_CONNECT_TIMEOUT_MS),
                 "get", "/"])
        assert time.monotonic() - t0 < PROMPT_S, (hosts, r.stderr)
        assert r.returncode == 3, r.stderr
        for needle in needles:
            assert needle in r.stderr, r.stderr
        assert "(servers from --server)" in r.stderr
    # One server refusing is no failure while another answers.
    r = cli(["--server", "127.0.0.1:%d,%s" % (port, server.hosts), "ls", "/"])
    assert r.returncode == 0 and "zookeeper" in r.stdout.split()
    # The default names itself, so that a user who never gave --server learns of it.
    env = dict(os.environ, SYNOD_SERVERS="127.0.0.1:%d" % port)
    r = subprocess.run([cli_path(), "get", "/"], env=env, capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 3 and "(servers from SYNOD_SERVERS)" in r.stderr


def test_long_running_command_warns_at_once_then_keeps_trying(spawn):
    port = free_port()
    w = spawn(["--connect-timeout", "2000", "watch", "/"], hosts="127.0.0.1:%d" % port)
    wait_until(lambda: "still trying for up to 2000 ms" in w.output(), timeout_s=PROMPT_S,
               what="the warning")
    assert w.proc.poll() is None  # still trying
    assert w.proc.wait(timeout=20) == 3
    assert "cannot connect within 2000 ms (--connect-timeout): 127.0.0.1:%d (connection " \
           "refused)" % port in w.output()


def test_bad_connect_strings_say_what_is_wrong(cli):
    for hosts, needle in [("127.0.0.1:70000", "port 70000 of '127.0.0.1:70000' is out of range"),
                          ("127.0.0.1:x", "port 'x' of '127.0.0.1:x' is not a number"),
                          ("a,,b", "a server is empty"),
                          ("a:1/b//c", "chroot '/b//c' is not a valid path")]:
        r = cli(["--server", hosts, "get", "/"])
        assert r.returncode == 2 and needle in r.stderr, (hosts, r.stderr)


# ---- values from stdin and files ----

def test_values_from_stdin_and_files(cli, prefix, tmp_path):
    blob = bytes(range(256)) * 3
    f = tmp_path / "blob.bin"
    f.write_bytes(blob)
    p = prefix + "/v"
    assert cli(["create", p, "-"], input="from stdin\n").returncode == 0
    assert cli(["get", p]).stdout == "from stdin\n\n"
    assert cli(["set", p, "@" + str(f)]).returncode == 0
    doc = json.loads(cli(["get", "--json", p]).stdout)
    assert doc["encoding"] == "base64" and base64.b64decode(doc["data"]) == blob
    assert cli(["set", p, "-"], input="again").returncode == 0
    assert cli(["get", p]).stdout == "again\n"
    assert cli(["create", p + "2", "@" + str(f)]).returncode == 0
    assert json.loads(cli(["stat", "--json", p + "2"]).stdout)["dataLength"] == len(blob)
    # A missing file is named, nothing is written.
    r = cli(["set", p, "@" + str(tmp_path / "missing")])
    assert r.returncode == 2 and "cannot open %s" % (tmp_path / "missing") in r.stderr
    assert cli(["get", p]).stdout == "again\n"


def test_create_refuses_to_drop_piped_data(cli, server, prefix):
    p = prefix + "/piped"
    r = cli(["create", p], input="data that would be lost")
    assert r.returncode == 2
    assert "stdin holds data but no DATA was given" in r.stderr
    assert "synod create %s -" % p in r.stderr
    assert cli(["stat", p]).returncode == 1  # nothing created
    # With nothing on stdin (/dev/null, as from cron or systemd): an empty node, as in zkCli.
    assert cli(["create", p]).returncode == 0
    assert cli(["get", p]).stdout == "\n"
    # An idle pipe nobody writes to (ssh host synod create ..., a supervisor): no data to
    # lose, so an empty node as well, at once rather than waiting for the pipe to close.
    idle = p + "-idle-pipe"
    read_end, write_end = os.pipe()
    try:
        r = subprocess.run([cli_path(), "--server", server.hosts, "create", idle],
                           stdin=read_end, capture_output=True, text=True, timeout=60)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert r.returncode == 0, r.stderr
    assert cli(["get", idle]).stdout == "\n"


def test_sizes_over_jute_maxbuffer_name_the_limit(cli, prefix, tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"x" * (JUTE_MAXBUFFER + 1))
    r = cli(["create", prefix + "/big", "@" + str(big)])
    assert r.returncode == 2
    assert "is %d bytes" % (JUTE_MAXBUFFER + 1) in r.stderr
    assert "jute.maxbuffer (%d bytes)" % JUTE_MAXBUFFER in r.stderr
    r = cli(["set", prefix, "-"], input="y" * (JUTE_MAXBUFFER + 1))
    assert r.returncode == 2 and "jute.maxbuffer" in r.stderr
    # The largest value the message allows goes through.
    room = int(re.search(r"leaves (\d+) bytes", cli(["create", prefix + "/big", "@" + str(big)])
                         .stderr).group(1))
    big.write_bytes(b"z" * room)
    assert cli(["create", prefix + "/big", "@" + str(big)]).returncode == 0
    assert json.loads(cli(["stat", "--json", prefix + "/big"]).stdout)["dataLength"] == room


def test_txn_values_from_files_and_stdin(cli, prefix, tmp_path):
    data = tmp_path / "d"
    data.write_bytes(b"from a file")
    ops = tmp_path / "ops"
    ops.write_text("create %s/a @%s\ncreate %s/b -\n" % (prefix, data, prefix))
    r = cli(["txn", str(ops)], input="from stdin")
    assert r.returncode == 0, r.stderr
    assert cli(["get", prefix + "/a"]).stdout == "from a file\n"
    assert cli(["get", prefix + "/b"]).stdout == "from stdin\n"
    # '-' cannot also be the operations themselves.
    r = cli(["txn"], input="create %s/c -\n" % prefix)
    assert r.returncode == 2 and "txn line 1:" in r.stderr and "give the operations as FILE" \
        in r.stderr


# ---- specific errors instead of "bad arguments" and silent exit 2 ----

@pytest.mark.parametrize("args,code,needle", [
    (["create", "app"], 2, "path 'app' must start with '/'"),
    (["get", "/a//b"], 2, "path '/a//b' has an empty segment"),
    (["ls", "/a/"], 2, "path '/a/' ends with '/'"),
    (["create", "-t", "abc", "/t"], 2, "create -t wants an integer from 1 to"),
    (["create", "-t"], 2, "create: option -t needs a value"),
    (["set", "-v", "x", "/a", "d"], 2, "set -v wants an integer"),
    (["watch", "-n", "0", "/"], 2, "watch -n wants an integer from 1"),
    (["counter", "add", "/c", "5x"], 2, "counter DELTA wants an integer"),
    (["lock", "-t", "soon", "x", "--", "true"], 2, "lock -t wants an integer"),
    (["--session-timeout", "abc", "get", "/"], 2, "--session-timeout wants an integer"),
    (["--connect-timeout"], 2, "--connect-timeout needs a value"),
    (["--bogus", "get", "/"], 2, "unknown option '--bogus' before the command"),
    (["get", "--bogus", "/"], 2, "get: unknown option '--bogus'"),
    (["get", "-x", "/"], 2, "get: unknown option -x"),
    (["set", "/a", "-5"], 2, "a value that starts with '-' goes after --"),
    (["nonsense"], 2, "unknown command 'nonsense'"),
    (["config", "frobnicate", "/c"], 2, "config: unknown subcommand 'frobnicate'"),
    (["set", "/a"], 2, "set: missing DATA|-|@FILE"),
    (["service", "register", "web", "--address", "10.0.0.5", "--port", "99999"], 2,
     "--port wants an integer from 1 to 65535"),
    (["service", "register", "web", "--address", "10.0.0.5", "--port", "80",
      "--metadata", "{zone: a}"], 2, "--metadata '{zone: a}' is not a JSON object"),
    (["txn", "/nonexistent/ops"], 2, "txn: cannot open /nonexistent/ops: No such file"),
    (["config", "apply", "/cfg", "/nonexistent/cfg"], 2,
     "config apply: cannot open /nonexistent/cfg: No such file"),
])
def test_mistakes_get_specific_messages(cli, args, code, needle):
    r = cli(args)
    assert r.returncode == code and needle in r.stderr, (args, r.returncode, r.stderr)


def test_config_apply_names_the_bad_line(cli, prefix, tmp_path):
    f = tmp_path / "app.cfg"
    f.write_text("# settings\nsize=10\nnot a setting\n-gone\n")
    r = cli(["config", "apply", prefix + "/cfg", str(f)])
    assert r.returncode == 2
    assert "%s:3: expected KEY=VALUE or -KEY, got 'not a setting'" % f in r.stderr
    assert cli(["stat", prefix + "/cfg"]).returncode == 1  # nothing applied


def test_txn_names_the_bad_line(cli, prefix):
    r = cli(["txn"], input="create %s/a 1\n\nbogus %s/b\n" % (prefix, prefix))
    assert r.returncode == 2 and "txn line 3: unknown operation 'bogus'" in r.stderr
    r = cli(["txn"], input="check %s x\n" % prefix)
    assert r.returncode == 2 and "txn line 1: VERSION 'x' is not an integer" in r.stderr


def test_rm_of_a_non_empty_node_hints_at_r(cli, prefix):
    cli(["create", prefix + "/p"])
    cli(["create", prefix + "/p/c"])
    r = cli(["rm", prefix + "/p"])
    assert r.returncode == 1 and "rm -r %s/p deletes the whole subtree" % prefix in r.stderr
    r = cli(["delete", prefix + "/p"])
    assert r.returncode == 1 and "deleteall %s/p" % prefix in r.stderr


# ---- watch -n ----

def test_watch_count_is_exact_when_events_arrive_together(cli, spawn, prefix):
    w = spawn(["watch", "-r", "-n", "2", prefix])
    wait_until(lambda: "WATCHING" in w.output(), what="watch started")
    # One multi: its four events reach the client in one burst.
    ops = "".join("create %s/e%d\n" % (prefix, i) for i in range(4))
    assert cli(["txn"], input=ops).returncode == 0
    assert w.proc.wait(timeout=20) == 0
    events = [l for l in w.output().splitlines() if l.startswith("CREATED")]
    assert events == ["CREATED %s/e0" % prefix, "CREATED %s/e1" % prefix]
    assert "SESSION" not in w.output()  # our own close is not news


# ---- --json ----

def test_json_data_types_and_errors(cli, prefix):
    p = prefix + "/j"
    cli(["create", p, "héllo\n"])
    doc = json.loads(cli(["get", "--json", p]).stdout)
    assert doc["data"] == "héllo\n" and doc["encoding"] == "utf-8"
    cli(["set", p, "-"], input="a\x00b")  # NUL: not text for a JSON reader
    doc = json.loads(cli(["get", "--json", p]).stdout)
    assert doc["encoding"] == "base64" and base64.b64decode(doc["data"]) == b"a\x00b"
    doc = json.loads(cli(["set", "--json", p, "x"]).stdout)
    assert doc["path"] == p and doc["stat"]["version"] == 2
    # Errors: one JSON object on stderr, nothing on stdout.
    r = cli(["--json", "get", prefix + "/missing"])
    assert r.returncode == 1 and r.stdout == ""
    err = one_json_line(r.stderr)
    assert err == {"error": "%s/missing: no node" % prefix, "exit": 1, "zk_error": "ZNONODE"}
    r = cli(["--json", "get"])
    assert r.returncode == 2
    assert one_json_line(r.stderr) == {"error": "get: missing PATH", "exit": 2,
                                       "zk_error": None}
    r = cli(["--json", "--server", "127.0.0.1:%d" % free_port(), "ls", "/"])
    assert r.returncode == 3 and "no server at" in one_json_line(r.stderr)["error"]


# ---- ZooKeeper habits ----

def test_delete_and_deleteall(cli, prefix):
    cli(["create", "-p", prefix + "/t/x/y"])
    assert cli(["delete", prefix + "/t/x/y"]).returncode == 0
    assert cli(["deleteall", prefix + "/t"]).returncode == 0
    assert cli(["stat", prefix + "/t"]).returncode == 1
    assert cli(["delete", "--help"]).stdout.startswith("usage: synod delete")


def shell_session(server, home, lines):
    """Runs `synod shell` on a terminal (a pty), typing lines; returns what it printed."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["HOME"] = home
        os.execv(cli_path(), [cli_path(), "--server", server.hosts, "shell"])
    out = b""
    try:
        for line in lines:
            os.write(fd, line.encode() + b"\r")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the shell exited: EIO on the master side
                break
            if not chunk:
                break
            out += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, out
    return out.decode(errors="replace")


def test_shell_history_is_kept_in_home(server, prefix, tmp_path):
    home = str(tmp_path)
    history = os.path.join(home, ".synod_history")
    out = shell_session(server, home, ["create %s/sh hi" % prefix, "get %s/sh" % prefix, "quit"])
    assert "hi" in out
    with open(history) as f:
        assert f.read().splitlines() == ["create %s/sh hi" % prefix, "get %s/sh" % prefix,
                                         "quit"]
    shell_session(server, home, ["ls %s" % prefix, "quit"])  # appended, not overwritten
    with open(history) as f:
        lines = f.read().splitlines()
    assert len(lines) == 5 and lines[-2:] == ["ls %s" % prefix, "quit"]


# ---- the server and tools ----

def synod_bin():
    path = os.environ.get("SYNOD_BIN")
    if not path:
        pytest.fail("SYNOD_BIN is not set (ctest sets it to the synod server binary)")
    return path


def test_serve_start_up_errors(tmp_path):
    bin_path = synod_bin()
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text("dataDir=%s\nclientPort=0\nlogLevel=loud\n" % (tmp_path / "data"))
    r = subprocess.run([bin_path, "serve", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    assert "%s:3: logLevel must be debug, info, warn or error, not 'loud'" % cfg in r.stderr
    # A port in use: the cause once, no vague "system call failed" after it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        cfg.write_text("dataDir=%s\nclientPort=%d\n" % (tmp_path / "data", port))
        r = subprocess.run([bin_path, "serve", "-c", str(cfg)], capture_output=True, text=True,
                           timeout=60)
    assert r.returncode == 1
    assert "cannot listen on 127.0.0.1:%d" % port in r.stderr
    assert "system call failed" not in r.stderr


def test_check_wal_help():
    path = os.environ.get("SYNOD_CHECK_WAL")
    if not path:
        pytest.fail("SYNOD_CHECK_WAL is not set (ctest sets it)")
    r = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("usage: synod-check-wal")


# ---- the README's examples ----

def readme_block(after):
    """The lines of the first ```sh block after the line containing `after`."""
    text = open(README).read()
    start = text.index("```sh\n", text.index(after)) + len("```sh\n")
    return text[start:text.index("```", start)].splitlines()


def test_readme_synod_examples_run(cli, server, prefix):
    ran = 0
    for line in readme_block("With synod's own command line"):
        args = line.split("#")[0].split()
        assert args[0] == "synod", line
        # One-shot commands run (under a chroot, so that /app is the test's own); the
        # long-running and interactive ones must at least exist with that syntax.
        if args[1] in ("create", "get", "ls", "status"):
            r = cli(["--server", server.hosts + prefix] + args[1:])
            assert r.returncode == 0, (line, r.stderr)
            ran += 1
        else:
            sub = args[1:2] + ([args[2]] if args[1] in ("service", "members") else [])
            r = cli(sub + ["--help"])
            assert r.returncode == 0 and "usage: synod " + args[1] in r.stdout, line
    assert ran >= 3
    assert cli(["get", prefix + "/app/config"]).stdout == "v1\n"


CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"


def test_readme_cli_mt_example(server, prefix):
    # zookeeper-bin comes from scripts/deps.sh: its absence is a broken set-up, not a skip.
    assert os.access(CLI_MT, os.X_OK), CLI_MT + " is missing: run scripts/deps.sh"
    block = readme_block("With the ZooKeeper C CLI")
    assert block[0].split()[0] == CLI_MT, "README must give cli_mt's full path: " + block[0]
    out = ""
    for command in block[1:]:
        command = command.split("#")[0].strip().replace("/app", prefix + "/app")
        r = subprocess.run([CLI_MT, "-h", server.hosts, "-c", command], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        out += r.stdout + r.stderr
    assert "value_len = 5\nhello\n" in out, out
