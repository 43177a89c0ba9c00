"""Process runner for integration tests: start a server in its own session, stop exactly it.

A server is started with start_new_session=True (setsid) so that signals sent to the test
runner's terminal do not reach it and so that it can be told apart from everything else on
the machine. Its PID is recorded and stop() signals exactly that PID: SIGTERM, then SIGKILL
after a bound. Nothing here ever kills by name.

four_letter() speaks the ZooKeeper four-letter-word protocol: send 4 bytes, read until the
server closes the connection (bounded in time and size).
"""

import ctypes
import os
import signal
import socket
import subprocess
import time

FOUR_LETTER_BYTES_MAX = 4 * 1024 * 1024
STOP_TERM_WAIT_S = 10.0
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: the kernel SIGKILLs the server if the test runner dies (e.g. ctest's
    timeout kills pytest), so no server outlives its tests."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def four_letter(host, port, cmd, timeout_s=5.0):
    """Send a four-letter word and return the whole reply as str.

    Raises OSError on connection failure or timeout."""
    return four_letter_on(socket.create_connection((host, port), timeout=timeout_s), cmd,
                          timeout_s)


def four_letter_on(sock, cmd, timeout_s=5.0):
    """four_letter over a connected socket (closed afterwards): for callers that connect
    their own way, such as from another network namespace."""
    if isinstance(cmd, str):
        cmd = cmd.encode()
    with sock:
        sock.sendall(cmd)
        chunks = []
        total = 0
        deadline = time.monotonic() + timeout_s
        while total < FOUR_LETTER_BYTES_MAX:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
            total += len(data)
    return b"".join(chunks).decode("utf-8", "replace")


def wait_ruok(host, port, timeout_s=60.0, proc=None):
    """Poll `ruok` until it answers `imok`; bounded by timeout_s and by attempt count.

    Returns True when the server answered, False on timeout or if proc exited."""
    deadline = time.monotonic() + timeout_s
    attempts = 0
    while time.monotonic() < deadline and attempts < 1000:
        attempts += 1
        if proc is not None and proc.poll() is not None:
            return False
        try:
            if four_letter(host, port, b"ruok", timeout_s=2.0) == "imok":
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


class ManagedProcess:
    """One child process started in a new session; stop() kills exactly its PID."""

    def __init__(self, argv, cwd, log_path, env=None):
        self.argv = list(argv)
        self.cwd = cwd
        self.log_path = log_path
        self.env = env
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        assert self.proc is None, "already started"
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.argv, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
                preexec_fn=_die_with_parent)
        finally:
            log.close()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum):
        if self.running():
            os.kill(self.proc.pid, signum)

    def stop(self, term_wait_s=STOP_TERM_WAIT_S):
        """SIGTERM the recorded PID, SIGKILL it if still alive after term_wait_s; reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=term_wait_s)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=term_wait_s)
        self.proc = None

    def kill9(self):
        """SIGKILL the recorded PID and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TERM_WAIT_S)
        self.proc = None
