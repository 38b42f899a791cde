"""Smoke run of bench/paint.py (paint cost in Chromium): it runs and prints its figures.
How fast the page paints is in bench/RESULTS.md, not checked here."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_paint_benchmark_quick(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench.paint", "--quick", "--profile", str(tmp_path / "p")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    # Each rate drawn twice: untraced (what the person drawing sees), then traced (where the time went).
    lines = [line for line in out.stdout.strip().splitlines() if line.startswith("this tree")]
    assert [re.match(r"this tree CPU x(\d+): [\d.]+ painted frames/s", line).group(1) for line in lines] == ["1", "4"], lines
    assert all("result age" in line and "long tasks > 50 ms" in line for line in lines)
    traced = [line for line in out.stdout.splitlines() if line.startswith("  traced, the same again: main thread ")]
    assert len(traced) == 2 and all("own CPU" in line and "long tasks" in line for line in traced), traced
    # The page's paint worker did the decoding, deriving and painting (its trace has it).
    assert all(float(re.search(r" worker [\d.]+ ms \(CPU ([\d.]+)\)", line).group(1)) > 0 for line in traced), traced
    # Issue 11's targets for 1x and 4x, each with its figure and a verdict (bench/targets.py).
    verdicts = re.findall(r"^- (.+): (met|NOT met)$", out.stdout.split("Targets (issue 11")[1], re.M)
    assert [target.split(",")[0] for target, _ in verdicts] == ["unthrottled"] + ["4× throttling"] * 3, verdicts
    # --profile: each rate's V8 profile saved, and the page's own functions among the hottest.
    assert sorted(f.name for f in tmp_path.iterdir()) == ["p-this-tree-x1.cpuprofile", "p-this-tree-x4.cpuprofile"]
    hot = [line for line in out.stdout.splitlines() if " ms self " in line]
    assert any(re.search(r"\b(app|canvas|connection|painter|prediction)\.js:\d+$", line) for line in hot), hot
