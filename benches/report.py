#!/usr/bin/env python3
"""Turns one criterion run into the tables and the chart of docs/BENCHMARKS.md.

Reads each `<workload>/<runtime>/new/estimates.json` (the median) and `benchmark.json`
(the operation count criterion was given as throughput) under criterion's output directory,
prints a Markdown table of time per operation for every runtime with the ratio
looplet / fastest peer, and writes an SVG bar chart of the same.

    benches/report.py [CRITERION_DIR] [--svg docs/benchmarks.svg] [--memory RATIO]

Run it from the workspace root. CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion,
else target/criterion. --memory adds the resident-memory-per-idle-task ratio (from
`cargo bench --bench memory`) as a row of the chart.
"""

import argparse
import json
import os
from xml.sax.saxutils import escape

RUNTIMES = ["looplet", "tokio", "async-executor", "localpool"]
# criterion group -> (what it is, per-operation unit), in the order of the page's table
WORKLOADS = {
    "spawn_join": ("spawn_join", "task"),
    "spawn_join_cold": ("spawn_join, fresh runtime", "task"),
    "yield_many": ("yield_many", "yield"),
    "ping_pong": ("ping_pong, async-unsync", "round trip"),
    "ping_pong_mpsc": ("ping_pong, futures mpsc", "round trip"),
    "ping_pong_async_channel": ("ping_pong, async-channel", "round trip"),
    "timers": ("timers", "timer"),
    "timers_cold": ("timers, fresh runtime", "timer"),
    "remote_wake": ("remote_wake", "message"),
    "taskgroup": ("taskgroup", "child"),
    "taskgroup_cold": ("taskgroup, fresh runtime", "child"),
}
COLORS = {"looplet": "#d9480f", "tokio": "#5c7cfa", "async-executor": "#20c997",
          "localpool": "#fab005"}


def load(criterion_dir):
    """{(workload, runtime): ns per operation} for every measurement found."""
    found = {}
    for workload in WORKLOADS:
        for runtime in RUNTIMES:
            base = os.path.join(criterion_dir, workload, runtime, "new")
            try:
                with open(os.path.join(base, "estimates.json")) as f:
                    median = json.load(f)["median"]["point_estimate"]
                with open(os.path.join(base, "benchmark.json")) as f:
                    operations = json.load(f)["throughput"]["Elements"]
            except FileNotFoundError:
                continue
            found[workload, runtime] = median / operations
    return found


def table(per_op):
    lines = [
        "| workload (per) | " + " | ".join(RUNTIMES) + " | fastest peer | looplet / fastest peer |",
        "|---|" + "---:|" * len(RUNTIMES) + "---|---:|",
    ]
    ratios = {}
    for workload, (label, unit) in WORKLOADS.items():
        if (workload, "looplet") not in per_op:
            continue
        cells = [f"{per_op[workload, r]:.1f} ns" if (workload, r) in per_op else "–"
                 for r in RUNTIMES]
        peers = {r: per_op[workload, r] for r in RUNTIMES[1:] if (workload, r) in per_op}
        best = min(peers, key=peers.get)
        ratio = per_op[workload, "looplet"] / peers[best]
        ratios[workload] = ratio
        lines.append(f"| {label} ({unit}) | " + " | ".join(cells) +
                     f" | {best} | **{ratio:.2f}×** |")
    return "\n".join(lines), ratios


def svg(per_op, memory_ratio, path):
    """Grouped horizontal bars: each runtime's time per operation divided by the fastest
    peer's, per workload (1.0 = as fast as the fastest peer; shorter is better)."""
    rows = []  # (label, [(runtime, value)])
    for workload, (label, unit) in WORKLOADS.items():
        peers = [per_op[workload, r] for r in RUNTIMES[1:] if (workload, r) in per_op]
        if (workload, "looplet") not in per_op or not peers:
            continue
        best = min(peers)
        bars = [(r, per_op[workload, r] / best) for r in RUNTIMES if (workload, r) in per_op]
        rows.append((f"{label} (per {unit})", bars))
    if memory_ratio is not None:
        rows.append(("memory per idle task (RSS)", [("looplet", memory_ratio)]))

    bar_h, gap, left, width, top = 11, 16, 220, 420, 58
    scale_max = max(2.0, max(v for _, bars in rows for _, v in bars) * 1.05)
    x = lambda v: left + width * min(v, scale_max) / scale_max  # noqa: E731
    height = top + sum(len(b) * bar_h + gap for _, b in rows) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" '
           f'height="{height}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="20" font-size="15" font-weight="bold">looplet vs its peers: '
           f'time per operation / fastest peer (shorter is better)</text>',
           f'<text x="10" y="38" fill="#555">1.0 = as fast as the fastest peer. '
           f'Medians of one criterion run.</text>']
    for i in range(int(scale_max * 2) + 1):  # grid every 0.5
        v = i / 2
        out.append(f'<line x1="{x(v):.1f}" y1="{top - 6}" x2="{x(v):.1f}" y2="{height - 34}" '
                   f'stroke="{"#333" if v == 1 else "#ddd"}" '
                   f'stroke-width="{1.5 if v == 1 else 1}"/>')
        out.append(f'<text x="{x(v):.1f}" y="{height - 20}" text-anchor="middle" '
                   f'fill="#555">{v:g}×</text>')
    y = top
    for label, bars in rows:
        group_h = len(bars) * bar_h
        out.append(f'<text x="{left - 8}" y="{y + group_h / 2 + 4:.1f}" '
                   f'text-anchor="end">{escape(label)}</text>')
        for runtime, value in bars:
            weight = ' font-weight="bold"' if runtime == "looplet" else ""
            out.append(f'<rect x="{left}" y="{y}" width="{x(value) - left:.1f}" '
                       f'height="{bar_h - 2}" fill="{COLORS[runtime]}"/>')
            out.append(f'<text x="{x(value) + 4:.1f}" y="{y + bar_h - 3}" font-size="10"'
                       f'{weight}>{value:.2f}× {escape(runtime)}</text>')
            y += bar_h
        y += gap
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target_dir = os.environ.get("CARGO_TARGET_DIR", "target")
    parser.add_argument("criterion_dir", nargs="?", default=os.path.join(target_dir, "criterion"))
    parser.add_argument("--svg", metavar="PATH", help="write the chart here")
    parser.add_argument("--memory", type=float, metavar="RATIO",
                        help="looplet / best peer resident bytes per idle task, for the chart")
    args = parser.parse_args()
    per_op = load(args.criterion_dir)
    text, _ = table(per_op)
    print(text)
    if args.svg:
        svg(per_op, args.memory, args.svg)


if __name__ == "__main__":
    main()
