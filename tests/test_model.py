import json
import os
import subprocess
import sys

import numpy as np
import pytest

from model.architecture import build_model
from model.data import load_mnist
from model.evaluate import evaluate_mnist, evaluate_pen
from model.network import DEFAULT_MODEL_PATH, SHOWN_LAYERS

LAYER_NAMES = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "dense1", "dropout1", "dense2", "dropout2", "output")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist()[1]


def test_architecture_is_the_tutorials():
    model = build_model()
    assert model.count_params() == 1_276_466
    assert [layer.name for layer in model.layers] == list(LAYER_NAMES)
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}
    assert shapes["conv1"] == shapes["relu1"] == (28, 28, 24)
    assert shapes["pool1"] == (14, 14, 24)
    assert shapes["conv2"] == shapes["relu2"] == (14, 14, 48)
    assert shapes["pool2"] == (7, 7, 48)
    assert shapes["dense1"] == (512,) and shapes["dense2"] == (128,) and shapes["output"] == (10,)


def saved_variables(path):
    """Names of every variable group stored in a .keras file."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            names = []
            weights.visit(names.append)
    return names


def test_shipped_model_is_weights_only_and_small():
    size = DEFAULT_MODEL_PATH.stat().st_size
    assert 4_000_000 < size < 6_000_000  # 1.28M float32 weights
    names = saved_variables(DEFAULT_MODEL_PATH)
    assert any(name.startswith("layers/") for name in names)
    assert not any("optimizer" in name for name in names)


def test_shipped_model_reaches_tutorial_accuracy_on_mnist(network, mnist_test):
    accuracy = evaluate_mnist(network, *mnist_test)["mnist_test_accuracy"]
    assert accuracy >= 0.9915, accuracy


def test_shipped_model_reads_unseen_writers(network, pen_test_samples):
    report = evaluate_pen(network, pen_test_samples)
    assert report["count"] == 999
    assert report["accuracy"] >= 0.995, report["accuracy"]


def test_numpy_network_matches_tensorflow_on_every_layer(network, mnist_test):
    """Served frames come from NumPy; TensorFlow is the reference, on every fourth test image
    (2,500: the whole set took a minute of the suite and found nothing more)."""
    import keras

    model = keras.saving.load_model(DEFAULT_MODEL_PATH, compile=False)
    probe = keras.Model(model.inputs, [model.get_layer(name).output for name in SHOWN_LAYERS])
    images = mnist_test[0][::4]
    for start in range(0, len(images), 2000):
        batch = images[start : start + 2000]
        reference = probe(batch[..., None], training=False)
        ours = network.run(batch)
        for name, expected in zip(SHOWN_LAYERS, reference):
            np.testing.assert_allclose(ours[name], np.asarray(expected), rtol=1e-5, atol=1e-5, err_msg=name)


def test_evaluate_command_prints_json(tmp_path):
    pen = tmp_path / "pen.json"
    with open(os.path.join(ROOT, "..", "shared", "data", "pendigits-writers1-4.json")) as f:
        data = json.load(f)
    data["samples"] = data["samples"][:50]
    pen.write_text(json.dumps(data))
    out = subprocess.run(
        [sys.executable, "-m", "model.evaluate", "--pen", str(pen)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["mnist_test_accuracy"] >= 0.9915
    report = result["pen_accuracy"][str(pen)]
    assert report["count"] == 50 and set(report["per_writer"]) <= {"1", "2", "3", "4"}
    assert set(report["per_digit"]) == {str(d) for d in range(10)}
    # The recipe's cross-validation on unseen training writers, as stored from its results.
    crossval = result["crossval"]
    assert crossval["folds"] == 6 and crossval["held_out_accuracy"]["mean"] >= 0.99
    assert len(crossval["per_writer"]) == 30 and crossval["mnist_test_accuracy"]["mean"] >= 0.9915
    from model.crossval import report as crossval_report

    rows = [json.loads(line) for path in crossval["results"] for line in open(os.path.join(ROOT, path))]
    assert crossval_report(rows)[crossval["recipe"]]["held_out_accuracy"] == crossval["held_out_accuracy"]


def test_training_command_runs_end_to_end(tmp_path):
    """A tiny run of the real script: it trains, saves weights only and writes metrics."""
    output = tmp_path / "tiny.keras"
    out = subprocess.run(
        [sys.executable, "-m", "model.train", "--epochs", "1", "--limit", "600", "--pen-copies", "1", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["data"]["mnist_train"] == 600
    assert 0.1 < metrics["mnist_test_accuracy"] <= 1.0
    assert len(metrics["mnist_test"]["confusion"]) == 10
    assert "tensorflow" in metrics["versions"]
    assert not any("optimizer" in name for name in saved_variables(output))
    from model.top_patches import load

    assert load(tmp_path / "top_patches.npz")["conv2"]["patches"].shape == (48, 9, 5, 5)


def test_architecture_summary_for_the_page():
    from model.parse_layers import describe_file
    from webapp.network_data import architecture

    layers = architecture(describe_file(DEFAULT_MODEL_PATH))
    assert [layer["name"] for layer in layers] == list(LAYER_NAMES)
    assert sum(layer["param_count"] for layer in layers) == 1_276_466
    assert {layer["name"]: layer["param_count"] for layer in layers if layer["param_count"]} == {
        "conv1": 120, "conv2": 4_656, "dense1": 1_204_736, "dense2": 65_664, "output": 1_290,
    }
    assert all(len(layer["explanation"]) > 40 for layer in layers)


def test_top_patches_on_a_sample(network, mnist_test):
    from model.fields import receptive_field
    from model.top_patches import top_patches

    images = mnist_test[0][:300]
    result = top_patches(network, images)
    outputs = network.run(images)
    for name, size, channels in (("conv1", 2, 24), ("conv2", 5, 48)):
        parts = result[name]
        assert parts["patches"].shape == (channels, 9, size, size)
        assert np.all(np.diff(parts["values"], axis=1) <= 0)  # strongest first
        for channel in (0, channels - 1):
            assert len(set(parts["images"][channel])) == 9  # nine different images
            for k in range(9):
                index, row, col = parts["images"][channel, k], parts["rows"][channel, k], parts["cols"][channel, k]
                value = outputs[name][index, row, col, channel]
                assert value == parts["values"][channel, k] == outputs[name][index, ..., channel].max()
                top, left, bottom, right = receptive_field(network.description, name, row, col)
                crop = images[index, top : bottom + 1, left : right + 1]
                np.testing.assert_array_equal(parts["patches"][channel, k, : crop.shape[0], : crop.shape[1]], crop)
        # No image outside the nine excites channel 0 more than the ninth does.
        strongest = outputs[name][..., 0].reshape(len(images), -1).max(axis=1)
        assert np.sort(strongest)[-9] == parts["values"][0, -1]


def test_shipped_top_patches_match_the_shipped_model(network, mnist_test):
    from model.top_patches import load

    shipped = load()
    for name in ("conv1", "conv2"):
        parts = shipped[name]
        picks = parts["images"][:, 0]  # each channel's strongest image
        outputs = network.run(mnist_test[0][picks])[name]
        for channel, index in enumerate(picks):
            got = outputs[channel, parts["rows"][channel, 0], parts["cols"][channel, 0], channel]
            np.testing.assert_allclose(got, parts["values"][channel, 0], rtol=1e-5)


def test_the_summary_needs_no_keras():
    """The page's layer table is read from the file: a first page view on a fresh server
    waited 30-40 s for TensorFlow's import on a busy machine, past gunicorn's timeout."""
    code = ("import sys; from model.parse_layers import describe_file; from model.network import DEFAULT_MODEL_PATH; "
            "from webapp.network_data import network_json; network_json(describe_file(DEFAULT_MODEL_PATH)); "
            "print('keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.split() == ["False", "False"]
