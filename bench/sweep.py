"""Round-trip latency against number of clients: runs bench.load at each count and
writes the figures as JSON and a chart as SVG (no plotting library needed).

    python -m bench.sweep [--clients 1 10 50 100 200] [--seconds 20]
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


def measure(clients, seconds, fps):
    processes = max(1, min(8, clients // 25 + 1))
    command = [sys.executable, "-m", "bench.load", "--clients", str(clients), "--seconds", str(seconds),
               "--fps", str(fps), "--processes", str(processes)]
    out = subprocess.run(command, cwd=HERE.parent, capture_output=True, text=True, check=True).stdout
    print(out.strip(), flush=True)
    lines = out.strip().splitlines()
    n, fps_, answered, p50, p99, rss = LAST_LINE.fullmatch(lines[-1]).groups()
    cpu = float(re.search(r"server CPU ([\d.]+) cores", out).group(1))
    coalesced = float(re.search(r"coalesced \d+ \(([\d.]+)%\)", out).group(1))
    return {"clients": int(n), "answered_per_s": int(answered), "rt_p50_ms": float(p50), "rt_p99_ms": float(p99),
            "rss_mb": int(rss), "server_cpu_cores": cpu, "coalesced_percent": coalesced}


def svg_chart(rows, width=640, height=360, pad=56):
    """A line chart of p50 and p99 round trip (ms) against clients."""
    xmax = max(r["clients"] for r in rows)
    ymax = max(50.0, max(r["rt_p99_ms"] for r in rows)) * 1.1
    x = lambda v: pad + (width - 2 * pad) * v / xmax  # noqa: E731
    y = lambda v: height - pad - (height - 2 * pad) * v / ymax  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="{y(50):.1f}" x2="{width - pad}" y2="{y(50):.1f}" stroke="#c00" stroke-dasharray="4 4"/>',
             f'<text x="{width - pad}" y="{y(50) - 4:.1f}" text-anchor="end" fill="#c00">p99 target 50 ms</text>',
             f'<text x="{width / 2}" y="{height - 16}" text-anchor="middle">clients drawing at 10 frames/s</text>',
             f'<text x="16" y="{height / 2}" transform="rotate(-90 16 {height / 2})" text-anchor="middle">round trip (ms)</text>']
    for r in rows:
        parts.append(f'<text x="{x(r["clients"]):.1f}" y="{height - pad + 16}" text-anchor="middle">{r["clients"]}</text>')
    for tick in range(0, int(ymax) + 1, max(10, int(ymax / 5) // 10 * 10)):
        parts.append(f'<text x="{pad - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}</text>')
    for key, colour, label in (("rt_p50_ms", "#0072b2", "p50"), ("rt_p99_ms", "#e69f00", "p99")):
        points = " ".join(f"{x(r['clients']):.1f},{y(r[key]):.1f}" for r in rows)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{x(r["clients"]):.1f}" cy="{y(r[key]):.1f}" r="3" fill="{colour}"/>' for r in rows]
        last = rows[-1]
        parts.append(f'<text x="{x(last["clients"]) + 6:.1f}" y="{y(last[key]) + 4:.1f}" fill="{colour}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50, 100, 200])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--fps", type=float, default=10)
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    rows = [measure(n, args.seconds, args.fps) for n in args.clients]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / "latency.svg").write_text(svg_chart(rows))
    print(f"wrote {out / 'load.json'} and {out / 'latency.svg'}")


if __name__ == "__main__":
    main()
