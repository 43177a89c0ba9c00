"""Bounded waiting for the integration tests: poll a predicate until it holds or time runs out."""

import time


def wait_until(predicate, timeout_s=10.0, interval_s=0.05, what="condition"):
    """Poll predicate() until it returns a truthy value; return that value.

    Raises AssertionError naming `what` if it is still falsy after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout_s, what))
        time.sleep(interval_s)
