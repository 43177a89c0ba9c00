"""`make install`, `make uninstall` and `make deb`, exercised as a user would (label install).

- DESTDIR install: every part is in place (binaries, libsynod shared and static with its
  header and pkg-config file, man pages, bash completion, systemd unit, sysusers entry,
  default config); the installed server starts from the installed config and serves kazoo;
  a C program built against the installed header and pkg-config file, linked shared and
  static, talks to it; the man pages render without warnings and document every command
  and config key; the completion completes commands and node paths; uninstall removes
  every file.
- Debian package: built from the tree, installed with dpkg (root), the service user and
  its state directory made, the unit verified by systemd-analyze; the server started as
  the unit starts it (its user, its working directory, its ExecStart) serves kazoo and
  stops cleanly on SIGTERM; dpkg --purge removes it.
"""

import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from kazoo.client import KazooClient  # noqa: E402

from ports import free_port  # noqa: E402
from procs import ManagedProcess, wait_ruok  # noqa: E402

SOURCE = os.environ["SYNOD_SOURCE_DIR"]
BUILD = os.environ["SYNOD_BUILD_DIR"]
CC = os.environ["SYNOD_CC"]
SANITIZE = os.environ.get("SYNOD_SANITIZE", "OFF") == "ON"
HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_TIMEOUT_S = 600
RUN_TIMEOUT_S = 60
# Keys `conf` prints that are facts about the server, not settings of the file.
CONF_FACTS = {"secureClientPort", "dataDirSize", "dataLogSize", "clientPortListenBacklog"}


def make(*args, env_extra=None):
    """Runs the repository's make (from a clean make environment: ctest may run under make,
    whose jobserver the child must not inherit) and returns its stdout."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(env_extra or {})
    argv = ["make", "--no-print-directory", "-C", SOURCE, "BUILD=" + BUILD] + list(args)
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=MAKE_TIMEOUT_S)
    assert done.returncode == 0, "make %s failed:\n%s" % (" ".join(args), done.stdout[-4000:])
    return done.stdout


def run(argv, **kw):
    kw.setdefault("timeout", RUN_TIMEOUT_S)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def config_for_test(installed_cfg, data_dir, port):
    """The installed config with the test's port and data dir; everything else as shipped."""
    lines = []
    with open(installed_cfg) as f:
        for line in f:
            if line.startswith("clientPort="):
                line = "clientPort=%d\n" % port
            elif line.startswith("dataDir="):
                line = "dataDir=%s\n" % data_dir
            lines.append(line)
    return "".join(lines)


def kazoo_round_trip(port, path, data):
    zk = KazooClient(hosts="127.0.0.1:%d" % port, timeout=15)
    zk.start(timeout=15)
    try:
        zk.create(path, data)
        assert zk.get(path)[0] == data
    finally:
        zk.stop()
        zk.close()


def conf_keys(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"conf")
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    keys = [line.split("=", 1)[0] for line in out.decode().splitlines() if "=" in line]
    assert "tickTime" in keys, out
    return [k for k in keys if k not in CONF_FACTS]


def man_text(page):
    done = run(["man", "--warnings", "-l", page], env=dict(os.environ, MANWIDTH="100"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "%s renders with warnings:\n%s" % (page, done.stderr)
    return re.sub(".\b", "", done.stdout)


def complete(completion_file, words, path_dir):
    """What bash completion offers for `words` (the last one being typed)."""
    script = ("source %s; COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=%s; COMP_POINT=${#COMP_LINE}; "
              "_synod; printf '%%s\\n' \"${COMPREPLY[@]}\"" % (
                  shlex.quote(completion_file), " ".join(shlex.quote(w) for w in words),
                  len(words) - 1, shlex.quote(" ".join(words))))
    env = dict(os.environ, PATH=path_dir + ":" + os.environ["PATH"])
    done = run(["bash", "--norc", "--noprofile", "-c", script], env=env)
    assert done.returncode == 0, done.stderr
    return sorted(line for line in done.stdout.splitlines() if line)


def synod_commands(synod):
    out = run([synod, "--help"]).stdout
    commands = out.split("Commands:", 1)[1]
    return [line.split()[0] for line in commands.splitlines() if line.startswith("  ")]


def build_hello(include_dir, pkgconfig_dir, sysroot, out, static):
    env = dict(os.environ, PKG_CONFIG_PATH=pkgconfig_dir, PKG_CONFIG_SYSROOT_DIR=sysroot)
    flags = run(["pkg-config", "--cflags", "--libs"] + (["--static"] if static else [])
                + ["synod"], env=env)
    assert flags.returncode == 0, flags.stderr
    argv = [CC, os.path.join(HERE, "hello.c"), "-o", out] + flags.stdout.split()
    if static:
        # -lsynod must pick libsynod.a even though libsynod.so sits next to it
        argv = [a if a != "-lsynod" else "-l:libsynod.a" for a in argv]
    if SANITIZE:
        argv.append("-fsanitize=address,undefined")  # the library under test is instrumented
    done = run(argv)
    assert done.returncode == 0, "%s\n%s" % (" ".join(argv), done.stderr)
    assert "-I" + include_dir in flags.stdout


def test_make_install_into_destdir_then_uninstall(tmp_path):
    dest = str(tmp_path / "dest")
    prefix = "/usr/local"
    make("install", "PREFIX=" + prefix, "DESTDIR=" + dest)
    root = dest + prefix
    bindir = root + "/bin"
    with open(os.path.join(BUILD, "install_manifest.txt")) as f:
        installed = [line.strip() for line in f if line.strip()]
    libdir = os.path.dirname(next(p for p in installed if p.endswith("/libsynod.a")))
    expected = [
        bindir + "/synod", bindir + "/synod-check-wal", bindir + "/synod-dump-snap",
        dest + libdir + "/libsynod.a", dest + libdir + "/libsynod.so",
        dest + libdir + "/pkgconfig/synod.pc", root + "/include/synod/synod.h",
        root + "/share/man/man1/synod.1", root + "/share/man/man5/synod.conf.5",
        root + "/share/bash-completion/completions/synod",
        root + "/lib/systemd/system/synod.service", root + "/lib/sysusers.d/synod.conf",
        root + "/etc/synod/synod.conf",
    ]
    missing = [p for p in expected if not os.path.exists(p)]
    assert not missing, "not installed: %s" % missing
    for tool in ("synod", "synod-check-wal", "synod-dump-snap"):
        assert os.stat(os.path.join(bindir, tool)).st_mode & stat.S_IXUSR
    unit = open(root + "/lib/systemd/system/synod.service").read()
    assert "ExecStart=%s/bin/synod serve -c %s/etc/synod/synod.conf" % (prefix, prefix) in unit

    # The installed server, from the installed config (port and data dir changed only).
    work = tmp_path / "work"
    work.mkdir()
    port = free_port()
    cfg = work / "synod.conf"
    cfg.write_text(config_for_test(root + "/etc/synod/synod.conf", str(work / "data"), port))
    server = ManagedProcess([bindir + "/synod", "serve", "-c", str(cfg)], str(work),
                            str(work / "server.log"))
    server.start()
    try:
        assert wait_ruok("127.0.0.1", port, proc=server.proc), open(work / "server.log").read()
        kazoo_round_trip(port, "/installed", b"by kazoo")
        for static in (False, True):
            exe = str(work / ("hello-static" if static else "hello-shared"))
            build_hello(root + "/include", dest + libdir + "/pkgconfig", dest, exe, static)
            env = dict(os.environ)
            if not static:
                env["LD_LIBRARY_PATH"] = dest + libdir
            done = run([exe, "127.0.0.1:%d" % port, "/hello-%s" % ("static" if static else "shared"),
                        "linked"], env=env)
            assert done.returncode == 0 and done.stdout == "linked\n", done.stderr
            ldd = run(["ldd", exe], env=env).stdout
            assert ("libsynod.so" in ldd) == (not static), ldd

        # Documentation and completion cover what the binary has.
        commands = synod_commands(bindir + "/synod")
        assert "serve" in commands and "members" in commands
        page1 = man_text(root + "/share/man/man1/synod.1")
        page5 = man_text(root + "/share/man/man5/synod.conf.5")
        for c in commands:
            assert re.search(r"^\s+%s\s" % re.escape(c), page1, re.M), "synod(1) lacks " + c
        for key in conf_keys(port):
            assert key + "=" in page5, "synod.conf(5) does not document " + key
        completion = root + "/share/bash-completion/completions/synod"
        offered = complete(completion, ["synod", ""], bindir)
        assert set(commands) <= set(offered), set(commands) - set(offered)
        assert complete(completion, ["synod", "me"], bindir) == ["members"]
        assert complete(completion, ["synod", "members", "a"], bindir) == ["add"]
        assert complete(completion, ["synod", "--server", "127.0.0.1:%d" % port, "get", "/hel"],
                        bindir) == ["/hello-shared", "/hello-static"]
    finally:
        server.stop()

    make("uninstall", "DESTDIR=" + dest)
    left = [os.path.join(d, f) for d, _, files in os.walk(dest) for f in files]
    assert not left, "uninstall left %s" % left


def unit_value(unit, key):
    values = [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith(key + "=")]
    assert len(values) == 1, "%s= in the unit: %s" % (key, values)
    return values[0]


def test_debian_package_installs_runs_as_its_user_and_purges(tmp_path):
    assert os.geteuid() == 0, "installing a Debian package needs root (CI runs as root)"
    status = run(["dpkg-query", "-W", "-f=${Status}", "synod"])
    assert "installed" not in status.stdout, (
        "a synod package is already installed; this test installs and purges its own: "
        "remove it first (dpkg --purge synod)")
    deb = make("deb").strip().splitlines()[-1]
    assert deb.endswith(".deb") and os.path.exists(deb), deb
    info = run(["dpkg-deb", "-f", deb, "Package", "Depends"]).stdout
    assert "Package: synod" in info and "libuv1" in info, info
    state_dir_existed = os.path.exists("/var/lib/synod")
    cleanup = []
    done = run(["dpkg", "-i", deb], timeout=MAKE_TIMEOUT_S)
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        user = pwd.getpwnam("synod")
        st = os.stat("/var/lib/synod")
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (user.pw_uid, 0o750)
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "synod"]).stdout
        assert "/etc/synod/synod.conf" in conffiles
        unit_path = "/lib/systemd/system/synod.service"
        verify = run(["systemd-analyze", "verify", unit_path])
        assert verify.returncode == 0 and verify.stderr == "", verify.stderr
        unit = open(unit_path).read()
        exec_start = shlex.split(unit_value(unit, "ExecStart"))
        assert exec_start[:2] == ["/usr/bin/synod", "serve"]
        assert unit_value(unit, "User") == "synod"

        # Start it as systemd would (its user, working directory and command line), with the
        # shipped config on a free port (no systemd runs in this container to start it).
        port = free_port()
        readable = tempfile.mkdtemp(prefix="synod-deb-")  # pytest's tmp is root's alone
        os.chmod(readable, 0o755)
        cleanup.append(readable)
        cfg = os.path.join(readable, "synod.conf")
        with open(cfg, "w") as f:
            f.write(config_for_test("/etc/synod/synod.conf", "/var/lib/synod", port))
        os.chmod(cfg, 0o644)
        argv = [a if a != "/etc/synod/synod.conf" else cfg for a in exec_start]
        log = str(tmp_path / "service.log")
        server = ManagedProcess(["setpriv", "--reuid=synod", "--regid=synod", "--init-groups"]
                                + argv, unit_value(unit, "WorkingDirectory"), log)
        server.start()
        try:
            assert wait_ruok("127.0.0.1", port, proc=server.proc), open(log).read()
            kazoo_round_trip(port, "/from-the-package", b"deb")
            owners = {os.stat(os.path.join(d, f)).st_uid
                      for d, _, files in os.walk("/var/lib/synod") for f in files}
            assert owners == {user.pw_uid}, "data files not owned by synod: %s" % owners
            server.proc.send_signal(signal.SIGTERM)
            assert server.proc.wait(timeout=30) == 0, open(log).read()
        finally:
            server.stop()
    finally:
        purge = run(["dpkg", "--purge", "synod"], timeout=MAKE_TIMEOUT_S)
        if not state_dir_existed:
            shutil.rmtree("/var/lib/synod", ignore_errors=True)
        for d in cleanup:
            shutil.rmtree(d, ignore_errors=True)
    assert purge.returncode == 0, purge.stdout + purge.stderr
    assert not os.path.exists("/usr/bin/synod")
    assert not os.path.exists("/etc/synod")
    assert "installed" not in run(["dpkg-query", "-W", "-f=${Status}", "synod"]).stdout


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s"]))
