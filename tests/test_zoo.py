"""The model zoo (model/zoo/): each shipped model opens through its description, is small,
carries its metrics, and its NumPy forward pass reads real MNIST digits."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from model.data import DEFAULT_PEN_TEST, load_mnist
from model.forward import Forward
from model.network import DEFAULT_MODEL_PATH
from model.parse_layers import describe_file
from model.top_patches import load as load_top_patches

ZOO = Path(__file__).resolve().parent.parent / "model" / "zoo"
SHIPPED = ("mnist-only", "deep3x3")
MAX_BYTES = 6 * 1024 * 1024
PEN = DEFAULT_PEN_TEST.name  # writers 1-4: held out, never trained on


def model_file(name):
    (path,) = [p for p in (ZOO / name / "mnist_cnn.keras", ZOO / name / "model.keras") if p.exists()]
    return path


@pytest.fixture(scope="module")
def digits():
    path = os.environ.get("MNIST_PATH")
    if not path or not os.path.exists(path):
        pytest.skip("no MNIST file")
    (_, _), test = load_mnist(path)
    return test


def test_the_zoo_holds_the_shipped_models():
    assert sorted(p.name for p in ZOO.iterdir() if p.is_dir()) == sorted(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_zoo_model_is_small_and_has_its_files(name):
    folder = ZOO / name
    assert model_file(name).stat().st_size < MAX_BYTES
    for part in ("metrics.json", "top_patches.npz"):
        assert (folder / part).exists()
        assert (folder / part).stat().st_size < MAX_BYTES


@pytest.mark.parametrize("name", SHIPPED)
def test_zoo_metrics_report_mnist_and_held_out_pen_accuracy(name):
    metrics = json.loads((ZOO / name / "metrics.json").read_text())
    assert metrics["mnist_test_accuracy"] > 0.98 and metrics["mnist_test"]["count"] == 10_000
    pen = metrics["pen_accuracy"][PEN]
    assert 0.5 < pen["accuracy"] <= 1 and pen["count"] > 900
    assert PEN != metrics["data"]["pen_train_file"]


def test_mnist_only_model_reads_pen_digits_worse_than_the_default():
    """Why training data matters: the same network without pen data does worse on pen input."""
    pen = {
        name: json.loads(path.read_text())["pen_accuracy"][PEN]["accuracy"]
        for name, path in (("default", DEFAULT_MODEL_PATH.with_name("metrics.json")), ("mnist-only", ZOO / "mnist-only" / "metrics.json"))
    }
    assert json.loads((ZOO / "mnist-only" / "metrics.json").read_text())["data"]["pen_train_digits"] == 0
    assert pen["mnist-only"] < pen["default"]


def test_deep_model_is_smaller_than_the_default_and_shows_relu_as_layers():
    deep, default = describe_file(model_file("deep3x3")), describe_file(DEFAULT_MODEL_PATH)
    assert deep.param_count < default.param_count / 10
    kinds = [layer.kind for layer in deep.layers]
    assert kinds.count("conv") == 4 and kinds.count("batchnorm") == 4
    assert all(layer.name.startswith("relu") for layer in deep.layers if layer.kind == "activation")


@pytest.mark.parametrize("name", SHIPPED)
def test_zoo_model_forward_reads_mnist_digits(name, digits):
    x_test, y_test = digits
    images, labels = x_test[:32], y_test[:32]
    description = describe_file(model_file(name))
    forward = Forward(description)
    probabilities = forward.predict(images)
    assert probabilities.shape == (len(images), 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert (probabilities.argmax(axis=1) == labels).mean() >= 31 / 32
    # Its top patches belong to these weights: each conv channel's strongest value is the forward pass's.
    patches = load_top_patches(ZOO / name / "top_patches.npz")
    conv = [layer.name for layer in description.layers if layer.kind == "conv"]
    assert list(patches) == conv
    for layer in conv:
        parts = patches[layer]
        assert parts["patches"].shape[:2] == (description.layer(layer).shape[-1], 9)
        picks = parts["images"][:, 0]
        maps = forward.run(x_test[picks])[layer]
        for channel, index in enumerate(picks):
            got = maps[channel, parts["rows"][channel, 0], parts["cols"][channel, 0], channel]
            np.testing.assert_allclose(got, parts["values"][channel, 0], rtol=1e-4, atol=1e-5)
