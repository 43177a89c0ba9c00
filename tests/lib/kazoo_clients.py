"""A factory of started KazooClients for pytest fixtures: every client it made is
stopped and closed when the fixture ends, also after a failed test."""

from kazoo.client import KazooClient

START_TIMEOUT_S = 15.0


def kazoo_client_factory(timeout_s=START_TIMEOUT_S):
    """Generator for a yield fixture: yields make(hosts, timeout=..., **kazoo_kwargs)."""
    made = []

    def make(hosts, timeout=timeout_s, **kwargs):
        zk = KazooClient(hosts=hosts, timeout=timeout, **kwargs)
        zk.start(timeout=timeout_s)
        made.append(zk)
        return zk

    yield make
    for zk in made:
        try:
            zk.stop()
            zk.close()
        except Exception:  # a client of a server the test killed: nothing left to close
            pass
