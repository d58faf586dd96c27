#!/usr/bin/env python3
"""Draw a looplet Chrome trace (LOOPLET_TRACE=run.json) as an SVG timeline.

One row per task (row 0 is the event loop itself): a light bar for the task's life, dark
ticks for its polls, dots for its wake-ups. Perfetto (https://ui.perfetto.dev) shows the
same file interactively; this script makes a picture small enough to put in the docs.

    LOOPLET_TRACE=level5.json cargo run --example level5
    python3 docs/trace_to_svg.py level5.json > docs/level5-trace.svg
"""

import json
import sys
from html import escape

ROW, LEFT, RIGHT, TOP, WIDTH = 26, 210, 30, 40, 1000


def main(path):
    events = json.load(open(path))["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    timed = [e for e in events if e["ph"] in ("X", "i")]
    end = max([e["ts"] + e.get("dur", 0) for e in timed] + [1.0])
    rows = sorted(names)
    scale = (WIDTH - LEFT - RIGHT) / end

    def x(ts):
        return LEFT + ts * scale

    height = TOP + ROW * len(rows) + 62
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="14">looplet trace: {escape(path)}</text>',
    ]
    for row, tid in enumerate(rows):
        y = TOP + row * ROW
        out.append(f'<text x="8" y="{y + 16}">{escape(names[tid])}</text>')
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y + ROW - 2}" '
                   f'y2="{y + ROW - 2}" stroke="#eee"/>')
        for e in (e for e in timed if e["tid"] == tid):
            start, dur = x(e["ts"]), max(e.get("dur", 0) * scale, 2)
            if e["ph"] == "i":
                out.append(f'<circle cx="{start}" cy="{y + 12}" r="3" fill="#e08a00">'
                           f'<title>{escape(e["name"])}</title></circle>')
            elif e["name"] == "poll":
                out.append(f'<rect x="{start}" y="{y + 3}" width="{dur}" height="18" '
                           f'fill="#1f5fa8"><title>poll</title></rect>')
            else:
                colour = "#c9ddf2" if tid else "#eeeeee"
                if "cancelled" in e["name"]:
                    colour = "#f4c7c3"
                out.append(f'<rect x="{start}" y="{y + 6}" width="{dur}" height="12" '
                           f'fill="{colour}"><title>{escape(e["name"])}</title></rect>')
    seconds = end / 1e6
    ticks = max(int(seconds), 1)
    for s in range(ticks + 1):
        tx = x(s * 1e6 * (seconds / ticks) if seconds < 1 else s * 1e6)
        if tx > WIDTH - RIGHT + 1:
            break
        out.append(f'<line x1="{tx}" x2="{tx}" y1="{TOP - 6}" y2="{height - 52}" '
                   f'stroke="#bbb" stroke-dasharray="3,3"/>')
        out.append(f'<text x="{tx - 8}" y="{height - 36}">{s if seconds >= 1 else round(s * seconds / ticks, 3)} s</text>')
    legend = [("#c9ddf2", "task alive, finished with a value"), ("#f4c7c3", "task alive, then cancelled"),
              ("#1f5fa8", "poll"), ("#eeeeee", "loop idle (parked)"), ("#e08a00", "timers fired")]
    lx = LEFT
    for colour, label in legend:
        out.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 14}" y="{height - 3}">{escape(label)}</text>')
        lx += 14 + 6 * len(label) + 16
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
