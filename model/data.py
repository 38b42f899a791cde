"""Where training and evaluation data come from: MNIST and pen-drawn digit files."""
import json
import os
from pathlib import Path

import numpy as np

from .preprocess import PreprocessError, strokes_to_input

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_PEN_TRAIN = SHARED_DATA / "pendigits-train.json"
DEFAULT_PEN_TEST = SHARED_DATA / "pendigits-writers1-4.json"


def load_mnist(path=None):
    """(x_train, y_train), (x_test, y_test) as float32 0..1 images and int labels.

    From `path`, else $MNIST_PATH, else the copy in ../shared/data beside the checkout (this
    team's machines have no internet), else Keras' own download (what a user with internet gets).
    """
    path = path or os.environ.get("MNIST_PATH") or (SHARED_DATA / "mnist.npz" if (SHARED_DATA / "mnist.npz").exists() else None)
    if path:
        with np.load(path) as data:
            arrays = [data[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    else:
        import keras  # only the download needs Keras

        (xa, ya), (xb, yb) = keras.datasets.mnist.load_data()
        arrays = [xa, ya, xb, yb]
    x_train, y_train, x_test, y_test = arrays
    return (x_train.astype(np.float32) / 255.0, y_train.astype(np.int64)), (
        x_test.astype(np.float32) / 255.0,
        y_test.astype(np.int64),
    )


def load_pen_samples(path):
    """Pen digit samples: dicts with label, writer and strokes of [x, y] points."""
    with open(path) as handle:
        return json.load(handle)["samples"]


def render_pen_samples(samples, pen_fraction=None):
    """Samples through the app's own preprocessing: (images (n, 28, 28), labels (n,))."""
    kwargs = {} if pen_fraction is None else {"pen_fraction": pen_fraction}
    images = np.stack([strokes_to_input(s["strokes"], **kwargs) for s in samples])
    return images, np.array([s["label"] for s in samples], np.int64)


def augmented_pen_images(samples, copies, seed=0):
    """`copies` random variants of every pen digit, as different people might draw it.

    Variation is applied to the strokes before rasterising (slant, rotation, aspect,
    wobble, pen width), so each variant is still a clean drawing, not a warped bitmap.
    """
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for _ in range(copies):
        for sample in samples:
            strokes = distort_strokes(sample["strokes"], rng)
            try:
                images.append(strokes_to_input(strokes, pen_fraction=rng.uniform(0.08, 0.19)))
            except PreprocessError:
                continue
            labels.append(sample["label"])
    return np.stack(images), np.array(labels, np.int64)


def distort_strokes(strokes, rng):
    points = [np.asarray(s, np.float64) for s in strokes if len(s)]
    allpts = np.concatenate(points)
    centre = (allpts.min(0) + allpts.max(0)) / 2
    extent = max(float(np.ptp(allpts, axis=0).max()), 1.0)
    angle = rng.uniform(-0.2, 0.2)
    shear = rng.uniform(-0.3, 0.3)
    sx, sy = np.exp(rng.uniform(-0.2, 0.2, size=2))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = rotation @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    # Smooth "elastic" wobble: low-frequency sinusoids of the position.
    freq = rng.uniform(0.5, 2.0, size=(2, 2)) * 2 * np.pi / extent
    phase = rng.uniform(0, 2 * np.pi, size=2)
    amp = rng.uniform(0.0, 0.04) * extent
    out = []
    for p in points:
        q = (p - centre) @ matrix.T
        q = q + amp * np.sin(q @ freq.T + phase)
        out.append(q.tolist())
    return out
