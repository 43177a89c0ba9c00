"""The web console as a user meets it: a 3-server synod cluster's console opened in headless
chromium, checked by what the page shows after what the user does, with kazoo clients
changing the tree and checking what the console wrote. Then its API's answers to input a
page would not send, and the event feed's auth."""

import json
import urllib.error
import urllib.request

import pytest
from kazoo.security import OPEN_ACL_UNSAFE, make_acl, make_digest_acl
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import servers
from ports import free_port

WAIT_S = 20.0
HTTP_TIMEOUT_S = 15.0
ALICE = ("alice", "secret")
# What alice may do, and what anyone may: read only.
ALICE_ACL = [make_digest_acl(*ALICE, all=True)]
READ_BY_ANYONE = [make_acl("world", "anyone", read=True)]


def http(port, path, method="GET", body=None, headers=None):
    """(status, parsed JSON or text) of one request to 127.0.0.1:port."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
            status, ctype, raw = resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as e:
        status, ctype, raw = e.code, e.headers.get("Content-Type", ""), e.read()
    return status, json.loads(raw) if ctype.startswith("application/json") else raw.decode()


class Page:
    """The console in the browser, in a user's terms: views, links, buttons, fields."""

    def __init__(self, driver, port):
        self.d = driver
        self.url = "http://127.0.0.1:%d/" % port
        self.wait = WebDriverWait(driver, WAIT_S,
                                  ignored_exceptions=(StaleElementReferenceException,))

    def until(self, check, what):
        return self.wait.until(lambda d: check(), message=what)

    def open(self):
        if self.d.current_url != self.url:
            self.d.get(self.url)

    def text(self, element_id):
        return self.d.find_element(By.ID, element_id).text

    def click(self, element_id):
        self.d.find_element(By.ID, element_id).click()

    def view(self, name):
        self.open()
        self.d.find_element(By.CSS_SELECTOR, 'header nav button[data-view="%s"]' % name).click()

    def type_into(self, element_id, text):
        field = self.d.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(text)

    def sign_in(self, user, password):
        self.type_into("user", user)
        self.type_into("password", password)
        self.click("sign-in")
        self.until(lambda: self.text("identity") == "digest " + user, "signed in as " + user)

    def sign_out(self):
        if self.text("identity") != "anonymous":
            self.click("sign-out")
            self.until(lambda: self.text("identity") == "anonymous", "signed out")

    def rows(self, table_id):
        """The visible text of each body row's cells."""
        return self.d.execute_script(
            "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
            ".map(r => Array.from(r.cells).map(c => c.innerText));", table_id)

    def click_when(self, find, what):
        """Clicks what find() returns once it returns something; the page redraws its lists,
        so an element found a moment ago may be gone: it is found again."""
        def clicked():
            element = find()
            if element is None:
                return False
            element.click()
            return True
        self.until(clicked, what)

    def browse(self, path):
        """Opens the tree view at / and clicks down the children to path."""
        self.view("tree")
        self.click_when(lambda: self.d.find_element(By.CSS_SELECTOR, "#breadcrumb a"), "root")
        at = ""
        for name in path.strip("/").split("/"):
            parent, at = at or "/", at + "/" + name
            self.click_when(lambda: self.child(parent, name),
                            "%s listed under %s" % (name, parent))
            self.until(lambda: self.text("breadcrumb") == at, "at " + at)

    def child(self, parent, name):
        """The link to parent's child called name once parent's children are shown, or None
        (one script call: a node may have many children)."""
        return self.d.execute_script(
            "const list = document.getElementById('children');"
            "return list.dataset.path !== arguments[0] ? null :"
            " Array.from(list.querySelectorAll('a')).find(a => a.textContent === arguments[1])"
            " || null;", parent, name)

    def stat(self):
        return {r[0]: r[1] for r in self.rows("stat")}

    def data_as(self, mode):
        self.d.find_element(By.CSS_SELECTOR, '#data-modes button[data-mode="%s"]' % mode).click()
        return self.text("data")

    def status_after(self, button_id):
        """Clicks the button and returns the tree view's status once it says something."""
        self.d.execute_script("document.getElementById('tree-status').textContent = ''")
        self.click(button_id)
        self.until(lambda: self.text("tree-status") != "", "a status after " + button_id)
        return self.text("tree-status")


@pytest.fixture(scope="module")
def page(driver, cluster):
    return Page(driver, cluster.page.admin_port)


def test_the_page_and_its_files_come_from_the_binary(cluster):
    port = cluster.page.admin_port
    status, html = http(port, "/")
    assert status == 200 and "/console/console.js" in html
    for path in ("/console/", "/console/console.js", "/console/console.css"):
        status, text = http(port, path)
        assert status == 200 and text, path
        # works offline: nothing is loaded from anywhere else
        assert "http://" not in text and "https://" not in text, path


def test_cluster_view_lists_the_members_and_their_roles(cluster, page):
    leader = cluster.leader()
    page.view("cluster")

    def roles():
        return {r[0].split()[0]: r[1] for r in page.rows("members")}
    want = {str(i): "leader" if i == leader else "follower" for i in cluster.ids()}
    page.until(lambda: roles() == want, "3 members, one leader")
    rows = page.rows("members")
    me = [r for r in rows if "(this server)" in r[0]]
    assert [r[0].split()[0] for r in me] == [str(cluster.page.server_id)]
    for r in rows:
        m = cluster.members[int(r[0].split()[0])]
        assert r[2] == "127.0.0.1:%d" % m.peer_port and r[3] == "127.0.0.1:%d" % m.client_port
    assert "term " in page.text("cluster-summary")
    assert "leader %d" % leader in page.text("cluster-summary")
    # health over time: a green mark a second for each linked member
    page.until(lambda: page.d.execute_script(
        "return document.querySelectorAll('#members .health .up').length") >= 6,
        "health marks for every member")


def test_charts_draw_throughput_and_latency(cluster, page, kazoo):
    zk = kazoo()
    page.view("cluster")
    for i in range(50):
        zk.create("/charts/%d" % i, b"x", makepath=True)

    def points(chart):
        return page.d.execute_script(
            "return document.querySelector('#' + arguments[0] + ' polyline')"
            ".getAttribute('points')", chart).split()
    page.until(lambda: len(points("chart-throughput")) >= 3, "three throughput points")
    # a point above the baseline: the writes above were counted
    page.until(lambda: any(float(p.split(",")[1]) < 77 for p in points("chart-throughput")),
               "nonzero throughput drawn")
    assert len(points("chart-latency")) >= 3
    assert "now" in page.d.find_element(By.CSS_SELECTOR, "#chart-throughput .last").text


def test_tree_shows_a_nodes_data_as_text_json_and_hex_with_its_stat(page, kazoo):
    zk = kazoo()
    value = b'{"color":"red","sizes":[1,2]}'
    zk.create("/shop/config", value, makepath=True)
    zk.set("/shop/config", value)  # version 1
    page.browse("/shop/config")
    page.until(lambda: page.data_as("text") == value.decode(), "the data as text")
    pretty = page.data_as("json")
    assert pretty == json.dumps(json.loads(value), indent=2)
    hexdump = page.data_as("hex")
    assert hexdump.startswith("00000000  7b 22 63 6f 6c 6f 72 22"), hexdump
    assert hexdump.splitlines()[0].endswith('|{"color":"red","|')
    page.data_as("text")
    stat = page.stat()
    zstat = zk.exists("/shop/config")
    assert stat["version"] == "1" and stat["dataLength"] == str(len(value))
    assert stat["mzxid"] == hex(zstat.mzxid) and stat["ephemeralOwner"] == "0x0"
    assert page.rows("acl") == [["world", "anyone", "cdrwa"]]


def test_edits_need_credentials_the_acl_allows(page, kazoo):
    alice = kazoo(auth_data=[("digest", "%s:%s" % ALICE)])
    alice.create("/shop/price", b"10", acl=READ_BY_ANYONE + ALICE_ACL, makepath=True)
    page.sign_out()
    page.browse("/shop/price")
    page.until(lambda: page.data_as("text") == "10", "the price")
    page.type_into("edit-data", "12")

    status = page.status_after("save")
    assert status.startswith("refused") and "credentials" in status, status
    assert alice.get("/shop/price")[0] == b"10"

    page.sign_in("bob", "guess")
    page.type_into("edit-data", "12")
    status = page.status_after("save")
    assert status.startswith("refused: ZNOAUTH"), status
    assert alice.get("/shop/price")[0] == b"10"

    page.sign_in(*ALICE)
    page.type_into("edit-data", "12")
    assert page.status_after("save") == "saved /shop/price"
    assert alice.get("/shop/price")[0] == b"12"
    page.until(lambda: page.stat()["version"] == "1", "the new version shown")

    # create a child and delete it again, both seen by a client
    page.browse("/shop")
    page.type_into("child-name", "note")
    page.type_into("edit-data", "hello")
    assert page.status_after("create") == "created /shop/note"
    assert alice.get("/shop/note")[0] == b"hello"
    page.browse("/shop/note")
    assert page.status_after("delete") == "deleted /shop/note"
    assert alice.exists("/shop/note") is None
    page.sign_out()


def test_a_node_the_user_may_not_read_is_refused(page, kazoo):
    alice = kazoo(auth_data=[("digest", "%s:%s" % ALICE)])
    alice.create("/shop/secret", b"s3cret", acl=ALICE_ACL, makepath=True)
    page.sign_out()
    page.browse("/shop/secret")
    page.until(lambda: page.text("data").startswith("refused: ZNOAUTH"), "a refusal")
    assert "s3cret" not in page.d.page_source
    assert page.rows("stat") == [] and page.rows("acl") == []
    page.sign_in(*ALICE)  # the page reads the node again with her identity
    page.until(lambda: page.data_as("text") == "s3cret", "the secret, for alice")
    assert [r[0] for r in page.rows("acl")] == ["digest"]
    page.sign_out()


def test_live_event_view_shows_a_clients_changes(page, kazoo):
    zk = kazoo()
    page.view("events")
    page.until(lambda: page.text("events-state") == "live", "the feed live")
    zk.create("/shop/live", b"1", makepath=True)
    zk.set("/shop/live", b"2")
    zk.delete("/shop/live")
    want = [["NodeCreated", "/shop/live"], ["NodeDataChanged", "/shop/live"],
            ["NodeDeleted", "/shop/live"]]

    def seen():
        events = [r[2:] for r in reversed(page.rows("events"))]
        return [e for e in events if e[1] == "/shop/live"]
    page.until(lambda: seen() == want, "the three events, in order")


def test_sessions_view_shows_a_clients_session_and_its_ephemeral(page, kazoo):
    zk = kazoo()
    zk.create("/shop/worker-1", b"", ephemeral=True, makepath=True)
    session = "0x%x" % zk.client_id[0]
    page.view("sessions")

    def row():
        return next((r for r in page.rows("sessions") if r[0] == session), None)
    page.until(lambda: row() is not None and "/shop/worker-1" in row()[4],
               "the session and its ephemeral")
    assert row()[1].startswith("127.0.0.1:")


def test_watches_view_shows_a_clients_watch(page, kazoo):
    zk = kazoo()
    zk.create("/shop/watched", b"", makepath=True)
    zk.get("/shop/watched", watch=lambda event: None)
    session = "0x%x" % zk.client_id[0]
    page.view("watches")
    page.until(lambda: ["/shop/watched", session] in page.rows("watches"), "the watch")
    assert "watches on" in page.text("watch-summary")


def test_api_refuses_what_a_page_would_not_send(cluster, kazoo):
    port = cluster.page.admin_port
    kazoo().ensure_path("/api")
    alice = {"Authorization": "digest alice:secret"}
    edit = json.dumps({"op": "set", "data": "x"}).encode()
    status, body = http(port, "/console/api/node/api", "POST", edit)
    assert status == 401 and body["error"] == "credentials required"
    assert http(port, "/console/api/node/api", "POST", b"{", alice)[0] == 400
    status, body = http(port, "/console/api/node/api", "POST",
                        json.dumps({"op": "rename"}).encode(), alice)
    assert status == 400 and "op" in body["message"]
    status, body = http(port, "/console/api/node/api", "POST",
                        json.dumps({"op": "set", "data": "zz", "encoding": "hex"}).encode(),
                        alice)
    assert status == 400 and "hex" in body["message"]
    assert http(port, "/console/api/node/api", "POST", b"x" * (5 << 20), alice)[0] == 413
    status, body = http(port, "/console/api/node/nowhere")
    assert status == 404 and body["error"] == "ZNONODE"
    assert http(port, "/console/api/node/api", "PUT", edit, alice)[0] == 405
    assert http(port, "/console/api/node/api", headers={"Authorization": "basic x"})[0] == 400
    assert http(port, "/console/api/events/-1")[0] == 400
    assert http(port, "/console/api/nothing")[0] == 404
    # hex data round trip, with a version check
    status, body = http(port, "/console/api/node/api", "POST", json.dumps(
        {"op": "set", "data": "00ff", "encoding": "hex", "version": 0}).encode(), alice)
    assert status == 200 and body["stat"]["version"] == 1
    assert http(port, "/console/api/node/api")[1]["data"] == "00ff"
    status, body = http(port, "/console/api/node/api", "POST", json.dumps(
        {"op": "set", "data": "", "version": 0}).encode(), alice)
    assert status == 409 and body["error"] == "ZBADVERSION"


def test_default_whitelist_and_admin_auth(driver):
    """A standalone server as installed (the default whitelist, srvr only, plus the ruok
    the harness waits for) with admin auth on:
    the cluster view and charts need neither (they read /metrics and the commands without
    a four-letter twin); the sessions view says why it is refused; the event feed, which
    names paths, needs credentials."""
    port = free_port()
    srv = servers.make_server("console-auth", target="synod", cfg_overrides={
        "admin.enableServer": "true", "admin.serverPort": port, "admin.authEnabled": "true",
        "4lw.commands.whitelist": "srvr,ruok"})
    try:
        srv.start()
        assert http(port, "/console/api/events/0")[0] == 401
        status, body = http(port, "/console/api/events/0",
                            headers={"Authorization": "digest bob:pw"})
        assert status == 200 and body["next"] >= 1
        page = Page(driver, port)
        page.view("cluster")
        page.until(lambda: [r[:2] for r in page.rows("members")] ==
                   [["this server", "standalone"]], "the standalone server")
        page.until(lambda: int(page.d.find_element(By.ID, "chart-latency")
                               .get_attribute("data-points") or 0) >= 2, "chart points")
        page.view("sessions")
        page.until(lambda: "whitelist" in page.text("sessions-error"), "the refusal shown")
    finally:
        srv.destroy()
