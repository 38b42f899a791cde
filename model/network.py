"""The trained network as plain NumPy: every layer's output for a batch in one call.

TensorFlow trains the model and stays the reference (tests hold this to it layer by
layer); serving frames needs neither a graph nor a session, only a few matrix products.
"""
from pathlib import Path

import numpy as np

from .architecture import DENSE_LAYERS, FEATURE_LAYERS

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "mnist_cnn.keras"
SHOWN_LAYERS = FEATURE_LAYERS + DENSE_LAYERS


class Network:
    def __init__(self, weights):
        """`weights`: layer name → (kernel, bias), as Keras stores them."""
        w = {k: (np.asarray(k_, np.float32), np.asarray(b, np.float32)) for k, (k_, b) in weights.items()}
        self.weights = w
        # Maps are computed channel-first, (n, c, h, w): each map is contiguous, which is
        # what the frame encoder reads. Kernels become (out, taps * in) matrices.
        self._conv = {name: (k.reshape(-1, k.shape[-1]).T.copy(), b[:, None]) for name, (k, b) in w.items() if k.ndim == 4}
        # Keras flattens pool2 as (h, w, c); reorder dense1's rows once to take (c, h, w).
        k1, b1 = w["dense1"]
        rows = np.arange(k1.shape[0]).reshape(7, 7, 48).transpose(2, 0, 1).ravel()
        self._dense = {"dense1": (k1[rows], b1), "dense2": w["dense2"], "output": w["output"]}
        # Where each shown layer lives in an image's row of the output buffer, channel-first.
        shapes = {"conv1": (24, 28, 28), "relu1": (24, 28, 28), "pool1": (24, 14, 14), "conv2": (48, 14, 14),
                  "relu2": (48, 14, 14), "pool2": (48, 7, 7), "dense1": (512,), "dense2": (128,), "output": (10,)}
        self._slots, self._total = {}, 0
        for name in SHOWN_LAYERS:
            size = int(np.prod(shapes[name]))
            self._slots[name] = (self._total, self._total + size, shapes[name])
            self._total += size

    @classmethod
    def from_keras(cls, model):
        names = ("conv1", "conv2", "dense1", "dense2", "output")
        return cls({name: model.get_layer(name).get_weights() for name in names})

    @classmethod
    def load(cls, path=DEFAULT_MODEL_PATH):
        return cls.from_keras(load_keras(path))

    def run(self, images: np.ndarray) -> dict:
        """images (n, 28, 28) in 0..1 → {layer name: activations}.

        Maps come as (n, h, w, c) like Keras'. Under "all", each image's row holds every
        shown layer channel-first, in SHOWN_LAYERS order (what a frame carries): every layer
        is computed straight into it, and the maps are views of it.
        """
        x = np.asarray(images, np.float32)[:, None]
        n = len(x)
        flat = np.empty((n, self._total), np.float32)
        v = {name: flat[:, start:stop].reshape((n, *shape)) for name, (start, stop, shape) in self._slots.items()}
        self._conv2x2(x, "conv1", v["conv1"])
        np.maximum(v["conv1"], 0, out=v["relu1"])
        _maxpool2x2(v["relu1"], v["pool1"])
        self._conv2x2(v["pool1"], "conv2", v["conv2"])
        np.maximum(v["conv2"], 0, out=v["relu2"])
        _maxpool2x2(v["relu2"], v["pool2"])
        self._fully_connected(v["pool2"].reshape(n, -1), "dense1", v["dense1"])
        self._fully_connected(v["dense1"], "dense2", v["dense2"])
        self._fully_connected(v["dense2"], "output", v["output"], relu=False)
        _softmax(v["output"])
        out = {name: maps.transpose(0, 2, 3, 1) if maps.ndim == 4 else maps for name, maps in v.items()}
        out["all"] = flat
        return out

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.run(images)["output"]

    def _conv2x2(self, x, name, out):
        # Keras' "same" padding for an even kernel pads only at the bottom and right.
        kernel, bias = self._conv[name]
        n, c, h, w = x.shape
        padded = np.zeros((n, c, h + 1, w + 1), np.float32)
        padded[:, :, :h, :w] = x
        # Patches as (n, taps * channels, h * w), taps in the kernel's (dy, dx) order.
        patches = np.concatenate([padded[:, :, dy : dy + h, dx : dx + w] for dy in (0, 1) for dx in (0, 1)], axis=1)
        result = out.reshape(n, -1, h * w)
        np.matmul(kernel, patches.reshape(n, 4 * c, h * w), out=result)
        result += bias

    def _fully_connected(self, x, name, out, relu=True):
        kernel, bias = self._dense[name]
        np.matmul(x, kernel, out=out)
        out += bias
        if relu:
            np.maximum(out, 0, out=out)


def load_keras(path=DEFAULT_MODEL_PATH):
    import keras  # loading only: the forward pass never touches Keras

    return keras.saving.load_model(path, compile=False)


def _maxpool2x2(x, out):
    # Element-wise maxima of the four strided views: a reduction over size-2 axes is far slower.
    np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2], out=out)
    np.maximum(out, x[:, :, 1::2, 0::2], out=out)
    np.maximum(out, x[:, :, 1::2, 1::2], out=out)


def _softmax(logits):
    """In place: the output layer's own slot becomes its probabilities."""
    logits -= logits.max(axis=-1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=-1, keepdims=True)
