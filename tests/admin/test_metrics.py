"""/metrics: the Prometheus text format, read with prometheus_client's own parser, carries
ZooKeeper's metric names and synod's, and the numbers move under a kazoo load."""

from prometheus_client.parser import text_string_to_metric_families

from conftest import http

# Names ZooKeeper 3.8 exports (its mntr keys, which its Prometheus provider exports as
# gauges, and its request latency summaries): dashboards built for ZooKeeper query these.
ZOOKEEPER_NAMES = [
    "znode_count", "watch_count", "ephemerals_count", "approximate_data_size",
    "num_alive_connections", "outstanding_requests", "packets_received", "packets_sent",
    "open_file_descriptor_count", "max_file_descriptor_count", "uptime", "global_sessions",
    "avg_latency", "min_latency", "max_latency", "auth_failed_count",
    "readlatency", "updatelatency",
]
SYNOD_NAMES = [
    "synod_info", "synod_raft_term", "synod_commit_index", "synod_applied_index",
    "synod_fsync_seconds", "synod_group_commit_entries", "synod_snapshot_seconds",
    "synod_request_latency_seconds", "synod_max_connections", "synod_admin_connections_max",
    "synod_admin_response_bytes_max", "synod_conn_requests_inflight_peak",
]
LOAD_NODES = 40


def scrape(port):
    status, ctype, body = http(port, "/metrics")
    assert status == 200
    assert ctype.startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body)}
    samples = {}
    for f in families.values():
        for s in f.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return families, samples


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_names_types_and_load(admin_server, kazoo):
    srv = admin_server(snapCount=10)
    families, before = scrape(srv.admin_port)
    for name in ZOOKEEPER_NAMES + SYNOD_NAMES:
        assert name in families, name
    assert families["znode_count"].type == "gauge"
    assert families["readlatency"].type == "summary"
    assert families["synod_fsync_seconds"].type == "histogram"
    assert families["synod_request_latency_seconds"].type == "histogram"
    info = families["synod_info"].samples[0].labels
    assert info["server_state"] == "standalone"
    assert info["version"].startswith("3.8.4-synod-")

    zk = kazoo(srv.hosts)
    zk.ensure_path("/load")
    for i in range(LOAD_NODES):
        zk.create("/load/n%d" % i, b"x" * 100)
    for i in range(LOAD_NODES):
        zk.get("/load/n%d" % i)
    zk.exists("/load/n0", watch=lambda event: None)
    zk.create("/load/e", b"", ephemeral=True)

    _, after = scrape(srv.admin_port)
    assert value(after, "znode_count") >= value(before, "znode_count") + LOAD_NODES + 2
    assert value(after, "packets_received") >= value(before, "packets_received") + 2 * LOAD_NODES
    assert value(after, "packets_sent") > value(before, "packets_sent")
    assert value(after, "approximate_data_size") >= value(before, "approximate_data_size") + 100 * LOAD_NODES
    assert value(after, "watch_count") >= 1
    assert value(after, "ephemerals_count") >= 1
    assert value(after, "num_alive_connections") >= 1
    assert value(after, "global_sessions") >= 1
    assert value(after, "updatelatency_count") >= value(before, "updatelatency_count") + LOAD_NODES
    assert value(after, "readlatency_count") >= value(before, "readlatency_count") + LOAD_NODES
    create = value(after, "synod_request_latency_seconds_count", op="create")
    assert create >= LOAD_NODES
    # Cumulative buckets: +Inf holds every observation.
    assert value(after, "synod_request_latency_seconds_bucket", op="create", le="+Inf") == create
    assert value(after, "synod_request_latency_seconds_count", op="getData") >= LOAD_NODES
    assert value(after, "synod_fsync_seconds_count") > value(before, "synod_fsync_seconds_count")
    assert value(after, "synod_group_commit_entries_sum") >= LOAD_NODES
    assert value(after, "synod_applied_index") >= value(before, "synod_applied_index") + LOAD_NODES
    assert value(after, "synod_commit_index") >= value(after, "synod_applied_index")
    # snapCount=10: the load took snapshots in the background.
    assert value(after, "synod_snapshot_seconds_count") >= 1
    # The limits and how close the busiest connection is to them.
    assert value(after, "synod_conn_requests_inflight_peak") <= value(
        after, "synod_conn_requests_inflight_max")
    assert value(after, "synod_admin_requests") >= 1
    assert 1 <= value(after, "synod_watches_per_conn_peak") <= value(
        after, "synod_watches_per_conn_max")
    assert 0 < value(after, "synod_watch_bytes_per_conn_peak") <= value(
        after, "synod_watch_bytes_per_conn_max")


def test_metrics_agree_with_mntr(admin_server):
    """/metrics and the mntr four-letter word print the same collection."""
    srv = admin_server()
    mntr = {}
    for line in srv.four_letter(b"mntr").splitlines():
        key, _, val = line.partition("\t")
        mntr[key[len("zk_"):]] = val
    _, samples = scrape(srv.admin_port)
    for key in ("znode_count", "synod_raft_term", "synod_max_connections", "synod_snap_count",
                "max_file_descriptor_count", "synod_admin_connections_max"):
        assert float(mntr[key]) == value(samples, key), key
