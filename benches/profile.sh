#!/usr/bin/env bash
# Where does one bench spend its time? Records `perf` samples of one criterion bench id
# (criterion's --profile-time mode: the workload in a loop, no analysis) and prints the
# hottest functions by self time, then the same grouped into kernel / allocator / looplet /
# the rest.
#
#   benches/profile.sh BENCH_FILE BENCH_ID [SECONDS]
#   benches/profile.sh wakeups yield_many/looplet
#
# Needs `perf` (perf_event_paranoid <= 2 is enough for user+kernel samples of your own
# process). The bench profile keeps debug info (`[profile.bench] debug = true`), so the
# symbols are readable. Uses $CARGO_TARGET_DIR like cargo does.
set -euo pipefail
bench=${1:?bench file, e.g. wakeups}
id=${2:?bench id, e.g. yield_many/looplet}
seconds=${3:-3}
target=${CARGO_TARGET_DIR:-target}

binary=$(cargo bench --bench "$bench" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["kind"] == ["bench"] and m.get("executable"):
        print(m["executable"])' | tail -1)
data=$(mktemp /tmp/looplet-perf.XXXXXX)
trap 'rm -f "$data"' EXIT
perf record -q -o "$data" -F 4000 -- "$binary" --bench --profile-time "$seconds" "^${id}\$" >/dev/null 2>&1
set +o pipefail # `head` closing the pipe early is fine from here on

echo "== $id: self time by function (top 25) =="
perf report -i "$data" --no-children --stdio --sort symbol --percent-limit 0.7 2>/dev/null |
    grep -v '^#' | grep -v '^$' | sed -E 's/ +$//' | cut -c1-150 | head -25

echo "== $id: self time by layer =="
perf report -i "$data" --no-children --stdio --sort symbol 2>/dev/null | grep -v '^#' | grep '%' |
    python3 -c 'import re,sys
groups = {}
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.*)", line)
    if not m: continue
    pct, kind, sym = float(m.group(1)), m.group(2), m.group(3)
    if kind == "k": g = "kernel (page faults, futex, scheduling)"
    elif re.search(r"malloc|free|_int_|unlink_chunk|realloc|tcache|sysmalloc|systrim|arena", sym): g = "allocator (glibc malloc/free)"
    elif "looplet_timer" in sym: g = "looplet-timer"
    elif "looplet_taskgroup" in sym: g = "looplet-taskgroup"
    elif "btree" in sym: g = "BTreeMap (e.g. the TaskGroup child registry)"
    elif "binary_heap" in sym: g = "BinaryHeap (looplet timer heap)"
    elif "vec_deque" in sym: g = "VecDeque (looplet ready queue)"
    elif "clock_gettime" in sym or "Timespec>::now" in sym: g = "clock reads"
    elif "crossbeam_queue" in sym: g = "crossbeam-queue (looplet remote queue)"
    elif "looplet_executor" in sym or "looplet::" in sym: g = "looplet-executor"
    elif "slab::" in sym: g = "slab (looplet task storage)"
    elif "async_channel" in sym or "concurrent_queue" in sym or "event_listener" in sym: g = "channel (async-channel, event-listener)"
    elif "futures_channel" in sym: g = "channel (futures-channel mpsc)"
    elif "async_unsync" in sym: g = "channel (async-unsync)"
    elif "memmove" in sym or "memcpy" in sym or "memset" in sym: g = "memcpy/memmove"
    else: g = "workload and other"
    groups[g] = groups.get(g, 0) + pct
for g, pct in sorted(groups.items(), key=lambda kv: -kv[1]):
    print(f"{pct:6.1f}%  {g}")'
