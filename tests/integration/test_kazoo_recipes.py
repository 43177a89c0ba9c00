"""kazoo's recipes on several clients and threads: Lock, Semaphore, Election, Counter,
Barrier, DoubleBarrier, Queue, LockingQueue, Party. They exercise ephemeral-sequential
nodes, child watches, exists watches and sessions together, the way applications do.

On a cluster the clients of a test are on different servers: a client that reads state
other clients made (the queue it consumes, the party it counts) syncs first, as an
application must."""

import threading
import time

import pytest
from kazoo.exceptions import LockTimeout

from waiting import wait_until

JOIN_S = 30


class Concurrency:
    """Counts how many threads are inside a section at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.inside = 0
        self.max_inside = 0
        self.entries = 0

    def __enter__(self):
        with self.lock:
            self.inside += 1
            self.entries += 1
            self.max_inside = max(self.max_inside, self.inside)

    def __exit__(self, *exc):
        with self.lock:
            self.inside -= 1


def run_threads(targets):
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # reported by the test thread
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(t), daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_S)
    assert not any(t.is_alive() for t in threads), "recipe threads hung"
    assert errors == []


def test_lock_mutual_exclusion(clients, prefix):
    section = Concurrency()

    def worker(client, ident):
        def run():
            lock = client.Lock(prefix + "/lock", ident)
            for _ in range(5):
                with lock:
                    with section:
                        time.sleep(0.01)
        return run

    run_threads([worker(clients(), "w%d" % i) for i in range(3)])
    assert section.entries == 15
    assert section.max_inside == 1


def test_lock_timeout_contenders_and_release_on_session_end(clients, prefix):
    a, b = clients(), clients()
    la = a.Lock(prefix + "/lock", "holder-a")
    lb = b.Lock(prefix + "/lock", "waiter-b")
    assert la.acquire(timeout=5)
    with pytest.raises(LockTimeout):
        lb.acquire(timeout=0.5)
    a.sync(prefix + "/lock")  # (on a cluster: lb's withdrawal reached a's server)
    assert la.contenders() == ["holder-a"]
    got = []
    t = threading.Thread(target=lambda: got.append(lb.acquire(timeout=20)), daemon=True)
    t.start()
    wait_until(lambda: lb.contenders() == ["holder-a", "waiter-b"], 10,
               what="waiter queued behind holder")
    a.stop()  # the holder's session ends: its ephemeral lock node goes, b gets the lock
    t.join(JOIN_S)
    assert got == [True] and lb.is_acquired
    lb.release()


def test_semaphore_leases(clients, prefix):
    section = Concurrency()

    def worker(client, ident):
        def run():
            sem = client.Semaphore(prefix + "/sem", ident, max_leases=2)
            for _ in range(3):
                with sem:
                    with section:
                        time.sleep(0.05)
        return run

    run_threads([worker(clients(), "s%d" % i) for i in range(4)])
    assert section.entries == 12
    assert section.max_inside <= 2


def test_election_one_leader_at_a_time(clients, prefix):
    section = Concurrency()
    leaders = []

    def contender(client, ident):
        def lead():
            with section:
                leaders.append(ident)
                time.sleep(0.2)
        return lambda: client.Election(prefix + "/election", ident).run(lead)

    run_threads([contender(clients(), "c%d" % i) for i in range(3)])
    assert sorted(leaders) == ["c0", "c1", "c2"]
    assert section.max_inside == 1


def test_election_contenders_and_cancel(clients, prefix):
    a, b = clients(), clients()
    ea = a.Election(prefix + "/el", "alpha")
    eb = b.Election(prefix + "/el", "beta")
    release = threading.Event()
    led = []

    def lead_a():
        led.append("alpha")
        release.wait(JOIN_S)

    ta = threading.Thread(target=lambda: ea.run(lead_a), daemon=True)
    ta.start()
    wait_until(lambda: led == ["alpha"], 10, what="alpha leads")
    tb = threading.Thread(target=lambda: eb.run(led.append, "beta"), daemon=True)
    tb.start()
    wait_until(lambda: eb.contenders() == ["alpha", "beta"], 10, what="beta queued")
    release.set()
    ta.join(JOIN_S)
    tb.join(JOIN_S)
    assert led == ["alpha", "beta"]


def test_counter_concurrent_increments(clients, prefix):
    def worker(client):
        def run():
            counter = client.Counter(prefix + "/counter")
            for _ in range(20):
                counter += 1
        return run

    run_threads([worker(clients()) for _ in range(3)])
    reader = clients()
    reader.sync(prefix + "/counter")
    counter = reader.Counter(prefix + "/counter")
    assert counter.value == 60
    counter -= 5
    assert counter.value == 55
    fc = clients().Counter(prefix + "/fcounter", default=0.0)
    fc += 2.5
    assert fc.value == 2.5


def test_barrier(clients, prefix):
    a, b = clients(), clients()
    barrier = a.Barrier(prefix + "/barrier")
    barrier.create()
    b.sync(prefix + "/barrier")  # a barrier b has not seen yet is open for b
    assert b.Barrier(prefix + "/barrier").wait(timeout=0.3) is False
    passed = []
    t = threading.Thread(target=lambda: passed.append(
        b.Barrier(prefix + "/barrier").wait(timeout=20)), daemon=True)
    t.start()
    time.sleep(0.3)
    assert passed == []
    barrier.remove()
    t.join(JOIN_S)
    assert passed == [True]


def test_double_barrier(clients, prefix):
    entered = []
    lock = threading.Lock()
    left = []

    def member(client, ident):
        def run():
            db = client.DoubleBarrier(prefix + "/dbar", 3, identifier=ident)
            db.enter()
            with lock:
                entered.append((ident, time.monotonic()))
            db.leave()
            with lock:
                left.append(ident)
        return run

    cs = [clients() for _ in range(3)]
    # two members alone cannot pass
    t1 = threading.Thread(target=member(cs[0], "m0"), daemon=True)
    t2 = threading.Thread(target=member(cs[1], "m1"), daemon=True)
    t1.start()
    t2.start()
    time.sleep(0.5)
    assert entered == []
    run_threads([member(cs[2], "m2")])
    t1.join(JOIN_S)
    t2.join(JOIN_S)
    assert sorted(i for i, _ in entered) == ["m0", "m1", "m2"]
    assert sorted(left) == ["m0", "m1", "m2"]


def test_queue_priority_and_fifo(clients, prefix):
    producer, consumer = clients(), clients()
    q = producer.Queue(prefix + "/queue")
    q.put(b"low-1", priority=200)
    q.put(b"high-1", priority=10)
    q.put(b"mid-1")
    q.put(b"high-2", priority=10)
    q.put(b"mid-2")
    assert len(q) == 5
    consumer.sync(prefix + "/queue")
    cq = consumer.Queue(prefix + "/queue")
    got = [cq.get() for _ in range(5)]
    assert got == [b"high-1", b"high-2", b"mid-1", b"mid-2", b"low-1"]
    assert cq.get() is None
    assert len(cq) == 0


def test_queue_concurrent_consumers_get_each_item_once(clients, prefix):
    producer = clients()
    q = producer.Queue(prefix + "/q2")
    items = [("item-%02d" % i).encode() for i in range(30)]
    for it in items:
        q.put(it)
    got = []
    lock = threading.Lock()

    def consumer(client):
        def run():
            client.sync(prefix + "/q2")  # it stops at the first empty look at the queue
            cq = client.Queue(prefix + "/q2")
            while True:
                it = cq.get()
                if it is None:
                    return
                with lock:
                    got.append(it)
        return run

    run_threads([consumer(clients()) for _ in range(3)])
    assert sorted(got) == items


def test_locking_queue(clients, prefix):
    producer, c1, c2 = clients(), clients(), clients()
    q = producer.LockingQueue(prefix + "/lq")
    q.put(b"first")
    q.put_all([b"second", b"third"])
    assert len(q) == 3
    q1 = c1.LockingQueue(prefix + "/lq")
    q2 = c2.LockingQueue(prefix + "/lq")
    assert q1.get(timeout=5) == b"first"
    assert q1.holds_lock()
    # the locked item is skipped by other consumers
    assert q2.get(timeout=5) == b"second"
    assert q1.consume() is True
    assert q2.release() is True  # back to the queue
    c1.sync(prefix + "/lq")  # (else q1 may still see second locked, and take third)
    assert q1.get(timeout=5) == b"second"
    assert q1.consume()
    assert q2.get(timeout=5) == b"third"
    assert q2.consume()
    producer.sync(prefix + "/lq")
    assert len(q) == 0
    c1.sync(prefix + "/lq")
    assert q1.get(timeout=0.3) is None


def test_locking_queue_get_waits_for_put(clients, prefix):
    producer, consumer = clients(), clients()
    cq = consumer.LockingQueue(prefix + "/lq2")
    got = []
    t = threading.Thread(target=lambda: got.append(cq.get(timeout=20)), daemon=True)
    t.start()
    time.sleep(0.3)
    producer.LockingQueue(prefix + "/lq2").put(b"late")
    t.join(JOIN_S)
    assert got == [b"late"]
    assert cq.consume()


def test_party(clients, prefix):
    members = [clients() for _ in range(3)]
    parties = [m.Party(prefix + "/party", "member-%d" % i) for i, m in enumerate(members)]
    for p in parties:
        p.join()
    observer = clients()
    watcher = observer.Party(prefix + "/party")
    observer.sync(prefix + "/party")  # (on a cluster: every join reached observer's server)
    assert len(watcher) == 3
    assert sorted(watcher) == ["member-0", "member-1", "member-2"]
    parties[0].leave()
    observer.sync(prefix + "/party")
    assert sorted(watcher) == ["member-1", "member-2"]
    members[1].stop()  # a member whose session ends leaves the party
    observer.sync(prefix + "/party")
    assert sorted(watcher) == ["member-2"]
    shallow = [m.ShallowParty(prefix + "/shallow", "s%d" % i)
               for i, m in enumerate([members[2], clients()])]
    for p in shallow:
        p.join()
    counter = clients()
    counter.sync(prefix + "/shallow")
    assert sorted(counter.ShallowParty(prefix + "/shallow")) == ["s0", "s1"]
