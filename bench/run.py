#!/usr/bin/python3
"""Benchmark of synod against Apache ZooKeeper 3.8 and etcd 3.4 (Debian's packages), fsync on.

Both servers are started the same way (setsid, fresh data dir, a free port on
127.0.0.1) so Linux's autogroup scheduler gives each the same share of the CPU;
the same load generator (synod-loadgen) drives each with the same workloads in
the same run. For each workload it records ops/s, latency percentiles, the
server's CPU time per operation (from /proc/PID/stat) and the load generator's
own; then it loads 100,000 nodes of 256 bytes into a fresh server and records its RSS.
It prints a table with the synod/ZooKeeper ratios and rewrites the figures
section of docs/BENCHMARKS.md.

The single-node section compares synod and ZooKeeper only (etcd is not in it).

Then the 3-server section (bench/cluster_bench.py), for synod, ZooKeeper and etcd
one after the other: the workload matrix (write, create, local read, linearizable
read, mixed 90/10 at 1x1, 4x64 and 32x64, values of 256 B and 4 KiB), the restart
time of a follower, failover after kill -9 and after SIGSTOP of the leader under a
write load, and the disk's fdatasync latency; one table with synod's ratio to the
better of the other two. It rewrites its own figures section of docs/BENCHMARKS.md,
saves every figure as JSON (results.json in the run's directory and, when recording,
docs/bench-results.json) and draws the plots from it (bench/plot.py, docs/bench-*.svg).

usage: bench/run.py BUILD_DIR [--duration S] [--warmup S] [--servers synod,zookeeper,etcd]
                    [--only single|cluster] [--parts matrix,restart,failover]
                    [--workloads set,create,get,linget,mixed] [--shapes 1x1,4x64,32x64]
                    [--value-sizes 256,4096] [--failover kill,stop] [--rounds N]
                    [--no-record]
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import cluster_bench

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZK_CLASSPATH = ":".join(
    "/usr/share/java/" + j
    for j in ("zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-log4j12.jar",
              "log4j-1.2.jar", "netty-handler.jar", "netty-common.jar", "netty-buffer.jar",
              "netty-transport.jar", "netty-codec.jar", "netty-resolver.jar",
              "netty-transport-native-epoll.jar", "netty-transport-native-unix-common.jar",
              "commons-cli.jar", "metrics-core.jar", "jackson-databind.jar",
              "jackson-core.jar", "jackson-annotations.jar"))
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15
CLK_TCK = os.sysconf("SC_CLK_TCK")
RSS_NODES = 100_000
RSS_VALUE_BYTES = 256
KEYS = 10_000
SINGLE_SERVERS = ("synod", "zookeeper")  # the single-node section's systems


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def four_letter(port, word):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(word)
            out = b""
            while True:
                chunk = s.recv(8192)
                if not chunk:
                    return out
                out += chunk
    except OSError:
        return b""


class Server:
    """One server process started with setsid, stopped by its PID."""

    def __init__(self, name, argv, port, workdir):
        self.name, self.port, self.workdir = name, port, workdir
        log = open(os.path.join(workdir, "server.log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=workdir)
        deadline = time.time() + START_TIMEOUT_S
        while four_letter(port, b"ruok") != b"imok":
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not start; see {workdir}/server.log")
            time.sleep(0.2)

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_zookeeper(workdir):
    port = free_port()
    with open(os.path.join(workdir, "zoo.cfg"), "w") as f:
        f.write(f"tickTime=2000\ndataDir={workdir}/data\nclientPort={port}\n"
                "clientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n"
                "admin.enableServer=false\nmaxClientCnxns=0\n")
    with open(os.path.join(workdir, "log4j.properties"), "w") as f:
        f.write("log4j.rootLogger=WARN, C\nlog4j.appender.C=org.apache.log4j.ConsoleAppender\n"
                "log4j.appender.C.layout=org.apache.log4j.PatternLayout\n")
    argv = ["java", "-Xmx2g", "-Dzookeeper.forceSync=yes", "-cp", ZK_CLASSPATH,
            f"-Dlog4j.configuration=file:{workdir}/log4j.properties",
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", f"{workdir}/zoo.cfg"]
    return Server("zookeeper", argv, port, workdir)


def start_synod(workdir, build):
    port = free_port()
    with open(os.path.join(workdir, "zoo.cfg"), "w") as f:
        f.write(f"tickTime=2000\ndataDir={workdir}/data\nclientPort={port}\n"
                "clientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n")
    argv = [os.path.join(build, "src/server/synod"), "serve", "-c", f"{workdir}/zoo.cfg"]
    return Server("synod", argv, port, workdir)


def loadgen(build, port, *args):
    argv = [os.path.join(build, "bench/synod-loadgen"), "--server", f"127.0.0.1:{port}", *args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen {' '.join(args)} failed: {out.stderr.strip()}")
    last = out.stdout.strip().splitlines()[-1]
    return {k: float(v) for k, v in (kv.split("=") for kv in last.split())}


WORKLOADS = [
    ("create", ["--op", "create"]),
    ("set", ["--op", "set"]),
    ("get", ["--op", "get"]),
    ("mixed 90/10", ["--op", "mixed", "--read-percent", "90"]),
]


def bench_server(name, build, args):
    workdir = tempfile.mkdtemp(prefix=f"synod-bench-{name}-")
    server = start_synod(workdir, build) if name == "synod" else start_zookeeper(workdir)
    results = {}
    try:
        common = ["--connections", str(args.connections), "--outstanding", str(args.outstanding),
                  "--value-size", "256", "--keys", str(KEYS)]
        loadgen(build, server.port, "--op", "populate", *common)
        for label, extra in WORKLOADS:
            cpu0 = server.cpu_s()
            r = loadgen(build, server.port, *common, *extra, "--duration", str(args.duration),
                        "--warmup", str(args.warmup))
            cpu1 = server.cpu_s()
            # Server CPU over warm-up + window + drain, divided by all ops in that span is
            # approximated by scaling the window's op rate to the whole span.
            span_ops = r["ops_per_s"] * (args.duration + args.warmup)
            r["server_cpu_us_per_op"] = (cpu1 - cpu0) * 1e6 / span_ops if span_ops else 0
            results[label] = r
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    results["rss_mib"] = rss_after_load(name, build)
    return results


def rss_after_load(name, build):
    """RSS of a fresh server holding exactly RSS_NODES nodes of RSS_VALUE_BYTES.

    A fresh server, not the one the workloads ran on: the create workload adds as
    many nodes as the server's throughput allows, so after it the two servers would
    hold different trees."""
    workdir = tempfile.mkdtemp(prefix=f"synod-bench-{name}-rss-")
    server = start_synod(workdir, build) if name == "synod" else start_zookeeper(workdir)
    try:
        loadgen(build, server.port, "--op", "populate", "--prefix", "/rss",
                "--keys", str(RSS_NODES), "--value-size", str(RSS_VALUE_BYTES),
                "--connections", "4", "--outstanding", "64")
        return server.rss_kib() / 1024
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores, {model}, {mem_gib:.0f} GiB, Linux {platform.release()}"


def table(res, names):
    rows = []
    head = "| workload | metric | " + " | ".join(names)
    if len(names) == 2:
        head += " | synod / zookeeper"
    rows.append(head + " |")
    rows.append("|" + "---|" * (len(names) + 2 + (len(names) == 2)))
    metrics = [("ops/s", "ops_per_s", "{:.0f}"), ("p50 µs", "p50_us", "{:.0f}"),
               ("p99 µs", "p99_us", "{:.0f}"), ("p99.9 µs", "p999_us", "{:.0f}"),
               ("server CPU µs/op", "server_cpu_us_per_op", "{:.1f}"),
               ("loadgen CPU µs/op", "client_cpu_us_per_op", "{:.1f}")]
    for label, _ in WORKLOADS:
        for mname, key, fmt in metrics:
            vals = [res[n][label][key] for n in names]
            row = f"| {label} | {mname} | " + " | ".join(fmt.format(v) for v in vals)
            if len(names) == 2:
                row += " | " + (f"{vals[0] / vals[1]:.2f}×" if vals[1] else "n/a")
            rows.append(row + " |")
    vals = [res[n]["rss_mib"] for n in names]
    row = f"| {RSS_NODES:,} nodes × {RSS_VALUE_BYTES} B | RSS MiB | " + \
        " | ".join(f"{v:.1f}" for v in vals)
    if len(names) == 2:
        row += " | " + (f"{vals[0] / vals[1]:.2f}×" if vals[1] else "n/a")
    rows.append(row + " |")
    return "\n".join(rows)


SINGLE_MARKERS = ("<!-- figures: rewritten by bench/run.py -->", "<!-- end of figures -->")
CLUSTER_MARKERS = ("<!-- cluster figures: rewritten by bench/run.py -->",
                   "<!-- end of cluster figures -->")


def record(text, markers):
    """Replaces what lies between the two markers in docs/BENCHMARKS.md (appends both, with
    the text, when the file lacks them)."""
    begin, end = markers
    path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    old = open(path).read() if os.path.exists(path) else ""
    if begin in old and end in old.split(begin, 1)[1]:
        head, rest = old.split(begin, 1)
        tail = rest.split(end, 1)[1]
    else:
        head, tail = (old.rstrip("\n") + "\n\n" if old else ""), "\n"
    with open(path, "w") as f:
        f.write(head + begin + "\n" + text + "\n" + end + tail)


def csv_list(choices=None, convert=str):
    """An argparse type: a comma-separated list, each item converted and in `choices`."""
    def parse(text):
        items = [convert(x) for x in text.split(",") if x]
        bad = [x for x in items if choices is not None and x not in choices]
        if not items or bad:
            raise argparse.ArgumentTypeError("expected a comma-separated list of %s"
                                             % ", ".join(map(str, choices or ["values"])))
        return items
    return parse


def shape(text):
    conns, outstanding = (int(x) for x in text.split("x"))
    return conns, outstanding


def save_results(res, names, args, outdir):
    """results.json in the run's directory and, when recording, docs/bench-results.json
    with the plots bench/plot.py draws from it."""
    doc = {"machine": machine(), "servers": names, "args": {
        k: v for k, v in vars(args).items() if k != "build"},
        "cluster": res, "series": cluster_bench.plot_series(res, names, args)}
    path = os.path.join(outdir, "results.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    if args.no_record:
        return
    shutil.copy(path, os.path.join(ROOT, "docs", "bench-results.json"))
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "plot.py"), path,
                    os.path.join(ROOT, "docs")], check=True)


def main():
    ops = [op for _, op in cluster_bench.MX_WORKLOADS]
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--warmup", type=float, default=1)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--outstanding", type=int, default=64)
    p.add_argument("--servers", type=csv_list(("synod", "zookeeper", "etcd")),
                   default=["synod", "zookeeper", "etcd"])
    p.add_argument("--only", choices=("single", "cluster"),
                   help="run only the single-node or only the 3-server section")
    p.add_argument("--parts", type=csv_list(cluster_bench.PARTS),
                   default=list(cluster_bench.PARTS), help="3-server section: what to run")
    p.add_argument("--workloads", type=csv_list(ops), default=ops,
                   help="3-server section: the load generator ops of the matrix")
    p.add_argument("--shapes", type=csv_list(convert=shape), default=cluster_bench.MX_SHAPES,
                   help="3-server section: connections x outstanding, e.g. 1x1,4x64")
    p.add_argument("--value-sizes", type=csv_list(convert=int),
                   default=cluster_bench.MX_VALUE_SIZES, help="3-server section: bytes")
    p.add_argument("--failover", type=csv_list(cluster_bench.FAILOVER_KINDS),
                   default=list(cluster_bench.FAILOVER_KINDS),
                   help="3-server section: kill (kill -9) and/or stop (SIGSTOP) rounds")
    p.add_argument("--rounds", type=int, default=cluster_bench.ROUNDS,
                   help="3-server section: failover rounds per kind of failure")
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args()
    args.build = os.path.abspath(args.build)
    names = args.servers
    single = [n for n in names if n in SINGLE_SERVERS]
    if args.only != "cluster" and single:
        res = {n: bench_server(n, args.build, args) for n in single}
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        text = (f"Run {stamp} on {machine()}; {args.connections} connections × "
                f"{args.outstanding} outstanding, 256-byte values, {KEYS} keys, "
                f"{args.duration:g} s per workload after {args.warmup:g} s warm-up.\n\n"
                + table(res, single))
        print(text)
        if not args.no_record:
            record(text, SINGLE_MARKERS)
    if args.only != "single":
        t0 = time.monotonic()
        res, outdir = cluster_bench.bench(names, args.build, args)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        text = (f"Run {stamp} on {machine()}, {time.monotonic() - t0:.0f} s; "
                + cluster_bench.describe(args) + "\n\n"
                + cluster_bench.table(res, names, args)
                + "\n\nPer round (failover: ms from the signal to the first acknowledged create "
                "issued after it, in brackets when a survivor first said it leads, polled "
                "every 20 ms; restart: each restart):\n\n"
                + cluster_bench.details(res, names, args))
        print(text)
        save_results(res, names, args, outdir)
        print(f"\n(round details, results.json, and the logs of any round that failed a check "
              f"or was slow: {outdir})")
        if not args.no_record:
            record(text, CLUSTER_MARKERS)


if __name__ == "__main__":
    sys.exit(main())
