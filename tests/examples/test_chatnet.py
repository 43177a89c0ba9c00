"""examples/chatnet against a real 3-server synod cluster: the failure stories of its README.

Every test runs its own chat servers in its own chroot of the module's synod cluster, with
chatnet-client processes as users (their stdout shows what they receive and "* connected
ADDR as NAME" whenever they log in) and raw line connections where a person would use nc.
"""

import signal

import pytest

from examplelib import LineConn, binary, wait_for
from ports import free_port

SERVERS = 3
STORM_NAMES = 8
STORM_CONNS_PER_SERVER = 2


def chat_hosts(synod, chroot):
    return synod.hosts() + chroot


class Chat:
    """The chat servers and users of one test."""

    def __init__(self, synod, chroot, procs):
        self.hosts = chat_hosts(synod, chroot)
        self.procs = procs
        self.servers = {}  # addr -> Proc
        self.users = {}  # name -> Proc

    def start_server(self, addr=None):
        addr = addr or "127.0.0.1:%d" % free_port()
        p = self.procs.start("chatnet-server %s" % addr,
                             [binary("CHATNET_SERVER"), "--synod", self.hosts, "--listen", addr])
        p.wait_line(lambda line: "serving on" in line, "start-up")
        self.servers[addr] = p
        return addr

    def links_up(self, addr):
        """The peers server addr has a working link to (its SERVERS answer)."""
        conn = LineConn(addr)
        try:
            conn.send("SERVERS")
            return {line.split()[0] for line in conn.until_end() if line.endswith(" up")}
        finally:
            conn.close()

    def wait_mesh(self):
        """Until every running server has a link up to every other running one."""
        live = [a for a, p in self.servers.items() if p.running()]
        for addr in live:
            wait_for(lambda: self.links_up(addr) >= set(live) - {addr},
                     "%s linked to %s" % (addr, live))

    def start_user(self, name, server):
        p = self.procs.start("chatnet-client %s" % name,
                             [binary("CHATNET_CLIENT"), "--synod", self.hosts, "--name", name,
                              "--server", server], stdin=True)
        p.wait_line(lambda line: line == "* connected %s as %s" % (server, name), "login")
        self.users[name] = p
        return p

    def server_of(self, name):
        """Where user `name` is logged in now (its latest "* connected" line)."""
        lines = [line for line in self.users[name].lines() if line.startswith("* connected ")]
        return lines[-1].split()[2] if lines else None

    def say_and_expect(self, speaker, text, listeners=None):
        """speaker says text; every listener (default: every user) receives it once."""
        listeners = self.users if listeners is None else listeners
        marks = {n: len(self.users[n].lines()) for n in listeners}
        self.users[speaker].send(text)
        want = "MSG %s %s" % (speaker, text)
        for n in listeners:
            self.users[n].wait_line(lambda line: line == want, "receives %r" % want,
                                    start=marks[n])


@pytest.fixture
def chat(synod, chroot, procs):
    return Chat(synod, chroot, procs)


def users_of(addr):
    conn = LineConn(addr)
    try:
        conn.send("USERS")
        return conn.until_end()
    finally:
        conn.close()


def test_users_on_three_servers_talk(chat):
    addrs = [chat.start_server() for _ in range(SERVERS)]
    chat.wait_mesh()
    for name, addr in zip(("alice", "bob", "carol"), addrs):
        chat.start_user(name, addr)
    for name in ("alice", "bob", "carol"):
        chat.say_and_expect(name, "hello from %s" % name)
    for addr in addrs:
        assert users_of(addr) == ["alice", "bob", "carol"]
    # nc-style: a second REGISTER of a name is refused, SAY before logging in too
    conn = LineConn(addrs[1])
    assert conn.ask("REGISTER alice") == "TAKEN"
    assert conn.ask("SAY hi").startswith("ERR")
    assert conn.ask("LOGIN alice wrong-key") == "DENIED"
    assert conn.ask("REGISTER dave") == "OK"
    assert conn.ask("SAY hi all") == "MSG dave hi all"
    chat.users["alice"].wait_line(lambda line: line == "MSG dave hi all", "dave's line")
    conn.close()
    chat.users["carol"].send("/quit")
    assert chat.users["carol"].wait_exit() == 0  # and, in the ASan build, without a leak


def test_sigterm_moves_users_and_loses_none(chat):
    addrs = [chat.start_server() for _ in range(SERVERS)]
    chat.wait_mesh()
    placement = {"u1": addrs[0], "u2": addrs[0], "u3": addrs[1], "u4": addrs[2]}
    for name, addr in placement.items():
        chat.start_user(name, addr)
    quitting = chat.servers[addrs[0]]
    chat.users["u1"].send("last words before the move")
    quitting.signal(signal.SIGTERM)
    assert quitting.wait_exit() == 0
    for name in ("u1", "u2"):
        moved = chat.users[name].wait_line(lambda line: line.startswith("* moved to "), "MOVE")
        target = moved.split()[-1]
        assert target in addrs[1:], moved
        chat.users[name].wait_line(lambda line: line == "* connected %s as %s" % (target, name),
                                   "login at %s" % target)
    for name in ("u3", "u4"):
        chat.users[name].wait_line(lambda line: line == "MSG u1 last words before the move",
                                   "u1's last words")
    for name in placement:
        chat.say_and_expect(name, "still here, %s" % name)
    for addr in addrs[1:]:
        assert users_of(addr) == sorted(placement)
        assert addrs[0] not in chat.links_up(addr)


def test_kill9_clients_reconnect_and_a_restart_knows_every_user(chat):
    addrs = [chat.start_server() for _ in range(SERVERS)]
    chat.wait_mesh()
    placement = {"k1": addrs[0], "k2": addrs[0], "k3": addrs[1], "k4": addrs[2]}
    for name, addr in placement.items():
        chat.start_user(name, addr)
    nc_user = LineConn(addrs[1])
    assert nc_user.ask("REGISTER by-nc") == "OK"
    victim = chat.servers[addrs[0]]
    victim.kill9()
    for name in ("k1", "k2"):
        chat.users[name].wait_line(lambda line: line == "* lost %s" % addrs[0], "the crash")
        wait_for(lambda: chat.server_of(name) in addrs[1:], "%s logged in elsewhere" % name)
    for name in placement:
        chat.say_and_expect(name, "after the crash, %s" % name)

    chat.start_server(addrs[0])  # the same address, a new process
    everyone = sorted(list(placement) + ["by-nc"])
    assert users_of(addrs[0]) == everyone  # its first answer, before any chat happens
    chat.wait_mesh()
    newcomer = LineConn(addrs[0])
    assert newcomer.ask("REGISTER newcomer") == "OK"
    newcomer.send("SAY hello from the restarted server")
    for name in placement:
        chat.users[name].wait_line(
            lambda line: line == "MSG newcomer hello from the restarted server", "newcomer")
    chat.users["k3"].send("welcome back")
    wait_for(lambda: newcomer.readline() == "MSG k3 welcome back", "k3's line at the newcomer")
    nc_user.close()
    newcomer.close()


def test_register_storm_across_servers_with_the_synod_leader_killed(chat, synod):
    addrs = [chat.start_server() for _ in range(SERVERS)]
    chat.wait_mesh()
    chat.start_user("witness1", addrs[0])
    chat.start_user("witness2", addrs[1])
    names = ["storm%d" % i for i in range(STORM_NAMES)]
    conns = {n: [LineConn(a) for a in addrs for _ in range(STORM_CONNS_PER_SERVER)]
             for n in names}
    leader = synod.leader()
    for i, name in enumerate(names):
        if i == STORM_NAMES // 2:
            synod.kill9(leader)
        for conn in conns[name]:
            conn.send("REGISTER %s" % name)
    replies = {n: [c.readline() for c in conns[n]] for n in names}
    for name in names:
        assert sorted(replies[name]) == ["OK"] + ["TAKEN"] * (len(conns[name]) - 1), \
            "%s: %s" % (name, replies[name])
    for addr in addrs:
        assert users_of(addr) == sorted(names + ["witness1", "witness2"])
    assert all(p.running() for p in chat.servers.values())
    for name in names:  # each winner can talk
        winner = conns[name][replies[name].index("OK")]
        winner.send("SAY %s won" % name)
    for w in ("witness1", "witness2"):
        for name in names:
            chat.users[w].wait_line(lambda line: line == "MSG %s %s won" % (name, name),
                                    "%s's line" % name)
    for cs in conns.values():
        for c in cs:
            c.close()
