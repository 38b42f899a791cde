"""Smoke run of bench/paint.py (paint cost in Chromium): it runs and prints its figures.
How fast the page paints is in bench/RESULTS.md, not checked here."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_paint_benchmark_quick():
    out = subprocess.run([sys.executable, "-m", "bench.paint", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert [re.match(r"this tree CPU x(\d+): main thread ", line).group(1) for line in lines] == ["1", "4"], lines
    assert all("painted frames/s while drawing, result age" in line and "long tasks > 50 ms" in line for line in lines)
    # The page's paint worker did the decoding, deriving and painting (its trace has it).
    assert all(float(re.search(r" worker [\d.]+ ms \(CPU ([\d.]+)\)", line).group(1)) > 0 for line in lines), lines
