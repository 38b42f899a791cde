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
        self.weights = {k: (np.asarray(w, np.float32), np.asarray(b, np.float32)) for k, (w, b) in weights.items()}
        # Conv kernels as (taps * in_channels, out_channels) matrices, in patch order.
        self._conv = {k: (w.reshape(-1, w.shape[-1]), b) for k, (w, b) in self.weights.items() if w.ndim == 4}

    @classmethod
    def from_keras(cls, model):
        names = ("conv1", "conv2", "dense1", "dense2", "output")
        return cls({name: model.get_layer(name).get_weights() for name in names})

    @classmethod
    def load(cls, path=DEFAULT_MODEL_PATH):
        import keras  # loading only: the forward pass never touches Keras

        return cls.from_keras(keras.saving.load_model(path, compile=False))

    def run(self, images: np.ndarray) -> dict:
        """images (n, 28, 28) in 0..1 → {layer name: activations}, maps as (n, h, w, c)."""
        x = np.asarray(images, np.float32)[..., None]
        out = {}
        out["conv1"] = self._conv2x2(x, "conv1")
        out["relu1"] = np.maximum(out["conv1"], 0)
        out["pool1"] = _maxpool2x2(out["relu1"])
        out["conv2"] = self._conv2x2(out["pool1"], "conv2")
        out["relu2"] = np.maximum(out["conv2"], 0)
        out["pool2"] = _maxpool2x2(out["relu2"])
        flat = out["pool2"].reshape(len(x), -1)  # same (h, w, c) order as Keras' Flatten
        out["dense1"] = self._dense(flat, "dense1")
        out["dense2"] = self._dense(out["dense1"], "dense2")
        out["output"] = _softmax(self._dense(out["dense2"], "output", relu=False))
        return out

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.run(images)["output"]

    def _conv2x2(self, x, name):
        # Keras' "same" padding for an even kernel pads only at the bottom and right.
        kernel, bias = self._conv[name]
        n, h, w, c = x.shape
        padded = np.zeros((n, h + 1, w + 1, c), np.float32)
        padded[:, :h, :w] = x
        patches = np.concatenate(
            [padded[:, dy : dy + h, dx : dx + w] for dy in (0, 1) for dx in (0, 1)], axis=-1
        )
        return (patches.reshape(-1, 4 * c) @ kernel + bias).reshape(n, h, w, -1)

    def _dense(self, x, name, relu=True):
        kernel, bias = self.weights[name]
        y = x @ kernel + bias
        return np.maximum(y, 0) if relu else y


def _maxpool2x2(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
