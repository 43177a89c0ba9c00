"""examples/booking against a real 3-server synod cluster: the promises of its README.

Every test runs its own booking servers in its own chroot of the module's synod cluster and
speaks the HTTP API the way any client would; the last test drives the page in Debian's
chromium through chromium-driver and selenium.
"""

import concurrent.futures
import datetime
import http.client
import json
import random
import signal
import threading

import pytest

import browser
from examplelib import binary, wait_for
from ports import free_port

SERVERS = 3
HTTP_TIMEOUT_S = 60.0
SAME_SLOT_REQUESTS = 30
OVERLAP_REQUESTS = 60
BROWSER_WAIT_S = 20.0


def call(addr, method, path, body=None):
    """(status, parsed JSON or None) of one request."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=HTTP_TIMEOUT_S)
    try:
        payload = json.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=payload, headers=headers)
        resp = conn.getresponse()
        text = resp.read()
        return resp.status, (json.loads(text) if text else None)
    finally:
        conn.close()


class Booking:
    """The booking servers of one test."""

    def __init__(self, synod, chroot, procs):
        self.hosts = synod.hosts() + chroot
        self.procs = procs
        self.servers = {}  # addr -> Proc

    def start_server(self, addr=None):
        addr = addr or "127.0.0.1:%d" % free_port()
        p = self.procs.start("booking-server %s" % addr,
                             [binary("BOOKING_SERVER"), "--synod", self.hosts, "--listen", addr])
        p.wait_line(lambda line: "serving http://" in line, "start-up")
        self.servers[addr] = p
        return addr

    def start(self, n=SERVERS):
        return [self.start_server() for _ in range(n)]


@pytest.fixture
def booking(synod, chroot, procs):
    return Booking(synod, chroot, procs)


def minutes(t):
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M")
    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp()) // 60


def overlap(a, b):
    return minutes(a["start"]) < minutes(b["end"]) and minutes(b["start"]) < minutes(a["end"])


def day_bookings(addr, room, date):
    status, body = call(addr, "GET", "/rooms/%s/bookings?date=%s" % (room, date))
    assert status == 200, body
    return body


def storm(requests, during=None):
    """Sends every (addr, body) POST /bookings at once, one thread each; returns
    [(status, json)] in order. A connection error (its server was killed) is ("error", text).
    `during`, if given, runs on its own thread as soon as the first answer arrived."""
    gate = threading.Barrier(len(requests))
    first = threading.Event()

    def one(item):
        addr, body = item
        gate.wait(timeout=HTTP_TIMEOUT_S)
        try:
            return call(addr, "POST", "/bookings", body)
        except OSError as e:
            return "error", str(e)
        finally:
            first.set()

    helper = None
    if during is not None:
        def run_during():
            first.wait(timeout=HTTP_TIMEOUT_S)
            during()
        helper = threading.Thread(target=run_during)
        helper.start()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(requests)) as pool:
        results = list(pool.map(one, requests))
    if helper is not None:
        helper.join(timeout=HTTP_TIMEOUT_S)
    return results


def check_no_overlaps(accepted, rejected):
    """No two accepted bookings of a room overlap, and every 409 lost to an accepted one."""
    for i, a in enumerate(accepted):
        for b in accepted[i + 1:]:
            assert a["room"] != b["room"] or not overlap(a, b), "double booking: %s %s" % (a, b)
    for r in rejected:
        assert any(a["room"] == r["room"] and overlap(a, r) for a in accepted), \
            "409 without a booking in the way: %s" % r


def test_api(booking):
    a, b = booking.start(2)
    assert call(a, "POST", "/rooms", {"name": "blue"}) == (201, {"name": "blue"})
    assert call(b, "POST", "/rooms", {"name": "blue"})[0] == 409
    assert call(b, "POST", "/rooms", {"name": "no/slash"})[0] == 400
    assert call(b, "GET", "/rooms") == (200, [{"name": "blue"}])
    night = {"room": "blue", "start": "2026-02-28T22:30", "end": "2026-03-01T01:00", "who": "Zoë"}
    status, made = call(a, "POST", "/bookings", night)
    assert status == 201 and made["id"] and {k: made[k] for k in night} == night
    # the day after midnight is checked too, through another server
    early = {"room": "blue", "start": "2026-03-01T00:30", "end": "2026-03-01T02:00", "who": "x"}
    assert call(b, "POST", "/bookings", early)[0] == 409
    early["start"] = "2026-03-01T01:00"  # touching is not overlapping
    assert call(b, "POST", "/bookings", early)[0] == 201
    assert [x["id"] for x in day_bookings(b, "blue", "2026-02-28")] == [made["id"]]
    assert [x["who"] for x in day_bookings(a, "blue", "2026-03-01")] == ["Zoë", "x"]
    for bad in ({"room": "blue", "start": "2026-02-30T10:00", "end": "2026-03-01T11:00",
                 "who": "x"},
                {"room": "blue", "start": "2026-03-05T10:00", "end": "2026-03-05T10:00",
                 "who": "x"},
                {"room": "blue", "start": "2026-03-05T10:00", "end": "2026-03-05T11:00"}):
        assert call(a, "POST", "/bookings", bad)[0] == 400, bad
    assert call(a, "POST", "/bookings", dict(night, room="green"))[0] == 404
    assert call(a, "GET", "/rooms/green/bookings?date=2026-03-01")[0] == 404
    assert call(a, "GET", "/rooms/blue/bookings?date=2026-3-1")[0] == 400
    assert call(b, "DELETE", "/bookings/" + made["id"]) == (204, None)
    assert call(a, "DELETE", "/bookings/" + made["id"])[0] == 404
    assert day_bookings(a, "blue", "2026-02-28") == []
    assert [x["who"] for x in day_bookings(b, "blue", "2026-03-01")] == ["x"]
    status, servers = call(a, "GET", "/servers")
    assert status == 200 and servers == {"self": a, "servers": sorted([a, b])}


def test_storm_on_one_slot_across_servers(booking):
    addrs = booking.start()
    assert call(addrs[0], "POST", "/rooms", {"name": "hall"})[0] == 201
    body = {"room": "hall", "start": "2026-04-01T10:00", "end": "2026-04-01T11:00"}
    requests = [(addrs[i % SERVERS], dict(body, who="w%d" % i)) for i in range(SAME_SLOT_REQUESTS)]
    results = storm(requests)
    statuses = sorted(s for s, _ in results)
    assert statuses == [201] + [409] * (SAME_SLOT_REQUESTS - 1), statuses
    winner = next(b for s, b in results if s == 201)
    for addr in addrs:
        assert day_bookings(addr, "hall", "2026-04-01") == [winner]


def all_bookings(addr, rooms):
    """{id: booking} of the rooms on the two days random_requests() books."""
    out = {}
    for room in rooms:
        for date in ("2026-05-01", "2026-05-02"):
            for b in day_bookings(addr, room, date):
                out[b["id"]] = b
    return out


def random_requests(addrs, rooms, n, seed):
    """n bookings in 30-minute steps from 20:00 to 04:00 the next day (many cross
    midnight), 30 minutes to 3 hours long, spread over the servers."""
    rng = random.Random(seed)
    base = datetime.datetime(2026, 5, 1, 20, 0)
    out = []
    for i in range(n):
        start = base + datetime.timedelta(minutes=30 * rng.randrange(0, 14))
        end = start + datetime.timedelta(minutes=30 * rng.randrange(1, 7))
        out.append((addrs[i % len(addrs)],
                    {"room": rng.choice(rooms), "start": start.strftime("%Y-%m-%dT%H:%M"),
                     "end": end.strftime("%Y-%m-%dT%H:%M"), "who": "r%d" % i}))
    return out


def test_overlapping_storm_while_the_synod_leader_is_killed(booking, synod):
    addrs = booking.start()
    rooms = ["r1", "r2"]
    for r in rooms:
        assert call(addrs[0], "POST", "/rooms", {"name": r})[0] == 201
    requests = random_requests(addrs, rooms, OVERLAP_REQUESTS, seed=12)
    leader = synod.leader()
    results = storm(requests, during=lambda: synod.kill9(leader))
    assert not synod.running(leader)
    statuses = [s for s, _ in results]
    assert set(statuses) <= {201, 409}, statuses
    accepted = [b for s, b in results if s == 201]
    rejected = [body for (s, _), (_, body) in zip(results, requests) if s == 409]
    check_no_overlaps(accepted, rejected)
    for addr in addrs:  # every server shows exactly the accepted bookings
        assert all_bookings(addr, rooms) == {b["id"]: b for b in accepted}


def test_a_booking_server_killed_and_restarted(booking):
    addrs = booking.start()
    assert call(addrs[1], "POST", "/rooms", {"name": "lab"})[0] == 201
    requests = random_requests(addrs, ["lab"], OVERLAP_REQUESTS // 2, seed=7)
    victim = booking.servers[addrs[0]]
    results = storm(requests, during=victim.kill9)
    assert set(s for s, _ in results) <= {201, 409, "error"}
    # A request the victim took may have been booked though its client saw only the
    # crash, and a 409 may have lost to it: the stored bookings are the reference.
    stored = all_bookings(addrs[1], ["lab"])
    accepted = [b for s, b in results if s == 201]
    rejected = [body for (s, _), (_, body) in zip(results, requests) if s == 409]
    assert {b["id"] for b in accepted} <= set(stored)
    check_no_overlaps(list(stored.values()), rejected)

    booking.start_server(addrs[0])  # same address, new process: all state is in synod
    assert all_bookings(addrs[0], ["lab"]) == stored
    clash = dict(next(iter(stored.values())))
    del clash["id"]
    assert call(addrs[0], "POST", "/bookings", clash)[0] == 409
    for addr in addrs:
        wait_for(lambda: addrs[0] in call(addr, "GET", "/servers")[1]["servers"],
                 "%s lists the restarted server" % addr)
    # a server that quits leaves the group at once
    quitting = booking.servers[addrs[2]]
    quitting.signal(signal.SIGTERM)
    assert quitting.wait_exit() == 0
    assert call(addrs[1], "GET", "/servers")[1]["servers"] == sorted(addrs[:2])


def test_browser_books_and_sees_another_clients_booking_live(booking):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page_server, other = booking.start(2)
    assert call(other, "POST", "/rooms", {"name": "lab"})[0] == 201
    date = "2026-06-01"
    driver = browser.chromium()
    try:
        # the page redraws its grid on every change, so a cell found a moment ago may be
        # gone: reads go through one script call, clicks are retried on a fresh element
        wait = WebDriverWait(driver, BROWSER_WAIT_S,
                             ignored_exceptions=(StaleElementReferenceException,))

        def cell_read(slot, what):
            return driver.execute_script(
                "const c = document.getElementById(arguments[0]);"
                "return c ? c[arguments[1]] : '';", "cell-lab-%d" % slot, what)

        def has_class(slot, name):
            return lambda d: name in cell_read(slot, "className").split()

        def click(slot):
            def clicked(d):
                d.find_element(By.ID, "cell-lab-%d" % slot).click()
                return True
            wait.until(clicked)

        driver.get("http://%s/?date=%s" % (page_server, date))
        wait.until(lambda d: "live" in d.find_element(By.ID, "live").get_attribute("class") or
                   d.find_element(By.ID, "live").text.endswith("live"))
        wait.until(has_class(18, "free"))
        servers = driver.find_element(By.ID, "servers").text
        assert page_server in servers and other in servers, servers

        # book 09:00-10:00 by selecting two half hours
        who = driver.find_element(By.ID, "who")
        who.clear()
        who.send_keys("page-user")
        click(18)
        click(19)
        driver.find_element(By.ID, "book").click()
        wait.until(has_class(19, "booked"))
        made = day_bookings(other, "lab", date)
        assert [(b["start"], b["end"], b["who"]) for b in made] == \
            [("2026-06-01T09:00", "2026-06-01T10:00", "page-user")]

        # another client books through the other server: the page shows it by itself
        status, remote = call(other, "POST", "/bookings",
                              {"room": "lab", "start": "2026-06-01T14:00",
                               "end": "2026-06-01T15:00", "who": "remote"})
        assert status == 201
        wait.until(has_class(28, "booked"))
        assert cell_read(28, "textContent") == "remote"
        assert "booked" in cell_read(29, "className").split()

        # cancel it from the page
        click(28)
        driver.find_element(By.ID, "cancel").click()
        wait.until(has_class(28, "free"))
        assert [b["who"] for b in day_bookings(other, "lab", date)] == ["page-user"]

        # a slot someone else takes between selecting and booking: the page says so
        click(30)
        assert call(other, "POST", "/bookings", {"room": "lab", "start": "2026-06-01T15:00",
                                                 "end": "2026-06-01T15:30",
                                                 "who": "quick"})[0] == 201
        driver.find_element(By.ID, "book").click()
        wait.until(lambda d: "overlaps" in d.find_element(By.ID, "status").text)
        wait.until(has_class(30, "booked"))
        assert remote["id"] not in [b["id"] for b in day_bookings(other, "lab", date)]
        assert sorted(b["who"] for b in day_bookings(page_server, "lab", date)) == \
            ["page-user", "quick"]
    finally:
        driver.quit()
