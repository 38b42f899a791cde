"""Smoke runs of the benchmarks: a few frames, a few clients, a few seconds.

They check that what comes back is right (same predictions as the reference, every
whole digit answered as the model reads it), not how fast: speed is in bench/RESULTS.md.
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args, timeout=300):
    out = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    return out.stdout.strip().splitlines()


def test_frame_cost_benchmark():
    """Each shipped model: our frame's cost, and the same predictions as Keras'."""
    lines = run("bench.frame_cost", "--frames", "12")
    assert len(lines) == 6, lines
    for ours, theirs, folder in zip(lines[::2], lines[1::2], ("model/mnist_cnn", "mnist-only/mnist_cnn", "deep3x3/mnist_cnn")):
        assert re.fullmatch(rf".*{folder}\.keras: 12 frames, [\d.]+ KB; frame p50 [\d.]+ ms p99 [\d.]+ ms", ours), ours
        assert re.fullmatch(r"  same prediction 12/12; tutorial path .* p50 [\d.]+ ms p99 [\d.]+ ms; speed-up \d+×", theirs), theirs


def test_load_benchmark():
    lines = run("bench.load", "--clients", "4", "--processes", "2", "--seconds", "3", "--fps", "10")
    sent, answered = map(int, re.match(r"sent (\d+), answered (\d+)", lines[0]).groups())
    assert sent >= 4 * 3 * 10 * 0.8 and 0 < answered <= sent
    finished, same = map(int, re.match(r"whole digits answered (\d+), same digit as the model here (\d+)", lines[1]).groups())
    assert finished > 0 and same == finished
    assert re.fullmatch(r"clients 4 fps 10 answered \d+/s rt p50 [\d.]+ ms p99 [\d.]+ ms rss \d+ MB", lines[-1])
