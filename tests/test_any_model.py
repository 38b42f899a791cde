"""Any Keras CNN (issue 12): the description, the generic NumPy forward pass and the
receptive fields, against Keras itself on a matrix of small models with random weights."""
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from model.fields import receptive_field, receptive_fields  # noqa: E402
from model.forward import Forward  # noqa: E402
from model.network import DEFAULT_MODEL_PATH, SHOWN_LAYERS  # noqa: E402
from model.parse_layers import describe, describe_file  # noqa: E402
from model.supported import UnsupportedModel  # noqa: E402

keras = pytest.importorskip("keras")
layers = keras.layers

from tests.keras_models import (  # noqa: E402
    MODELS, four_channels, images_for, k5_valid_stride2, keras_outputs, lstm_model, no_softmax, randomise, rescaling, smooth_odd,
    too_big, two_inputs,
)


@pytest.fixture(scope="module", params=list(MODELS))
def built(request):
    model = randomise(MODELS[request.param]())
    return request.param, model, describe(model)


# ---------------------------------------------------------------------------------------
# The forward pass equals Keras on every layer


def test_every_layer_equals_keras(built):
    name, model, description = built
    images = images_for(description, 5)
    reference = keras_outputs(model, images)
    reference[description.input_name] = images
    ours = Forward(description).run(images)
    fused = {layer.inputs[0] for layer in description.layers if layer.params.get("fused")}
    for layer in description.shown:
        expected = reference[layer.source]  # a fused activation's step: Keras' layer output
        if layer.name in fused:
            # The convolution before its fused activation: Keras never shows it, so work it
            # out with Keras' own conv on the layer's input.
            source = layer.inputs[0]
            x = reference[source if source == description.input_name else description.layer(source).source]
            p = layer.params
            expected = np.asarray(keras.ops.conv(x, layer.weights["kernel"], p["strides"], p["padding"])) + layer.weights["bias"]
        assert ours[layer.name].shape == (len(images), *layer.shape), layer.name
        np.testing.assert_allclose(ours[layer.name], expected, atol=1e-5, rtol=1e-5, err_msg=f"{name}: {layer.name}")
    # The output is probabilities; "logits" are the scores before the softmax.
    np.testing.assert_allclose(ours[description.output.name].sum(axis=1), 1, atol=1e-5)
    softmax = np.exp(ours["logits"] - ours["logits"].max(axis=1, keepdims=True))
    np.testing.assert_allclose(softmax / softmax.sum(axis=1, keepdims=True), ours[description.output.name], atol=1e-6)


def test_the_buffer_holds_every_shown_layer_channel_first(built):
    _, _, description = built
    forward = Forward(description)
    images = images_for(description, 3)
    out = forward.run(images)
    assert list(forward.slots) == [layer.name for layer in description.shown]
    previous = 0
    for layer in description.shown:
        start, stop, shape = forward.slots[layer.name]
        assert start == previous and stop - start == np.prod(layer.shape)
        previous = stop
        stored = out["all"][:, start:stop].reshape(len(images), *shape)
        expected = out[layer.name].transpose(0, 3, 1, 2) if layer.spatial else out[layer.name]
        np.testing.assert_array_equal(stored, expected)
    assert forward.total == previous == out["all"].shape[1]
    # One image alone gives what it gives in a batch; grayscale takes (n, h, w) too.
    alone = forward.run(images[:1])["all"]
    np.testing.assert_allclose(alone[0], out["all"][0], atol=1e-6)
    if description.input_shape[2] == 1:
        np.testing.assert_array_equal(forward.run(images[..., 0])["all"], out["all"])


# ---------------------------------------------------------------------------------------
# Receptive fields equal what perturbing the input shows


def changed_inputs(forward, description, image):
    """Shown spatial layer → (h, w, H, W): which input pixels move each unit when bumped."""
    h, w, c = description.input_shape
    bumped = np.repeat(image[None], h * w, axis=0)
    rows, cols = np.divmod(np.arange(h * w), w)
    bumped[np.arange(h * w), rows, cols, :] += 1.0
    base, moved = forward.run(image[None]), forward.run(bumped)
    out = {}
    for layer in description.shown:
        if layer.spatial:
            change = np.any(moved[layer.name] != base[layer.name], axis=3)  # (H*W, h', w')
            out[layer.name] = change.reshape(h, w, *layer.shape[:2]).transpose(2, 3, 0, 1)
    return out


def field_masks(description, name):
    fields = receptive_fields(description)
    h, w, _ = description.layer(name).shape
    masks = np.zeros((h, w, *description.input_shape[:2]), bool)
    for row in range(h):
        for col in range(w):
            top, left, bottom, right = receptive_field(description, name, row, col, fields)
            masks[row, col, top : bottom + 1, left : right + 1] = True
    return masks


def test_receptive_fields_equal_what_perturbing_shows(built):
    name, _, description = built
    forward = Forward(description)
    image = images_for(description, 1, seed=3)[0]
    changed = changed_inputs(forward, description, image)
    tight = not any(
        layer.kind == "maxpool" or layer.params.get("activation") == "relu" for layer in description.layers if layer.spatial
    )
    for layer, moved in changed.items():
        masks = field_masks(description, layer)
        outside = moved & ~masks
        assert not outside.any(), f"{name}: {layer} unit {np.argwhere(outside)[0][:2]} moved by pixel {np.argwhere(outside)[0][2:]} outside its field"
        assert moved.any(axis=(2, 3)).mean() > 0.5, f"{name}: {layer}: most units should move"
        if tight:  # nothing cuts a path (no ReLU zeros, no max pool losers): every field pixel moves its unit
            np.testing.assert_array_equal(moved, masks, err_msg=f"{name}: {layer}")


def test_fields_of_the_default_model_are_todays():
    description = describe_file(DEFAULT_MODEL_PATH)
    fields = receptive_fields(description)
    assert {k: (f.jump[0], f.size[0]) for k, f in fields.items()} == {
        "conv1": (1, 2), "relu1": (1, 2), "pool1": (2, 3), "conv2": (2, 5), "relu2": (2, 5), "pool2": (4, 7),
    }
    assert all(f.start == (0, 0) for f in fields.values())
    assert receptive_field(description, "pool2", 6, 6) == (24, 24, 27, 27)
    assert receptive_field(description, "conv2", 3, 5) == (6, 10, 10, 14)


def test_same_padding_fields_start_inside_the_padding():
    description = describe(smooth_odd())
    fields = receptive_fields(description)
    # 4x4 stride 2 "same" on 29 rows: 15 out, (14*2 + 4 - 29) = 3 padded, 1 on top.
    assert fields["c1"].start == (-1, -1) and fields["c1"].size == (4, 4) and fields["c1"].jump == (2, 2)
    assert receptive_field(description, "c1", 0, 0) == (0, 0, 2, 2)


# ---------------------------------------------------------------------------------------
# The description


def test_description_without_tensorflow_equals_keras(built, tmp_path):
    name, model, description = built
    path = tmp_path / f"{name}.keras"
    model.save(path)
    from_file = describe_file(path)
    assert from_file.to_json() == description.to_json()
    for ours, theirs in zip(from_file.layers, description.layers):
        assert ours.weights.keys() == theirs.weights.keys()
        for key in ours.weights:
            np.testing.assert_array_equal(ours.weights[key], theirs.weights[key])
            assert ours.weights[key].dtype == np.float32
    assert description.param_count == model.count_params()


def test_description_is_json_and_names_every_layer(built):
    import json

    name, model, description = built
    data = json.loads(json.dumps(description.to_json()))
    keras_names = [layer.name for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    assert [layer["source"] for layer in data["layers"]] == [n for n in keras_names for _ in range(1 + _fused(model, n))]
    assert data["param_count"] == model.count_params()
    for layer in data["layers"]:
        assert layer["explanation"] and layer["shown"] == (layer["kind"] not in ("dropout", "flatten"))
        if not layer["shown"]:
            assert data["layers"][[l["name"] for l in data["layers"]].index(layer["shows_as"])]["shown"]
    assert data["layers"][-1]["output"] and data["classes"] == model.outputs[0].shape[-1]


def _fused(model, name):
    layer = model.get_layer(name)
    return isinstance(layer, layers.Conv2D) and layer.get_config()["activation"] != "linear"


def test_fused_activation_is_its_own_step_and_explanations_use_the_numbers():
    description = describe(k5_valid_stride2())
    names = [layer.name for layer in description.layers]
    assert names[:2] == ["c1", "c1/tanh"]
    conv, tanh = description.layer("c1"), description.layer("c1/tanh")
    assert (conv.kind, tanh.kind, tanh.inputs, tanh.source, tanh.params) == ("conv", "activation", ("c1",), "c1", {"activation": "tanh", "fused": True})
    assert conv.param_count == 5 * 5 * 6 + 6 and tanh.param_count == 0
    assert conv.params["pad"] == [0, 0, 0, 0] and conv.shape == (13, 13, 6)
    assert "5×5" in conv.explanation and "2 pixels at a time" in conv.explanation and "30×30 to 13×13" in conv.explanation
    assert "3×3" in description.layer("a1").explanation and "Average" in description.layer("a1").explanation
    assert "Sigmoid" in description.layer("s2").explanation
    assert "Softmax" in description.layer("probs").explanation


def test_default_model_is_the_tutorials_network():
    description = describe_file(DEFAULT_MODEL_PATH)
    assert description.shown_names == SHOWN_LAYERS
    assert description.param_count == 1_276_466
    assert description.input_shape == (28, 28, 1) and description.classes == 10
    forward = Forward(description)
    # Every shown layer channel-first, one after the other in an image's row (what a frame carries).
    shapes = {"conv1": (24, 28, 28), "relu1": (24, 28, 28), "pool1": (24, 14, 14), "conv2": (48, 14, 14),
              "relu2": (48, 14, 14), "pool2": (48, 7, 7), "dense1": (512,), "dense2": (128,), "output": (10,)}
    at = 0
    for name in SHOWN_LAYERS:
        size = int(np.prod(shapes[name]))
        assert forward.slots[name] == (at, at + size, shapes[name])
        at += size
    assert forward.total == at
    assert [layer.name for layer in description.layers] == [
        "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "dense1", "dropout1", "dense2", "dropout2", "output"
    ]
    assert description.layer("flatten").shows_as == "dense1" and description.layer("dropout2").shows_as == "output"
    assert "2×2" in description.layer("conv1").explanation and "48 maps of 7×7" in description.layer("flatten").explanation


def test_default_model_description_from_keras_equals_the_file():
    from model.network import load_keras

    assert describe(load_keras()).to_json() == describe_file(DEFAULT_MODEL_PATH).to_json()


# ---------------------------------------------------------------------------------------
# Unsupported models: one clear error that names the problem


@pytest.mark.parametrize(
    "build, words",
    [
        (lstm_model, ["'memory'", "LSTM", "not supported"]),
        (two_inputs, ["2 inputs", "left", "right"]),
        (too_big, ["'huge'", "200x200", "28x28 to 64x64"]),
        (no_softmax, ["'scores'", "without softmax"]),
        (rescaling, ["'scale'", "Rescaling"]),
        (four_channels, ["4 channels"]),
    ],
)
def test_unsupported_models_get_one_clear_error(build, words, tmp_path):
    model = build()
    for read in (lambda: describe(model), lambda: describe_file(_saved(model, tmp_path))):
        with pytest.raises(UnsupportedModel) as error:
            read()
        message = str(error.value)
        for word in words:
            assert word in message, message
        assert "Supported:" in message and "Conv2D" in message and "GlobalAveragePooling2D" in message
        assert isinstance(error.value, ValueError)


def _saved(model, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    return path


def test_the_serving_path_does_not_import_tensorflow(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from model.parse_layers import describe_file; from model.forward import Forward; "
        "from model.fields import receptive_fields; d = describe_file(sys.argv[1]); Forward(d); receptive_fields(d); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, sorted(m for m in sys.modules if 'tensorflow' in m or 'keras' in m)[:5]"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", code, str(DEFAULT_MODEL_PATH)], cwd=root, check=True, timeout=60)


def test_a_file_that_is_not_a_keras_zip_gets_the_clear_error(tmp_path):
    path = tmp_path / "legacy.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(UnsupportedModel, match="not a Keras 3 .keras file"):
        describe_file(path)


# ---------------------------------------------------------------------------------------
# Saliency in NumPy (model.gradient) equals TensorFlow's gradient


def keras_logits(model, description):
    """A Keras model image → the output's scores before the softmax."""
    output = description.output
    before = description.layer(output.inputs[0]).source
    features = keras.Model(model.inputs, model.get_layer(before).output)
    if output.kind == "activation":  # a separate softmax layer: its input is the logits
        return features
    kernel, bias = output.weights["kernel"], output.weights["bias"]
    return lambda x: keras.ops.matmul(features(x, training=False), kernel) + bias


def test_input_gradient_equals_tensorflows(built):
    import tensorflow as tf

    from model.gradient import input_gradient, saliency

    name, model, description = built
    images = images_for(description, 3, seed=5)
    forward = Forward(description)
    ours, classes = input_gradient(forward, images)
    logits = keras_logits(model, description)
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(tf.gather(logits(x), classes, axis=1, batch_dims=1))
    expected = tape.gradient(score, x).numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(ours / scale, expected / scale, atol=1e-4, err_msg=name)
    np.testing.assert_array_equal(classes, np.argmax(forward.run(images)["logits"], axis=1))
    picture, predicted = saliency(forward, images[0])
    assert picture.shape == description.input_shape[:2] and picture.max() == 1 and predicted == classes[0]


def tensorflow_saliency(model):
    """The reference: TensorFlow's gradient of the predicted class's logit (the output
    layer before its softmax) with respect to the input, |.| scaled to 0..1."""
    import keras
    import tensorflow as tf

    output = model.layers[-1]
    features = keras.Model(model.inputs, output.input)
    kernel, bias = output.get_weights()

    def saliency(image):
        x = tf.constant(np.asarray(image, np.float32)[None, :, :, None])
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = features(x, training=False) @ kernel + bias
            score = tf.reduce_max(logits, axis=-1)
        magnitude = np.abs(tape.gradient(score, x).numpy()[0, :, :, 0])
        return magnitude / magnitude.max(), int(np.argmax(logits[0]))

    return saliency


def test_default_model_saliency_equals_tensorflows():
    """Equal to TensorFlow's where no max-pool window has a tie. On a digit's blank
    background every window ties and either pass sends the gradient to whichever input won
    in its own float rounding, so there the maps only agree broadly."""
    from model.gradient import saliency
    from model.network import load_keras

    forward, today = Forward(describe_file(DEFAULT_MODEL_PATH)), tensorflow_saliency(load_keras())
    noise = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    (ours, digit), (theirs, their_digit) = saliency(forward, noise), today(noise)
    assert digit == their_digit
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    seven = np.zeros((28, 28), np.float32)
    seven[5:8, 6:22] = 1
    for row in range(8, 24):
        seven[row, 21 - (row - 8) // 2 : 24 - (row - 8) // 2] = 1
    (ours, digit), (theirs, their_digit) = saliency(forward, seven), today(seven)
    assert digit == their_digit
    assert np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.8
