#!/usr/bin/python3
"""`make hostile`: every hostile-client scenario (hostile.py) with the full counts against
synod, and, with --zookeeper, against ZooKeeper 3.8 (Debian's) for comparison. Prints one
table of figures: the good client's operations and their p50/p99/max latency, and the
server's RSS at the start, at its peak and at the end. Exits 1 when a scenario broke a
property against synod (ZooKeeper's broken properties are only listed)."""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import hostile  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True, help="the synod binary")
    ap.add_argument("--profile", default="full", choices=sorted(hostile.PROFILES))
    ap.add_argument("--zookeeper", action="store_true", help="also run against ZooKeeper")
    ap.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    args = ap.parse_args()
    os.environ["SYNOD_BIN"] = os.path.abspath(args.bin)
    prof = hostile.profile(args.profile)
    targets = ["synod"] + (["zookeeper"] if args.zookeeper else [])
    figures = []
    for name, fn in hostile.SCENARIOS:
        if args.only and name not in args.only:
            continue
        for target in targets:
            fig = hostile.run_scenario(name, fn, target, prof)
            print(hostile.HEADER if not figures else "", file=sys.stderr)
            print(fig.row(), file=sys.stderr, flush=True)
            figures.append(fig)
    print("\nprofile %s, synod clientMemoryLimitInMb=%d\n" % (prof["name"], prof["budget_mb"]))
    print(hostile.HEADER)
    for fig in figures:
        print(fig.row())
    broken = False
    for fig in figures:
        for failure in fig.failures:
            print("%s %s: %s" % (fig.target, fig.scenario, failure))
            broken = broken or fig.target == "synod"
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
