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

    @classmethod
    def from_keras(cls, model):
        names = ("conv1", "conv2", "dense1", "dense2", "output")
        return cls({name: model.get_layer(name).get_weights() for name in names})

    @classmethod
    def load(cls, path=DEFAULT_MODEL_PATH):
        import keras  # loading only: the forward pass never touches Keras

        return cls.from_keras(keras.saving.load_model(path, compile=False))

    def run(self, images: np.ndarray) -> dict:
        """images (n, 28, 28) in 0..1 → {layer name: activations}.

        Maps come as (n, h, w, c) like Keras', as views of channel-first arrays.
        """
        x = np.asarray(images, np.float32)[:, None]
        chw = {}
        chw["conv1"] = self._conv2x2(x, "conv1")
        chw["relu1"] = np.maximum(chw["conv1"], 0)
        chw["pool1"] = _maxpool2x2(chw["relu1"])
        chw["conv2"] = self._conv2x2(chw["pool1"], "conv2")
        chw["relu2"] = np.maximum(chw["conv2"], 0)
        chw["pool2"] = _maxpool2x2(chw["relu2"])
        out = {name: maps.transpose(0, 2, 3, 1) for name, maps in chw.items()}
        out["dense1"] = self._fully_connected(chw["pool2"].reshape(len(x), -1), "dense1")
        out["dense2"] = self._fully_connected(out["dense1"], "dense2")
        out["output"] = _softmax(self._fully_connected(out["dense2"], "output", relu=False))
        return out

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.run(images)["output"]

    def _conv2x2(self, x, name):
        # Keras' "same" padding for an even kernel pads only at the bottom and right.
        kernel, bias = self._conv[name]
        n, c, h, w = x.shape
        padded = np.zeros((n, c, h + 1, w + 1), np.float32)
        padded[:, :, :h, :w] = x
        # Patches as (n, taps * channels, h * w), taps in the kernel's (dy, dx) order.
        patches = np.concatenate([padded[:, :, dy : dy + h, dx : dx + w] for dy in (0, 1) for dx in (0, 1)], axis=1)
        return (kernel @ patches.reshape(n, 4 * c, h * w) + bias).reshape(n, -1, h, w)

    def _fully_connected(self, x, name, relu=True):
        kernel, bias = self._dense[name]
        y = x @ kernel + bias
        return np.maximum(y, 0) if relu else y


def _maxpool2x2(x):
    # Element-wise maxima of the four strided views: a reduction over size-2 axes is far slower.
    top = np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2])
    return np.maximum(top, np.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]), out=top)


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
