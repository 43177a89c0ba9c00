"""What every pytest suite of the project shares: a per-test time limit, the markers
that keep a test to one server kind (zk_only / synod_only, each with a reason), and the
teardown of the servers a test started."""

import contextlib
import signal
import sys

import pytest


class TimeLimitExceeded(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds):
    """SIGALRM after `seconds` fails the running test instead of hanging the suite (kazoo's
    synchronous calls wait forever for a reply a server never sends)."""
    def expired(signum, frame):
        raise TimeLimitExceeded("test exceeded %d s" % seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_failed(request):
    """Whether the test's call phase failed (needs the suite's pytest_runtest_makereport hook
    that sets item.rep_call)."""
    report = getattr(request.node, "rep_call", None)
    return report is not None and report.failed


@contextlib.contextmanager
def destroyed_after(request, tails):
    """A list for the servers or clusters a test starts: each is destroyed when the test
    ends, after tails(it), its logs' last lines, go to stderr if the test failed."""
    made = []
    try:
        yield made
    finally:
        for m in made:
            if test_failed(request):
                sys.stderr.write(tails(m))
            m.destroy()


def skip_other_targets(items, target):
    """Skips tests marked zk_only / synod_only when the suite runs against the other kind;
    the mark must say why."""
    for item in items:
        for name, other in (("zk_only", "zookeeper"), ("synod_only", "synod")):
            mark = item.get_closest_marker(name)
            if mark is None:
                continue
            reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
            if not reason:
                raise pytest.UsageError("%s on %s needs a reason" % (name, item.nodeid))
            if target != other:
                item.add_marker(pytest.mark.skip(reason="%s: %s" % (name, reason)))
