"""Processes and connections for the example tests, every wait bounded in time and rounds.

Proc starts one program in its own session (it dies with the test runner, like
procs.ManagedProcess) and collects its stdout and stderr lines on a reader thread, so a test
can wait for a line. Procs keeps every Proc of a test and kills exactly those PIDs at the
end. LineConn is one TCP connection speaking a line protocol, as a person with nc would.
"""

import os
import signal
import socket
import subprocess
import threading
import time

import procs as procs_lib

POLL_INTERVAL_S = 0.05
POLL_ROUNDS_MAX = 10000
EXIT_WAIT_S = 15.0
LOG_TAIL_LINES = 40


def binary(env_name):
    """The program ctest names in env_name; a missing one fails the test, never skips it."""
    path = os.environ.get(env_name)
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("%s must name an executable (got %r)" % (env_name, path))
    return path


def wait_for(predicate, what, timeout_s=20.0):
    """Polls predicate() until it returns something truthy, which is returned; raises
    AssertionError naming `what` after timeout_s or POLL_ROUNDS_MAX rounds."""
    deadline = time.monotonic() + timeout_s
    for _ in range(POLL_ROUNDS_MAX):
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_INTERVAL_S)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout_s, what))


class Proc:
    def __init__(self, name, argv, stdin=False):
        self.name = name
        self.argv = list(argv)
        self._lines = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=procs_lib._die_with_parent)
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self._lock:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def lines(self):
        with self._lock:
            return list(self._lines)

    def wait_line(self, predicate, what, timeout_s=20.0, start=0):
        """The first output line from index `start` on for which predicate holds."""
        def found():
            for line in self.lines()[start:]:
                if predicate(line):
                    return line
            return None
        return wait_for(found, "%s: %s" % (self.name, what), timeout_s)

    def send(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def running(self):
        return self.proc.poll() is None

    def signal(self, signum):
        if self.running():
            os.kill(self.pid, signum)

    def kill9(self):
        self.signal(signal.SIGKILL)
        return self.wait_exit()

    def wait_exit(self, timeout_s=EXIT_WAIT_S):
        rc = self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=timeout_s)
        return rc

    def tail(self):
        return "---- %s (pid %d) ----\n%s\n" % (self.name, self.pid,
                                                  "\n".join(self.lines()[-LOG_TAIL_LINES:]))


class Procs:
    """Every process a test started; kill_all() SIGKILLs exactly those PIDs."""

    def __init__(self, test_name):
        self.test_name = test_name
        self.started = []

    def start(self, name, argv, stdin=False):
        p = Proc(name, argv, stdin)
        self.started.append(p)
        return p

    def kill_all(self):
        for p in self.started:
            if p.running():
                p.kill9()
            for f in (p.proc.stdin, p.proc.stdout):
                if f is not None:
                    f.close()

    def logs(self):
        return "".join(p.tail() for p in self.started)


class LineConn:
    """A line-protocol connection (what `nc HOST PORT` does)."""

    def __init__(self, addr, timeout_s=30.0):
        host, port = addr.rsplit(":", 1)
        self.addr = addr
        self.sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        self.file = self.sock.makefile("r", encoding="utf-8", newline="\n")

    def send(self, line):
        self.sock.sendall((line + "\n").encode())

    def readline(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("%s closed the connection" % self.addr)
        return line.rstrip("\n")

    def until_end(self):
        """Lines up to the closing END (bounded by the socket timeout per line)."""
        out = []
        for _ in range(POLL_ROUNDS_MAX):
            line = self.readline()
            if line == "END":
                return out
            out.append(line)
        raise AssertionError("no END from %s" % self.addr)

    def ask(self, line):
        self.send(line)
        return self.readline()

    def close(self):
        self.file.close()
        self.sock.close()
