"""Four-letter words through kazoo's client.command() (one recv of up to 8 KiB, as kazoo
does) and a raw reader, checking the formats monitoring tools parse, plus server_version().

A four-letter word describes the one server it is sent to. On a cluster, kazoo's command()
goes to the server the client is connected to, and the tests that compare a server's counters
or watch lists with what the test did put all their clients on one server (`member`)."""

import os
import re

import servers
import zkwire
from procs import four_letter

SRVR_LINES = [
    r"Zookeeper version: \d+\.\d+\.\d+.*",
    r"Latency min/avg/max: \d+/\d+(\.\d+)?(E-?\d+)?/\d+",
    r"Received: \d+",
    r"Sent: \d+",
    r"Connections: \d+",
    r"Outstanding: \d+",
    r"Zxid: 0x[0-9a-f]+",
    r"Mode: standalone",
    r"Node count: \d+",
]
CLIENT_LINE = r" /127\.0\.0\.1:\d+\[\d+\]\(queued=\d+,recved=\d+,sent=\d+(,.*)?\)"
MNTR_INT_KEYS = [
    "zk_max_latency", "zk_min_latency", "zk_packets_received", "zk_packets_sent",
    "zk_num_alive_connections", "zk_outstanding_requests", "zk_znode_count",
    "zk_watch_count", "zk_ephemerals_count", "zk_approximate_data_size",
    "zk_open_file_descriptor_count", "zk_max_file_descriptor_count", "zk_uptime",
    "zk_global_sessions", "zk_local_sessions", "zk_auth_failed_count",
]


# the leader of a cluster adds this line (ZooKeeper's StatCommand, for srvr and stat)
PROPOSAL_SIZES_LINE = r"Proposal sizes last/min/max: -?\d+/-?\d+/-?\d+"


def srvr_patterns(server, lines):
    """SRVR_LINES for a serving server of `server`'s topology (its Mode), plus the proposal
    sizes line when the reply `lines` say Mode: leader."""
    mode = r"Mode: (%s)" % "|".join(server.modes)
    patterns = [mode if p == r"Mode: standalone" else p for p in SRVR_LINES]
    if "Mode: leader" in lines:
        patterns.append(PROPOSAL_SIZES_LINE)
    return patterns


def mntr(server):
    """mntr parsed; read to the end (ZooKeeper's ~500 keys exceed kazoo's one 8 KiB recv)."""
    out = {}
    text = four_letter(server.host, server.port, b"mntr")
    for line in text.splitlines():
        if not line:
            continue
        key, sep, value = line.partition("\t")
        assert sep == "\t" and key.startswith("zk_") and "\t" not in value, line
        assert key not in out, "duplicate key %s" % key
        out[key] = value
    return out


def srvr_fields(text):
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def test_ruok_isro(zk):
    assert zk.command(b"ruok") == "imok"
    assert zk.command(b"isro") == "rw"


def test_srvr_format(zk, server):
    text = zk.command(b"srvr")
    lines = text.rstrip("\n").split("\n")
    patterns = srvr_patterns(server, lines)
    assert len(lines) == len(patterns), text
    for pattern, line in zip(patterns, lines):
        assert re.fullmatch(pattern, line), (pattern, line)
    fields = srvr_fields(text)
    assert int(fields["Connections"]) >= 1
    # Zxid is the last processed zxid: at least the zxid of a write we just made
    st = zk.exists("/itest") or zk.exists("/")
    assert int(fields["Zxid"], 16) >= st.mzxid


def test_srvr_counters_move(zk, prefix):
    # srvr describes zk's server: make it apply what other clients wrote before (on a
    # cluster, the previous tests' clean-up may still be arriving there)
    zk.sync(prefix)
    before = srvr_fields(zk.command(b"srvr"))
    for i in range(5):
        zk.create("%s/n%d" % (prefix, i), b"")
    after = srvr_fields(zk.command(b"srvr"))
    assert int(after["Received"]) >= int(before["Received"]) + 5
    assert int(after["Sent"]) >= int(before["Sent"]) + 5
    assert int(after["Zxid"], 16) >= int(before["Zxid"], 16) + 5
    assert int(after["Node count"]) == int(before["Node count"]) + 5


def test_stat_format(zk, server):
    text = zk.command(b"stat")
    lines = text.split("\n")
    assert re.fullmatch(SRVR_LINES[0], lines[0])
    assert lines[1] == "Clients:"
    i = 2
    while lines[i] != "":
        assert re.fullmatch(CLIENT_LINE, lines[i]), lines[i]
        i += 1
    assert i >= 3  # at least our kazoo connection and the command's own
    rest = [line for line in lines[i + 1:] if line]
    patterns = srvr_patterns(server, rest)[1:]
    assert len(rest) == len(patterns), text
    for pattern, line in zip(patterns, rest):
        assert re.fullmatch(pattern, line), (pattern, line)


def test_cons_lists_sessions(zk):
    sid = zk.client_id[0]
    text = zk.command(b"cons")
    lines = [line for line in text.split("\n") if line]
    assert lines and all(re.fullmatch(CLIENT_LINE, line) for line in lines), text
    ours = [line for line in lines if "sid=0x%x," % sid in line]
    assert len(ours) == 1, text
    assert re.search(r",to=\d+,", ours[0])
    assert re.search(r",lzxid=0x[0-9a-f]+,", ours[0])


def test_conf(clients, member):
    zk = clients(hosts=member.hosts)
    conf = dict(line.split("=", 1) for line in zk.command(b"conf").splitlines() if "=" in line)
    assert conf["clientPort"] == str(member.port)
    assert conf["tickTime"] == str(member.tick_time_ms)
    assert conf["minSessionTimeout"] == str(member.min_session_timeout_ms)
    assert conf["maxSessionTimeout"] == str(member.max_session_timeout_ms)
    assert conf["maxClientCnxns"] == "200"
    # a relative dataDir (a cluster's shared zoo.cfg has one) is the process's directory's
    assert os.path.join(member.work_dir, conf["dataDir"]).startswith(member.data_dir)


def test_envi_and_server_version(zk):
    text = zk.command(b"envi")
    lines = text.splitlines()
    assert lines[0] == "Environment:"
    env = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    assert re.match(r"\d+\.\d+\.\d+", env["zookeeper.version"])
    assert "host.name" in env and "os.name" in env
    version = zk.server_version()
    assert len(version) == 3 and all(isinstance(v, int) for v in version)
    assert version >= (3, 6, 0)  # persistent watches, whoAmI-era protocol


def test_dirs(zk):
    text = zk.command(b"dirs")
    assert re.fullmatch(r"datadir_size: \d+\nlogdir_size: \d+\n*", text), text


def test_mntr_format_and_gauges(member, clients, raw, prefix):
    """The gauges of one server: every client of the test is on `member`."""
    zk = clients(hosts=member.hosts)
    zk.sync(prefix)  # member has applied everything written before the test (on a cluster)
    before = mntr(member)
    # kazoo's command() gets (at least) the head of the same output
    assert zk.command(b"mntr").startswith("zk_version\t")
    for key in MNTR_INT_KEYS:
        int(before[key])
    float(before["zk_avg_latency"])
    assert re.match(r"\d+\.\d+\.\d+", before["zk_version"])
    assert before["zk_server_state"] in member.modes
    assert int(before["zk_num_alive_connections"]) >= 1

    other = clients(hosts=member.hosts)
    other.create(prefix + "/e1", b"", ephemeral=True)
    other.create(prefix + "/e2", b"12345", ephemeral=True)
    zk.create(prefix + "/p", b"abc")
    watcher = raw(host=member.host, port=member.port)
    assert watcher.get_data(prefix + "/p", watch=True).err == 0
    assert watcher.get_children(prefix + "/p", watch=True).err == 0
    after = mntr(member)
    assert int(after["zk_znode_count"]) == int(before["zk_znode_count"]) + 3
    assert int(after["zk_ephemerals_count"]) == int(before["zk_ephemerals_count"]) + 2
    assert int(after["zk_watch_count"]) == int(before["zk_watch_count"]) + 2
    assert int(after["zk_global_sessions"]) == int(before["zk_global_sessions"]) + 2
    assert int(after["zk_approximate_data_size"]) > int(before["zk_approximate_data_size"])
    assert int(after["zk_packets_received"]) > int(before["zk_packets_received"])


def test_watch_words(raw, clients, member, prefix):
    """wchs/wchc/wchp with data and exists watches. (ZooKeeper 3.8 leaves child watches out
    of these three words; the test sets none, so either choice passes.) Watches live on the
    server of their connection: every client of the test is on `member`."""
    zk = clients(hosts=member.hosts)
    p1, p2 = prefix + "/w1", prefix + "/w2"
    for p in (p1, p2):
        zk.create(p, b"")
    before = re.fullmatch(r"(\d+) connections watching (\d+) paths\nTotal watches:(\d+)\n*",
                          zk.command(b"wchs"))
    assert before, zk.command(b"wchs")
    a, b = raw(host=member.host, port=member.port), raw(host=member.host, port=member.port)
    assert a.get_data(p1, watch=True).err == 0
    assert a.exists(p2, watch=True).err == 0
    assert b.exists(p1, watch=True).err == 0
    ha, hb = "0x%x" % a.session_id, "0x%x" % b.session_id

    wchs = zk.command(b"wchs")
    m = re.fullmatch(r"(\d+) connections watching (\d+) paths\nTotal watches:(\d+)\n*", wchs)
    assert m, wchs
    assert int(m.group(1)) == int(before.group(1)) + 2
    assert int(m.group(2)) == int(before.group(2)) + 2
    assert int(m.group(3)) == int(before.group(3)) + 3

    blocks = parse_blocks(zk.command(b"wchc"))
    assert sorted(blocks[ha]) == sorted([p1, p2])
    assert blocks[hb] == [p1]

    blocks = parse_blocks(zk.command(b"wchp"))
    assert sorted(blocks[p1]) == sorted([ha, hb])
    assert blocks[p2] == [ha]


def parse_blocks(text):
    """`key` lines each followed by tab-indented value lines -> {key: [values]}."""
    out = {}
    key = None
    for line in text.split("\n"):
        if not line:
            continue
        if line.startswith("\t"):
            assert key is not None, text
            out[key].append(line[1:])
        else:
            key = line
            out.setdefault(key, [])
    return out


def test_unknown_word_closes_without_output(member):
    assert four_letter(member.host, member.port, b"abcd") == ""
    c = zkwire.RawClient(member.host, member.port)
    try:
        c.send_raw(b"xyzw")
        assert c.wait_closed(10) and c.bytes_before_close == 0
    finally:
        c.close()


def test_whitelist_restricts_words():
    """On every server of a private server (or cluster) with a whitelist."""
    srv = servers.make_target_server("wl",
                                     cfg_overrides={"4lw.commands.whitelist": "srvr, ruok"})
    try:
        srv.start()
        for m in srv.members():
            assert m.four_letter(b"ruok") == "imok"
            assert m.four_letter(b"srvr").startswith("Zookeeper version: ")
            for word in (b"mntr", b"stat", b"envi", b"wchc"):
                out = m.four_letter(word)
                assert out.strip() == ("%s is not executed because it is not in the "
                                       "whitelist." % word.decode()), out
    finally:
        srv.destroy()


def test_dump_lists_ephemerals_per_session(raw, zk, prefix):
    c = raw()
    for name in ("/d1", "/d2"):
        assert c.create(prefix + name, flags=1).err == 0
    zk.sync(prefix)  # dump describes zk's server: it has applied c's creates
    text = zk.command(b"dump")
    lines = text.split("\n")
    header = "0x%x:" % c.session_id
    assert header in lines, text
    i = lines.index(header) + 1
    paths = []
    while i < len(lines) and lines[i].startswith("\t"):
        paths.append(lines[i][1:])
        i += 1
    assert sorted(paths) == [prefix + "/d1", prefix + "/d2"]
    assert re.search(r"Sessions with Ephemerals \(\d+\):", text)
