"""etcd-loadgen against a real single-node etcd: it builds, every workload runs and reports
what bench/run.py reads, and what it says it wrote is in etcd.

ETCD_LOADGEN_OUT is where it is built (with its Go cache); ctest sets it.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import cluster_bench  # noqa: E402  (it puts tests/lib on the path)
import etcd_cluster  # noqa: E402

BUILD_TIMEOUT_S = 400
REPORT_KEYS = ("ops", "errors", "seconds", "ops_per_s", "p50_us", "p99_us", "p999_us",
               "max_us", "client_cpu_us_per_op", "expired")
KEYS = 100
VALUE_BYTES = 300
SHAPE = ["--connections", "2", "--outstanding", "4"]
RUN = ["--duration", "1", "--warmup", "0.2"]


@pytest.fixture(scope="module")
def build_dir():
    """A directory holding bench/etcd-loadgen, as run.py expects under its build dir."""
    out = os.environ.get("ETCD_LOADGEN_OUT")
    assert out, "ETCD_LOADGEN_OUT is not set (ctest sets it)"
    bench = os.path.join(out, "bench")
    subprocess.run([os.path.join(ROOT, "bench", "etcd-loadgen", "build.sh"), bench],
                   check=True, timeout=BUILD_TIMEOUT_S)
    return out


@pytest.fixture(scope="module")
def etcd():
    c = etcd_cluster.EtcdCluster(1, name="loadgen")
    try:
        c.start()
        c.wait_leader()
        yield c
    finally:
        c.destroy()


def run(build_dir, etcd, *args):
    return cluster_bench.run_loadgen(build_dir, "etcd", etcd.hosts(), *args, timeout_s=60)


def check_report(r):
    assert set(REPORT_KEYS) <= set(r), r
    assert r["ops"] > 0 and r["errors"] == 0 and r["expired"] == 0, r
    assert 0 < r["p50_us"] <= r["p99_us"] <= r["p999_us"] <= r["max_us"], r
    assert r["ops_per_s"] == pytest.approx(r["ops"] / r["seconds"], rel=0.01), r
    assert r["client_cpu_us_per_op"] > 0, r


def test_populate_then_every_workload(build_dir, etcd):
    out = subprocess.run(cluster_bench.loadgen_argv(
        build_dir, "etcd", etcd.hosts(), "--op", "populate", "--prefix", "/t", "--keys",
        str(KEYS), "--value-size", str(VALUE_BYTES), *SHAPE), capture_output=True, text=True,
        timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "populated=%d" % KEYS, out
    assert len(etcd.range_keys(1, "/t/")) == KEYS
    assert etcd.get(1, "/t/k%d" % (KEYS - 1)) == b"v" * VALUE_BYTES
    for op in ("set", "get", "linget", "mixed"):
        check_report(run(build_dir, etcd, "--op", op, "--prefix", "/t", "--keys", str(KEYS),
                         "--value-size", str(VALUE_BYTES), *SHAPE, *RUN))
    assert len(etcd.range_keys(1, "/t/")) == KEYS  # set and mixed overwrite, never add


def test_create_makes_new_keys_and_refuses_existing_ones(build_dir, etcd):
    r = run(build_dir, etcd, "--op", "create", "--prefix", "/c", *SHAPE, *RUN)
    check_report(r)
    made = etcd.range_keys(1, "/c/")
    assert len(made) >= r["ops"], (len(made), r)  # the warm-up's creates are there too
    # The same prefix again: every create meets a key of the first run first.
    again = run(build_dir, etcd, "--op", "create", "--prefix", "/c", "--connections", "1",
                "--outstanding", "1", "--duration", "0.3", "--warmup", "0")
    assert again["errors"] == again["ops"] > 0, again


def test_paced_creates_with_a_mark(build_dir, etcd, tmp_path):
    """--rate, --acked and SIGUSR1, as the failover rounds use them."""
    acked = tmp_path / "acked"
    proc = subprocess.Popen(cluster_bench.loadgen_argv(
        build_dir, "etcd", etcd.hosts(), "--op", "create", "--prefix", "/p", "--rate", "200",
        "--all-endpoints", "--acked", str(acked), "--duration", "1.5", "--warmup", "0",
        "--tail", "0.2", *SHAPE), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("started ")
        time.sleep(0.5)
        before = time.monotonic_ns()
        proc.send_signal(signal.SIGUSR1)
        stdout, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    r = cluster_bench.parse_kv(stdout.strip().splitlines()[-1])
    check_report(r)
    assert r["mark_ns"] >= before and r["recovery_us"] > 0, r
    # The tail ended the run well before --duration; the rate held within a factor of 2.
    assert r["ops_per_s"] < 400, r
    lines = acked.read_text().split()
    keys = lines[2::3]
    assert keys and set(keys) <= etcd.range_keys(1, "/p/")
    assert all(int(s) <= int(e) for s, e in zip(lines[0::3], lines[1::3]))
