"""Round-trip latency against number of clients: runs bench.load at each count, with
README's production command and, for comparison in the same run, the previous one (a
thread per client), and writes the figures as JSON and a chart as SVG (no plotting
library needed).

    python -m bench.sweep [--clients 1 10 50 100 150 200] [--seconds 20] [--no-baseline]
"""
import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAST_LINE = re.compile(
    r"clients (\d+) fps ([\d.]+) answered (\d+)/s rt p50 ([\d.]+) ms p99 ([\d.]+) ms rss (\d+) MB"
)


def measure(clients, seconds, fps, worker="gevent"):
    command = [sys.executable, "-m", "bench.load", "--clients", str(clients), "--seconds", str(seconds),
               "--fps", str(fps), "--worker", worker]
    out = subprocess.run(command, cwd=HERE.parent, capture_output=True, text=True, check=True).stdout
    print(out.strip(), flush=True)
    lines = out.strip().splitlines()
    n, fps_, answered, p50, p99, rss = LAST_LINE.fullmatch(lines[-1]).groups()
    cpu = float(re.search(r"server CPU ([\d.]+) cores", out).group(1))
    coalesced = float(re.search(r"coalesced \d+ \(([\d.]+)%\)", out).group(1))
    return {"server": worker, "clients": int(n), "answered_per_s": int(answered), "rt_p50_ms": float(p50),
            "rt_p99_ms": float(p99), "rss_mb": int(rss), "server_cpu_cores": cpu, "coalesced_percent": coalesced}


SERIES = [  # (server, key, colour, dashed, label)
    ("gevent", "rt_p50_ms", "#0072b2", False, "p50"),
    ("gevent", "rt_p99_ms", "#e69f00", False, "p99"),
    ("gthread", "rt_p99_ms", "#999999", True, "p99, threads"),
]


def svg_chart(rows, width=700, height=360, pad=56, right=110, cap=400.0):
    """Round trip (ms) against clients: p50 and p99 now, p99 with a thread per client.
    The scale stops at `cap` ms; points above it sit on the top edge, labelled."""
    xmax = max(r["clients"] for r in rows)
    ymax = min(cap, max(50.0, max(r["rt_p99_ms"] for r in rows)) * 1.1)
    x = lambda v: pad + (width - pad - right) * v / xmax  # noqa: E731
    y = lambda v: height - pad - (height - 2 * pad) * min(v, ymax) / ymax  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - right}" y2="{height - pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="{y(50):.1f}" x2="{width - right}" y2="{y(50):.1f}" stroke="#c00" stroke-dasharray="4 4"/>',
             f'<text x="{pad + 6}" y="{y(50) - 4:.1f}" fill="#c00">p99 target 50 ms</text>',
             f'<text x="{(pad + width - right) / 2}" y="{height - 16}" text-anchor="middle">clients drawing at 10 frames/s</text>',
             f'<text x="16" y="{height / 2}" transform="rotate(-90 16 {height / 2})" text-anchor="middle">round trip (ms)</text>']
    for clients in sorted({r["clients"] for r in rows}):
        parts.append(f'<text x="{x(clients):.1f}" y="{height - pad + 16}" text-anchor="middle">{clients}</text>')
    for tick in range(0, int(ymax) + 1, max(10, int(ymax / 5) // 10 * 10)):
        parts.append(f'<text x="{pad - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}</text>')
    for server, key, colour, dashed, label in SERIES:
        series = sorted((r for r in rows if r.get("server", "gevent") == server), key=lambda r: r["clients"])
        if not series:
            continue
        points = " ".join(f"{x(r['clients']):.1f},{y(r[key]):.1f}" for r in series)
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for r in series:
            parts.append(f'<circle cx="{x(r["clients"]):.1f}" cy="{y(r[key]):.1f}" r="3" fill="{colour}"/>')
            if r[key] > ymax:
                parts.append(f'<text x="{x(r["clients"]) - 6:.1f}" y="{y(r[key]) + 14:.1f}" text-anchor="end" fill="{colour}">{r[key]:.0f} ms</text>')
        last = series[-1]
        parts.append(f'<text x="{x(last["clients"]) + 6:.1f}" y="{y(last[key]) + 4:.1f}" fill="{colour}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def redraw(path):
    """Draw the chart again from a saved load.json (no measuring)."""
    rows = json.loads(Path(path).read_text())
    Path(path).with_name("latency.svg").write_text(svg_chart(rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50, 100, 150, 200])
    parser.add_argument("--no-baseline", action="store_true", help="skip the thread-per-client comparison")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--fps", type=float, default=10)
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    rows = [measure(n, args.seconds, args.fps) for n in args.clients]
    if not args.no_baseline:
        rows += [measure(n, args.seconds, args.fps, "gthread") for n in args.clients]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / "latency.svg").write_text(svg_chart(rows))
    print(f"wrote {out / 'load.json'} and {out / 'latency.svg'}")


if __name__ == "__main__":
    main()
