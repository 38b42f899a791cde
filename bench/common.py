"""Shared by the benchmarks: drawing states of real pen digits, and percentiles."""
import numpy as np

from model.data import DEFAULT_PEN_TRAIN, load_pen_samples


def drawing_states(count, path=DEFAULT_PEN_TRAIN, steps=4, canvas=400):
    """`count` drawing states as a pen produces them: each digit at 1/steps, 2/steps, ...
    of its points, in canvas pixels (the digit filling ~70% of the canvas)."""
    samples = load_pen_samples(path)
    states = []
    for sample in samples:
        strokes = fit(sample["strokes"], canvas)
        total = sum(len(s) for s in strokes)
        for step in range(1, steps + 1):
            states.append((sample["label"], prefix(strokes, max(1, total * step // steps))))
            if len(states) == count:
                return states
    return states


def fit(strokes, canvas, fill=0.7):
    points = np.concatenate([np.asarray(s, float) for s in strokes])
    low, high = points.min(0), points.max(0)
    scale = fill * canvas / max((high - low).max(), 1e-9)
    offset = (canvas - (high - low) * scale) / 2
    return [((np.asarray(s, float) - low) * scale + offset).round(1).tolist() for s in strokes]


def prefix(strokes, points):
    """The drawing after its first `points` points: what the server sees mid-stroke."""
    out = []
    for stroke in strokes:
        if points <= 0:
            break
        out.append(stroke[:points])
        points -= len(stroke)
    return out


def percentiles(seconds):
    ms = np.asarray(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))
