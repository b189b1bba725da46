#!/usr/bin/env python3
"""Plots scheduler_sim's JSON lines as one SVG (no dependency beyond Python):

    launch/plot_sim.py OUT.svg LABEL=FILE [LABEL=FILE ...]

Left: the pass's efficiency (ideal / simulated wall time) against the worker count (log scale);
right: rank 0's busy fraction. One line per input file (the JSON lines scheduler_sim prints).
"""
import json
import math
import sys

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
W, H, PAD = 360, 240, 44


def series(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    return [(r["workers"], r["efficiency"], r["rank0_busy"]) for r in rows]


def panel(x0, title, runs, pick, ymax, yfmt):
    out = [f'<g transform="translate({x0},0)"><text x="{W / 2}" y="16" text-anchor="middle">{title}</text>']
    xs = [w for _, rows in runs for w, *_ in rows]
    lo, hi = math.log2(min(xs)), math.log2(max(xs))
    sx = lambda w: PAD + (math.log2(w) - lo) / max(hi - lo, 1) * (W - 2 * PAD)
    sy = lambda v: H - PAD - v / ymax * (H - 2 * PAD)
    out.append(f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#444"/>')
    out.append(f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="#444"/>')
    for w in sorted(set(xs)):
        if math.log2(w) % 2:  # powers of 4 only: the others would overlap
            continue
        out.append(f'<text x="{sx(w):.1f}" y="{H - PAD + 14}" font-size="9" text-anchor="middle">{w}</text>')
    for k in range(5):
        v = ymax * k / 4
        out.append(f'<text x="{PAD - 4}" y="{sy(v) + 3:.1f}" font-size="9" text-anchor="end">{yfmt(v)}</text>')
    out.append(f'<text x="{W / 2}" y="{H - 8}" font-size="10" text-anchor="middle">workers</text>')
    for color, (label, rows) in zip(COLORS, runs):
        points = " ".join(f"{sx(w):.1f},{sy(pick(r)):.1f}" for w, *r in rows)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>')
    out.append("</g>")
    return out


def main():
    out_path, specs = sys.argv[1], sys.argv[2:]
    runs = [(label, series(path)) for label, path in (s.split("=", 1) for s in specs)]
    busy_max = max(0.01, max(b for _, rows in runs for _, _, b in rows) * 1.2)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H + 20}" font-family="sans-serif" '
           'font-size="11">']
    svg += panel(0, "efficiency (ideal / wall)", runs, lambda r: r[0], 1.0, lambda v: f"{v:.2f}")
    svg += panel(W, "rank 0 busy (CPU / wall)", runs, lambda r: r[1], busy_max, lambda v: f"{100 * v:.1f}%")
    for i, (color, (label, _)) in enumerate(zip(COLORS, runs)):
        svg.append(f'<text x="{PAD + 8 + 170 * i}" y="{H + 14}" fill="{color}">■ {label}</text>')
    svg.append("</svg>")
    open(out_path, "w").write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
