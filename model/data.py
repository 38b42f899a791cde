"""Where training and evaluation data come from: MNIST and pen-drawn digit files."""
import json
import os
from pathlib import Path

import numpy as np

from .preprocess import strokes_to_input

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
