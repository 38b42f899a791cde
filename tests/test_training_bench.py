"""Smoke run of bench/training_load.py: a few clients, a few seconds, a tiny job. It checks
that every line comes back with its figures (the figures themselves: a quiet machine)."""
import re

from tests.test_bench import run


def test_training_load_benchmark():
    lines = run("bench.training_load", "--quick", timeout=900)  # two TensorFlow starts: minutes on a busy machine
    assert re.fullmatch(r"job alone: done in [\d.]+ s of training, [\d.]+ steps/s", lines[0]), lines
    assert re.fullmatch(r"clients alone: sent \d+, answered [1-9]\d*, round trip p50 [\d.]+ ms, p99 [\d.]+ ms", lines[1]), lines
    assert re.fullmatch(r"clients while the job trains \(3 clients\): sent \d+, answered [1-9]\d*, round trip p50 [\d.]+ ms, p99 [\d.]+ ms", lines[2]), lines
    assert re.fullmatch(r"job while they draw: [\d.]+ steps/s \(alone [\d.]+\)", lines[3]), lines
    assert re.fullmatch(r"p99 [\d.]+ ms without the job, [\d.]+ ms with it \(target: at most 100 ms\)", lines[-1]), lines
