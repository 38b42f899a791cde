"""The training recipe's parts (model/augment.py) and the cross-validation that judges
recipes on writers they never saw (model/crossval.py)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.augment import _change_tail, distort_strokes, pen_variants, warp_images, warp_many
from model.crossval import RECIPES, folds, recipe, report
from model.data import DEFAULT_PEN_TRAIN, load_mnist, load_pen_samples

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mnist_digits():
    (x, y), _ = load_mnist()
    return x[:256], y[:256]


def test_a_warp_of_strength_zero_changes_nothing(mnist_digits):
    images = mnist_digits[0]
    assert np.array_equal(warp_images(images, np.random.default_rng(0), 0.0), images)


def test_warps_move_ink_but_keep_it(mnist_digits):
    images = mnist_digits[0]
    warped = warp_images(images, np.random.default_rng(1), 1.0)
    assert warped.shape == images.shape and warped.dtype == np.float32
    moved = np.abs(warped - images).sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert (moved > 0.05).mean() > 0.9  # nearly every digit changes visibly
    kept = warped.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert 0.85 < np.median(kept) < 1.15 and kept.min() > 0.5  # ...without losing the digit
    assert 0.0 <= warped.min() and warped.max() <= 1.0


def test_warps_do_not_depend_on_threads(mnist_digits):
    images = mnist_digits[0]
    one = warp_many(images, [3, 0], chunk=64, threads=1)
    assert np.array_equal(one, warp_many(images, [3, 0], chunk=64, threads=4))
    assert not np.array_equal(one, warp_many(images, [3, 1], chunk=64, threads=1))  # each epoch its own


def test_stroke_ends_are_trimmed_or_extended_by_the_fraction_asked():
    stroke = np.stack([np.linspace(0, 100, 101), np.zeros(101)], axis=1)
    trimmed = _change_tail(stroke, -0.08)
    assert trimmed[-1, 0] == pytest.approx(92, abs=1.01)
    extended = _change_tail(stroke, 0.05)
    assert extended[-1] == pytest.approx([105, 0]) and len(extended) == 102


def test_rich_variation_moves_strokes_apart():
    four = [[[0, 0], [0, 50], [40, 50]], [[30, 0], [30, 100]]]  # two strokes
    basic = distort_strokes(four, np.random.default_rng(5))
    rich = distort_strokes(four, np.random.default_rng(5), rich=True)
    assert len(basic) == len(rich) == 2 and not np.allclose(basic[1][0], rich[1][0])


def test_pen_variants_are_the_same_however_many_processes_render_them():
    samples = load_pen_samples(DEFAULT_PEN_TRAIN)[::100]
    images, labels, source = pen_variants(samples, 2, seed=4, variation="rich", jobs=1)
    assert len(images) == 3 * len(samples)
    assert np.array_equal(labels, [samples[i]["label"] for i in source])
    again = pen_variants(samples, 2, seed=4, variation="rich", jobs=2)
    assert all(np.array_equal(a, b) for a, b in zip((images, labels, source), again))
    plain, varied = images[: len(samples)], images[len(samples) :]
    assert not np.allclose(plain, varied[: len(samples)])


def test_folds_hold_out_every_writer_once():
    samples = load_pen_samples(DEFAULT_PEN_TRAIN)
    groups = folds(samples)
    writers = [w for group in groups for w in group]
    assert len(groups) == 6 and sorted(writers) == sorted({s["writer"] for s in samples}) and len(set(writers)) == 30


def test_recipes_are_full_settings():
    assert recipe("round 1").stroke_variation == "basic" and recipe("+ rich strokes").stroke_variation == "rich"
    assert recipe("+ MNIST warps").label_smoothing == 0.1  # a ladder keeps the steps before
    assert all(recipe(name).architecture == "tutorial" for name in RECIPES)


def test_crossval_command_trains_a_fold_and_reports(tmp_path):
    """A tiny real run: one fold of one recipe, then the report of it."""
    results = tmp_path / "cv.jsonl"
    command = [sys.executable, "-m", "model.crossval", "--recipe", "round 1", "--fold", "2", "--limit", "600",
               "--epochs", "1", "--jobs", "2", "--results", str(results)]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    row = json.loads(results.read_text())
    assert row["recipe"] == "round 1" and row["writers"] == [11, 12, 13, 14, 15]
    assert set(row["per_writer"]) == {"11", "12", "13", "14", "15"}
    assert row["count"] == sum(n for _, n in row["per_writer"].values()) == np.sum(row["confusion"])
    assert 0.3 < row["correct"] / row["count"] <= 1.0 and 0.3 < row["mnist_test_accuracy"] <= 1.0
    out = subprocess.run([sys.executable, "-m", "model.crossval", "--report", str(results)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| round 1 | " in out.stdout and "1 folds" in out.stdout


def test_the_report_pools_folds():
    def row(fold, correct, confusion_errors):
        confusion = np.diag([10] * 10)
        confusion[9, 3] = confusion_errors
        return {"recipe": "r", "settings": {}, "fold": fold, "writers": [fold], "correct": correct, "count": 100,
                "per_writer": {str(fold): [correct, 100]}, "confusion": confusion.tolist(),
                "mnist_test_accuracy": 0.99, "seconds": 1, "trained_on": "cpu"}

    summary = report([row(0, 98, 2), row(1, 100, 0)])["r"]
    assert summary["held_out_accuracy"]["mean"] == 0.99 and summary["held_out_accuracy"]["per_fold"] == [0.98, 1.0]
    assert summary["per_writer"] == {"0": 0.98, "1": 1.0}
    assert summary["confusions"] == ["9→3 ×2"]
