import numpy as np
import pytest

from bench.common import fit, prefix
from model.forward import Forward
from model.network import DEFAULT_MODEL_PATH, SHOWN_LAYERS
from model.parse_layers import describe_file
from model.preprocess import strokes_to_input
from webapp import frame_decode, frames
from webapp.models import SHIPPED
from webapp.service import InferenceService, Result

HOW = {"conv1": frames.CONV, "relu1": frames.RELU, "pool1": frames.MAXPOOL, "conv2": frames.CONV, "relu2": frames.RELU,
       "pool2": frames.MAXPOOL, "dense1": frames.SENT, "dense2": frames.SENT, "output": frames.SENT}
# deep3x3 (conv → batchnorm → ReLU, twice per block): every map worked out on the page,
# each batchnorm from the conv before it, which is worked out from the exact input.
DEEP_HOW = {"conv1a": frames.CONV, "bn1a": frames.BATCHNORM, "relu1a": frames.RELU, "conv1b": frames.CONV,
            "bn1b": frames.BATCHNORM, "relu1b": frames.RELU, "pool1": frames.MAXPOOL, "conv2a": frames.CONV,
            "bn2a": frames.BATCHNORM, "relu2a": frames.RELU, "conv2b": frames.CONV, "bn2b": frames.BATCHNORM,
            "relu2b": frames.RELU, "pool2": frames.MAXPOOL, "dense1": frames.SENT, "output": frames.SENT}
# A derived layer computed from a sent (rounded) layer, and that layer: the tolerance below
# depends on it. None today: every map is worked out from the exact input.
SENT_ROOT = {}


def fake_result(rng):
    layers = {
        "conv1": rng.normal(size=(28, 28, 24)).astype(np.float32),
        "pool2": rng.normal(size=(7, 7, 48)).astype(np.float32),
        "dense1": rng.random(512).astype(np.float32),
        "output": np.full(10, 0.1, np.float32),
    }
    layers["pool2"][:, :, 3] = 2.5  # a constant map must survive (no division by zero)
    layers["output"][7] = 0.2
    return Result(rng.random((28, 28)).astype(np.float32), layers, names=tuple(layers))


def test_sent_layers_round_trip_within_half_a_step():
    rng = np.random.default_rng(0)
    result = fake_result(rng)
    names = ("conv1", "pool2", "dense1", "output")
    data = frames.encode(123456, result, names, steps=())  # no rules: every layer is sent
    assert len(data) % 4 == 0
    frame = frame_decode.decode(data)
    assert frame["seq"] == 123456 and frame["digit"] == 7
    np.testing.assert_allclose(frame["probabilities"], result.probabilities)
    np.testing.assert_array_equal(frame["image"], result.image)  # exact: the page computes with it
    assert list(frame["layers"]) == list(names)
    for name in names:
        original = result.layers[name]
        layer = frame["layers"][name]
        assert layer["how"] == frames.SENT
        expected = original.reshape(1, -1, 1) if original.ndim == 1 else original
        assert layer["values"].shape == expected.shape
        step = (expected.max(axis=(0, 1)) - expected.min(axis=(0, 1))) / 255
        assert np.all(np.abs(layer["values"] - expected) <= step / 2 + 1e-5)
        np.testing.assert_allclose(layer["min"], expected.min(axis=(0, 1)))
        np.testing.assert_allclose(layer["max"], expected.max(axis=(0, 1)))
    np.testing.assert_allclose(frame["layers"]["pool2"]["values"][:, :, 3], 2.5)


def pen_images(samples, count=8):
    """Real pen digits, whole and two thirds drawn (as a pen leaves them mid-stroke)."""
    images = []
    for sample in samples[:: len(samples) // count][:count]:
        strokes = fit(sample["strokes"], 400)
        total = sum(len(s) for s in strokes)
        images += [strokes_to_input(strokes), strokes_to_input(prefix(strokes, 2 * total // 3))]
    return images


def tolerance(name, truth):
    """How far each map's shown values may be from the network's float values.

    Rounding a map to 0..255 over its own min..max moves a value by at most half a step,
    (max - min) / 255 / 2. conv1 and conv2 are computed from the exact input with the exact
    weights, relu and pool layers from their source's floats: only their own rounding
    counts. A layer derived from a sent layer (SENT_ROOT) starts within half a step of that
    map (ReLU and max pooling move no value further from the truth than their inputs were),
    then is rounded over its own range: half a step of the source's map plus its own.
    1e-5: float32 (the server's sums) against float64 (the page's), values of a few units.
    The steps are the true maps' ranges, not the frame's, so the frame cannot widen them."""
    def half_step(values):
        return (values.max(axis=(0, 1)) - values.min(axis=(0, 1))) / 255 / 2

    bound = half_step(truth[name]) + 1e-5
    if name in SENT_ROOT:
        bound = bound + half_step(truth[SENT_ROOT[name]])
    return bound


@pytest.fixture(scope="module")
def pen_frames(network, pen_test_samples):
    service = InferenceService(network.description)
    out = []
    for image in pen_images(pen_test_samples):
        result = service.run(image)
        data = frames.encode(7, result, SHOWN_LAYERS)
        out.append((result, data, frame_decode.decode(data, network)))
    return out


def assert_within_tolerance(frame, truth):
    """Every decoded layer of `frame` equals `truth` (name → maps) within its tolerance."""
    for name, layer in frame["layers"].items():
        bound = tolerance(name, truth)
        error = np.abs(layer["values"] - truth[name]).max(axis=(0, 1))
        assert np.all(error <= bound), (name, (error / bound).max())
        # min and max are the true ones, as far as the source's rounding lets them be
        assert np.all(np.abs(layer["min"] - truth[name].min(axis=(0, 1))) <= bound), name
        assert np.all(np.abs(layer["max"] - truth[name].max(axis=(0, 1))) <= bound), name
        # the format's own statement of its precision holds too
        assert np.all(error <= layer["error_bound"] + 1e-5), name


def test_every_layer_of_real_digits_is_the_networks_within_its_tolerance(pen_frames):
    for result, data, frame in pen_frames:
        assert len(data) % 4 == 0
        np.testing.assert_array_equal(frame["image"], result.image)
        assert {name: layer["how"] for name, layer in frame["layers"].items()} == HOW
        truth = {name: result.layers[name].reshape(frame["layers"][name]["shape"]) for name in SHOWN_LAYERS}
        assert_within_tolerance(frame, truth)
        # ReLU left no negative value, and pooling kept each window's largest
        assert frame["layers"]["relu1"]["values"].min() >= 0 and frame["layers"]["relu2"]["values"].min() >= 0


def test_derived_layers_are_rounded_like_sent_ones(pen_frames):
    """The page's rounding of a derived map is the encoder's: done on the network's own
    float values, the encoder would give the same bytes except where a value lies within
    float error of a rounding boundary."""
    for result, _, frame in pen_frames:
        sent_everything = frame_decode.decode(frames.encode(7, result, SHOWN_LAYERS, steps=()))
        for name in ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2"):
            ours, theirs = frame["layers"][name], sent_everything["layers"][name]
            differ = np.abs(ours["bytes"].astype(int) - theirs["bytes"].astype(int))
            assert differ.max() <= 1 and (differ > 0).mean() < 0.001, name


def test_tolerance_is_tight_enough_to_catch_a_wrong_derivation(pen_frames):
    """Without ReLU, relu1 would be conv1: the comparison must see that."""
    result, data, frame = pen_frames[0]
    truth = {name: result.layers[name].reshape(frame["layers"][name]["shape"]) for name in SHOWN_LAYERS}
    conv1 = frame["layers"]["conv1"]
    assert np.any(np.abs(conv1["values"] - truth["relu1"]) > tolerance("relu1", truth))


def test_a_frame_of_a_real_digit_is_small(pen_frames):
    for result, data, frame in pen_frames:
        sent = [layer for layer in frame["layers"].values() if layer["how"] == frames.SENT]
        values = sum(np.prod(layer["shape"]) for layer in sent)
        maps = sum(layer["shape"][2] for layer in sent)
        header = frames.HEADER.size + 8 * frames.NUM_CLASSES + 4 * frames.INPUT_PIXELS + len(HOW) * frames.LAYER_HEADER.size
        assert len(data) == header + 8 * maps + values + (-values % 4)
        # was 69 KB with every layer sent; 6,250 bytes is 3 Mbit/s at 60 frames a second
        assert len(data) <= 6_250


def test_a_layer_whose_source_is_not_in_the_frame_is_sent(network, pen_test_samples):
    image = pen_images(pen_test_samples, 1)[0]
    result = InferenceService(network.description).run(image)
    names = ("conv1", "pool1", "conv2", "pool2", "dense1", "output")  # no ReLU layers
    frame = frame_decode.decode(frames.encode(1, result, names), network)
    assert [layer["how"] for layer in frame["layers"].values()] == [frames.CONV] + [frames.SENT] * 5
    for name, layer in frame["layers"].items():
        truth = result.layers[name].reshape(layer["shape"])
        half_step = (truth.max(axis=(0, 1)) - truth.min(axis=(0, 1))) / 255 / 2
        assert np.all(np.abs(layer["values"] - truth) <= half_step + 1e-5), name


def test_decoding_a_derived_conv_needs_the_weights(pen_frames):
    with pytest.raises(ValueError, match="weights"):
        frame_decode.decode(pen_frames[0][1])


def test_the_rules_read_from_the_model_file_derive_the_tutorials_layers():
    """The tutorial's network as its file describes it (model/parse_layers.py): every map
    worked out on the page, the dense layers sent."""
    from model.parse_layers import describe_file

    shapes = [(28, 28, 24), (28, 28, 24), (14, 14, 24), (14, 14, 48), (14, 14, 48), (7, 7, 48), (1, 512, 1), (1, 128, 1), (1, 10, 1)]
    tutorial = frames.plan(SHOWN_LAYERS, shapes, frames.steps_from_description(describe_file(DEFAULT_MODEL_PATH)))
    assert [how for how, *_ in tutorial] == [HOW[name] for name in SHOWN_LAYERS]
    assert frames.plan(SHOWN_LAYERS, shapes) == [(frames.SENT, 0, 0, 0, 0)] * len(SHOWN_LAYERS)  # no steps: all sent
    assert tutorial[0] == (frames.CONV, frames.INPUT, 2, 1, 0) and tutorial[2] == (frames.MAXPOOL, 1, 2, 2, 0)


def test_empty_frame():
    frame = frame_decode.decode(frames.encode_empty(9))
    assert frame["seq"] == 9 and frame["digit"] == -1 and frame["layers"] == {}


# ---------------------------------------------------------------------------------------
# A model with batch normalisation (deep3x3): batchnorm layers are derived, not sent.


@pytest.fixture(scope="module")
def deep3x3():
    return Forward(describe_file(SHIPPED["deep3x3"]))


@pytest.fixture(scope="module")
def deep_frames(deep3x3, pen_test_samples):
    service = InferenceService(deep3x3.description)
    out = []
    for image in pen_images(pen_test_samples):
        result = service.run(image)
        data = frames.encode(7, result)
        out.append((result, data, frame_decode.decode(data, deep3x3)))
    return out


def test_every_layer_of_a_batchnorm_model_is_the_networks_within_its_tolerance(deep_frames):
    """conv → bn → relu → conv → bn → ... all worked out from the exact input: no error
    grows along the chain, each map is within half a step of its own (plus float error)."""
    for result, data, frame in deep_frames:
        assert {name: layer["how"] for name, layer in frame["layers"].items()} == DEEP_HOW
        truth = {name: result.layers[name].reshape(frame["layers"][name]["shape"]) for name in DEEP_HOW}
        assert_within_tolerance(frame, truth)
        # batch normalisation shifts maps below zero; the ReLU after it takes them away
        assert frame["layers"]["bn1a"]["values"].min() < 0 and frame["layers"]["relu1a"]["values"].min() >= 0
        # the bytes are the encoder's, but where a value lies within float error of a boundary
        sent_everything = frame_decode.decode(frames.encode(7, result, steps=()))
        for name, how in DEEP_HOW.items():
            if how != frames.SENT:
                differ = np.abs(frame["layers"][name]["bytes"].astype(int) - sent_everything["layers"][name]["bytes"].astype(int))
                assert differ.max() <= 1 and (differ > 0).mean() < 0.001, name


def test_a_wrong_batchnorm_would_be_caught(deep_frames):
    """bn1a shown as conv1a (no batch normalisation), or with map 0's scale for every map,
    is outside the tolerance: the comparison above can fail."""
    result, data, frame = deep_frames[0]
    truth = {name: result.layers[name].reshape(frame["layers"][name]["shape"]) for name in DEEP_HOW}
    assert np.any(np.abs(frame["layers"]["conv1a"]["values"] - truth["bn1a"]) > tolerance("bn1a", truth))
    scale, shift = frame_decode._by_frame_name(Forward(describe_file(SHIPPED["deep3x3"])))["bn1a"]
    wrong = truth["conv1a"] * scale[0] + shift
    assert np.any(np.abs(wrong - truth["bn1a"]) > tolerance("bn1a", truth))


def test_a_batchnorm_model_frame_of_a_real_digit_is_small(deep_frames):
    for result, data, frame in deep_frames:
        # 35.7 KB when every layer after conv1a was sent (no batchnorm derivation)
        assert len(data) <= 6_000, len(data)


def test_a_batchnorm_of_a_sent_layer_is_sent(deep3x3, pen_test_samples):
    """Without relu1a in the frame, conv1b is sent (rounded), so bn1b, its batchnorm, is sent
    too: scale times a rounded value may be more than half a step of the source off, which
    `error_bound` does not allow for. relu1b (1-Lipschitz) is still worked out from it."""
    result = InferenceService(deep3x3.description).run(pen_images(pen_test_samples, 1)[0])
    names = tuple(n for n in deep3x3.description.shown_names if n != "relu1a")
    frame = frame_decode.decode(frames.encode(1, result, names), deep3x3)
    how = {name: layer["how"] for name, layer in frame["layers"].items()}
    assert how["conv1a"] == frames.CONV and how["bn1a"] == frames.BATCHNORM
    assert how["conv1b"] == how["bn1b"] == frames.SENT and how["relu1b"] == frames.RELU
    truth = {name: result.layers[name].reshape(frame["layers"][name]["shape"]) for name in names}
    for name, layer in frame["layers"].items():
        error = np.abs(layer["values"] - truth[name]).max(axis=(0, 1))
        assert np.all(error <= layer["error_bound"] + 1e-5), name


def test_the_frame_carries_the_networks_logits(network, pen_test_samples):
    """Version 6: the output's scores before the softmax, exactly the network's, so the
    inspector can write the softmax out; the probabilities are their softmax."""
    from webapp.service import InferenceService

    service = InferenceService(network.description)
    sample = next(s for s in pen_test_samples if s["label"] == 3)
    result = service.from_strokes(sample["strokes"])
    frame = frame_decode.decode(frames.encode(5, result), network)
    truth = network.run(result.image[None])["logits"][0]
    np.testing.assert_array_equal(frame["logits"], truth)
    z = frame["logits"].astype(np.float64)
    np.testing.assert_allclose(np.exp(z - z.max()) / np.exp(z - z.max()).sum(), frame["probabilities"], rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------------------
# The header's flags byte: bit 0, the drawing is unlike the training digits (model/novelty.py).


def test_frames_carry_the_unlike_flag(network, pen_test_samples):
    from model import novelty

    service = InferenceService(network.description, novelty.load(DEFAULT_MODEL_PATH))
    assert service.novelty is not None, "the shipped model has its novelty statistics"
    tap = service.from_strokes([[[200, 200]]])
    whole = pen_images(pen_test_samples, 20)[::2]  # whole digits (not the two-thirds drawn ones)
    digits = service.run_batch(whole)
    for result in [tap, *digits]:
        data = frames.encode(5, result)
        assert data[frames.FLAGS_AT] == (frames.UNLIKE if result.unlike else 0)
        assert frame_decode.decode(data, network)["unlike"] is result.unlike
    assert tap.unlike, "a tap is flagged"
    assert sum(r.unlike for r in digits) <= 2, "pen digits are (nearly always) not flagged"
    # The flag is the statistics' own verdict, in a batch as alone.
    alone = [service.run(image).unlike for image in whole]
    assert alone == [r.unlike for r in digits]


def test_a_model_without_novelty_statistics_never_flags(network):
    result = InferenceService(network.description).from_strokes([[[200, 200]]])
    assert result.unlike is False
    assert frames.encode(5, result)[frames.FLAGS_AT] == 0
    assert frame_decode.decode(frames.encode_empty(3))["unlike"] is False
