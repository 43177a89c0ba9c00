#!/usr/bin/python3
"""Draws the plots of a bench run: bench/plot.py RESULTS_JSON OUT_DIR.

RESULTS_JSON is what bench/run.py saves (results.json in the run's directory,
docs/bench-results.json when it records). Its "series" list says what to draw, so any
section that adds a series gets its plot: each series is one SVG, OUT_DIR/bench-NAME.svg,
with one panel per entry of "panels" and in each panel one line per system:

    {"name": "throughput-256B", "title": "...", "x": "connections", "y": "ops/s",
     "log_x": true, "panels": {"write": {"synod": [[1, 950.0], [4, 21000.0]], ...}, ...}}

Needs Debian's python3-matplotlib (scripts/deps.sh installs it).
"""
import json
import math
import os
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

PANEL_COLUMNS = 3
PANEL_SIZE_IN = (4.2, 3.2)
# The same colour and marker for a system in every plot.
STYLES = {"synod": ("tab:blue", "o"), "zookeeper": ("tab:orange", "s"),
          "etcd": ("tab:green", "^")}
OTHER_STYLE = ("tab:gray", "x")


def draw(series, out_dir):
    panels = series["panels"]
    columns = min(PANEL_COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, squeeze=False,
                             figsize=(PANEL_SIZE_IN[0] * columns, PANEL_SIZE_IN[1] * rows))
    for ax, (title, lines) in zip(axes.flat, panels.items()):
        for system, points in lines.items():
            colour, marker = STYLES.get(system, OTHER_STYLE)
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            ax.plot(xs, ys, marker=marker, color=colour, label=system)
        if series.get("log_x"):
            ax.set_xscale("log")
        xs = sorted({p[0] for points in lines.values() for p in points})
        ax.set_xticks(xs)
        ax.set_xticklabels([str(x) for x in xs])
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(series["x"])
        ax.set_ylabel(series["y"])
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(series["title"], fontsize=11)
    fig.tight_layout()
    path = os.path.join(out_dir, "bench-%s.svg" % series["name"])
    # No date and a fixed id salt: the same figures give the same file.
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    return path


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: bench/plot.py RESULTS_JSON OUT_DIR\n")
        return 2
    with open(sys.argv[1]) as f:
        results = json.load(f)
    matplotlib.rcParams["svg.hashsalt"] = "synod-bench"
    for series in results.get("series", []):
        print("wrote %s" % draw(series, sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
