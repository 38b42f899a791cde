import numpy as np

from model.network import SHOWN_LAYERS
from webapp import frames
from webapp.inference import Result


def fake_result(rng):
    layers = {
        "conv1": rng.normal(size=(28, 28, 24)).astype(np.float32),
        "pool2": rng.normal(size=(7, 7, 48)).astype(np.float32),
        "dense1": rng.random(512).astype(np.float32),
        "output": np.full(10, 0.1, np.float32),
    }
    layers["pool2"][:, :, 3] = 2.5  # a constant map must survive (no division by zero)
    layers["output"][7] = 0.2
    return Result(rng.random((28, 28)).astype(np.float32), layers)


def test_round_trip_keeps_every_value_within_half_a_step():
    rng = np.random.default_rng(0)
    result = fake_result(rng)
    names = ("conv1", "pool2", "dense1", "output")
    data = frames.encode(123456, result, names)
    assert len(data) % 4 == 0
    frame = frames.decode(data)
    assert frame["seq"] == 123456 and frame["digit"] == 7
    np.testing.assert_allclose(frame["probabilities"], result.probabilities)
    np.testing.assert_array_equal(frame["image"], result.image)  # exact: the page computes with it
    assert list(frame["layers"]) == list(names)
    for name in names:
        original = result.layers[name]
        layer = frame["layers"][name]
        expected = original.reshape(1, -1, 1) if original.ndim == 1 else original
        assert layer["values"].shape == expected.shape
        step = (expected.max(axis=(0, 1)) - expected.min(axis=(0, 1))) / 255
        assert np.all(np.abs(layer["values"] - expected) <= step / 2 + 1e-5)
        np.testing.assert_allclose(layer["min"], expected.min(axis=(0, 1)))
        np.testing.assert_allclose(layer["max"], expected.max(axis=(0, 1)))
    np.testing.assert_allclose(frame["layers"]["pool2"]["values"][:, :, 3], 2.5)


def test_frame_is_compact_bytes(network):
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = 1
    outputs = network.run(image[None])
    result = Result(image, {k: v[0] for k, v in outputs.items() if k in SHOWN_LAYERS})
    data = frames.encode(1, result, SHOWN_LAYERS)
    maps = sum(v[0].size for k, v in outputs.items() if k in SHOWN_LAYERS)
    # One byte a value plus small per-map headers: far below JSON floats.
    assert maps < len(data) < maps * 1.1 + 4000


def test_empty_frame():
    frame = frames.decode(frames.encode_empty(9))
    assert frame["seq"] == 9 and frame["digit"] == -1 and frame["layers"] == {}
