"""Smoke run of bench/classroom_net.py (issue 11): the classroom's network emulated in a
network namespace of its own, in its quick mode. It checks that every scenario ran and
printed its figures, not how fast: the figures are in bench/RESULTS.md."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.namespace import netns_problem

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def namespaces():
    problem = netns_problem()
    if problem:
        pytest.skip(f"bench.classroom_net cannot shape a link here: {problem}")


def test_quick_classroom_network_benchmark(namespaces):
    out = subprocess.run([sys.executable, "-m", "bench.classroom_net", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    students = re.search(r"students 4 link 20mbit pen-up→final p50 ([\d.]+) ms p99 ([\d.]+|inf) ms .* digits (\d+) lost (\d+)", text)
    assert students, text
    assert int(students.group(3)) > 0
    follows = re.findall(r"follow link (\w+) students (\d) slow (\d) first p99 \S+ ms last p99 \S+ ms all p50 ([\d.]+) ms "
                         r"p99 \S+ ms server→students ([\d.]+) Mbit/s", text)
    assert [(link, n, slow) for link, n, slow, _, _ in follows] == [("20mbit", "4", "0"), ("20mbit", "4", "1"), ("2mbit", "1", "0")]
    assert all(float(mbit) > 0 for *_, mbit in follows)
    lan = re.search(r"lan states ([\d.]+)/s frames ([\d.]+)/s ([\d.]+) Mbit/s while drawing", text)
    assert lan and float(lan.group(2)) > 0, text
    for heading in ("### 1.", "### 2.", "### 3."):
        assert heading in text
    # Issue 11's targets, one line each, with the run's figure and a verdict (bench/targets.py).
    verdicts = re.findall(r"^- (.+): (met|NOT met)$", text.split("Targets (issue 11, this run):")[1], re.M)
    assert len(verdicts) == 7, text
    # The namespace went with the run.
    name = re.search(r"network namespace (cnnbench-\d+) removed", out.stderr).group(1)
    assert name not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
