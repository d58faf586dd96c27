#!/usr/bin/env python3
"""Instructions per operation, counted by valgrind's callgrind.

A noise-free companion to the criterion timings, which a shared 2-core machine makes noisy.
Each workload runs (through the `run_one` bench binary) at two sizes; the difference in
instructions divided by the extra operations is the marginal cost of one operation, free of
runtime start-up and teardown. With --layers, the same difference is split by the crate the
instructions belong to (looplet-executor, looplet-timer, slab, the channel crates, the
allocator, ...), per operation: where looplet's instructions go.

    benches/instructions.py                    # Markdown table, every runtime
    benches/instructions.py --layers looplet   # plus a per-layer split for looplet
    benches/instructions.py --keep DIR         # keep the callgrind files (callgrind_annotate)

Needs valgrind and cargo; honours $CARGO_TARGET_DIR. remote_wake is left out: under valgrind
the two threads are serialised, so its counts would describe valgrind, not the runtimes.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

RUNTIMES = ["looplet", "tokio", "async-executor", "localpool"]
# workload -> (small size, large size, operations per size unit)
WORKLOADS = {
    "spawn_join": (10_000, 20_000, 1),
    "yield_many": (100, 200, 1_000),
    "ping_pong": (10_000, 20_000, 1),
    "ping_pong_mpsc": (10_000, 20_000, 1),
    "timers": (10_000, 20_000, 1),
    "taskgroup": (10, 20, 1_000),
}
# The first of these found in a function's name names its layer (most specific first).
LAYERS = [
    ("looplet_timer", "looplet-timer"),
    ("looplet_taskgroup", "looplet-taskgroup"),
    ("looplet_executor", "looplet-executor"),
    ("slab::", "slab"),
    ("btree", "BTreeMap"),
    ("crossbeam_queue", "crossbeam-queue (remote queue)"),
    ("futures_task", "futures-task (owned wakers)"),
    ("binary_heap", "BinaryHeap (timer heap)"),
    ("vec_deque", "VecDeque (ready queue)"),
    ("tokio::", "tokio"),
    ("async_executor", "async-executor"),
    ("async_task", "async-task"),
    ("futures_executor", "futures-executor"),
    ("futures_util", "futures-util"),
    ("futures_channel", "futures-channel (mpsc)"),
    ("async_unsync", "async-unsync"),
    ("async_channel", "channel (async-channel, event-listener, concurrent-queue)"),
    ("event_listener", "channel (async-channel, event-listener, concurrent-queue)"),
    ("concurrent_queue", "channel (async-channel, event-listener, concurrent-queue)"),
    ("async_io", "async-io"),
    ("polling", "async-io"),
    ("clock_gettime", "clock reads (clock_gettime)"),
    ("support::workloads", "the workload's own code"),
]


def bench_binary():
    """Builds the `run_one` bench binary and returns its path."""
    out = subprocess.run(
        ["cargo", "bench", "--bench", "run_one", "--no-run", "--message-format=json"],
        check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable") \
                and message["target"]["kind"] == ["bench"]:
            path = message["executable"]
    return path


def callgrind(binary, workload, runtime, size, out_dir):
    """Runs one workload under callgrind; returns {function: self instructions}."""
    out = os.path.join(out_dir, f"{workload}.{runtime}.{size}.out")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                    binary, workload, runtime, str(size)],
                   check=True, capture_output=True)
    text = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no", out],
                          check=True, capture_output=True, text=True).stdout
    costs = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)", line)
        if m and "PROGRAM TOTALS" not in line:
            name = m.group(2)
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def layer(name):
    if "malloc" in name or "/malloc/" in name or re.search(r"\bfree\b|_int_free|cfree", name):
        return "allocator (glibc malloc/free)"
    function = name.split(":", 1)[1] if ":" in name else name
    for needle, label in LAYERS:
        if needle in function:
            return label
    return "other (std, kernel entry, ...)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", nargs="*", default=[], metavar="RUNTIME",
                        help="also split these runtimes' instructions by layer")
    parser.add_argument("--keep", metavar="DIR", help="keep callgrind files here")
    args = parser.parse_args()
    out_dir = args.keep or tempfile.mkdtemp(prefix="looplet-callgrind.")
    os.makedirs(out_dir, exist_ok=True)
    binary = bench_binary()

    per_op = {}   # (workload, runtime) -> instructions per operation
    split = {}    # (workload, runtime) -> {layer: instructions per operation}
    for workload, (small, large, unit) in WORKLOADS.items():
        for runtime in RUNTIMES:
            a = callgrind(binary, workload, runtime, small, out_dir)
            b = callgrind(binary, workload, runtime, large, out_dir)
            operations = (large - small) * unit
            per_op[workload, runtime] = (sum(b.values()) - sum(a.values())) / operations
            layers = {}
            for name in set(a) | set(b):
                layers.setdefault(layer(name), 0)
                layers[layer(name)] += b.get(name, 0) - a.get(name, 0)
            split[workload, runtime] = {k: v / operations for k, v in layers.items()}
            print(f"  {workload}/{runtime}: {per_op[workload, runtime]:.0f}", file=sys.stderr)

    print("| workload | " + " | ".join(RUNTIMES) + " | looplet / best peer |")
    print("|---|" + "---:|" * (len(RUNTIMES) + 1))
    for workload in WORKLOADS:
        counts = [per_op[workload, runtime] for runtime in RUNTIMES]
        best_peer = min(counts[1:])
        cells = " | ".join(f"{c:.0f}" for c in counts)
        print(f"| {workload} | {cells} | {counts[0] / best_peer:.2f}× |")
    for runtime in args.layers:
        print(f"\n{runtime}: instructions per operation, by layer\n")
        for workload in WORKLOADS:
            layers = sorted(split[workload, runtime].items(), key=lambda kv: -kv[1])
            shown = ", ".join(f"{name} {cost:.0f}" for name, cost in layers if cost >= 1)
            print(f"- **{workload}** ({per_op[workload, runtime]:.0f}): {shown}")
    print(f"\ncallgrind files: {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
