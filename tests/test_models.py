"""Several models in one server (issue 12): each read once from its file, kept on the app,
chosen by the address (?model=NAME) or the drawing message ("model"), each with its own
layers, filters, frames and saliency; a model the app cannot show stops the start."""
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.forward import Forward
from model.gradient import saliency
from model.parse_layers import describe_file
from model.preprocess import image_to_input, strokes_to_input
from tests.drawings import SEVEN, photo_of
from tests.test_socket import collect
from webapp import create_app, frame_decode, frames, socketio
from webapp.models import SHIPPED, ModelRefused, get_models

ROOT = Path(__file__).resolve().parent.parent
keras = pytest.importorskip("keras")


def make_app(tmp_path, **config):
    return create_app({"TESTING": True, "CLASSROOM_DB": str(tmp_path / "c.sqlite3"), "FRAME_WINDOW": None, **config})


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory):
    """A functional RGB 32x32 model with a 3x3 stride-2 conv (random weights), saved."""
    from tests.test_any_model import randomise

    layers = keras.layers
    image = keras.Input((32, 32, 3), name="rgb")
    x = layers.Conv2D(6, 3, strides=2, padding="same", name="c1")(image)
    x = layers.Activation("relu", name="r1")(x)
    x = layers.MaxPooling2D(2, name="p1")(x)
    x = layers.Flatten(name="flat")(x)
    out = layers.Dense(10, activation="softmax", name="out")(x)
    path = tmp_path_factory.mktemp("rgb") / "colour.keras"
    randomise(keras.Model(image, out, name="colour")).save(path)
    return path


def test_the_shipped_models_are_shown_by_default(tmp_path):
    app = make_app(tmp_path)
    models = get_models(app)
    assert models.names == tuple(SHIPPED) and models.default == "tutorial"
    client = app.test_client()
    for name, path in SHIPPED.items():
        data = client.get(f"/network.json?model={name}").get_json()
        description = describe_file(path)
        assert [layer["name"] for layer in data["architecture"]] == [layer.name for layer in description.layers]
        assert [tuple(layer["shape"]) for layer in data["architecture"]] == [layer.shape for layer in description.layers]
        assert data["param_count"] == description.param_count
        page = client.get(f"/?model={name}").get_data(as_text=True)
        assert f"{description.param_count:,} parameters in all" in page
    missing = client.get("/?model=nope")
    assert missing.status_code == 404 and "tutorial, mnist-only, deep3x3" in missing.get_data(as_text=True)


def test_a_page_starts_its_models_frame_worker_before_the_first_drawing(tmp_path):
    """Serving a page of a model, or the compare page, starts that model's frame worker at
    once (only the default's starts with the server): the first drawing then waits for no
    process start and import (a compare page's second side was blank for seconds)."""
    app = make_app(tmp_path)
    models = get_models(app)
    client = app.test_client()
    assert models.worker("tutorial").pid is not None  # the default, at start
    assert models.worker("deep3x3").pid is None and models.worker("mnist-only").pid is None
    assert client.get("/compare?a=tutorial&b=deep3x3").status_code == 200
    started = models.worker("deep3x3").pid
    assert started is not None and models.worker("mnist-only").pid is None
    assert client.get("/?model=mnist-only").status_code == 200
    assert models.worker("mnist-only").pid is not None
    client.get("/compare?a=deep3x3&b=tutorial")
    assert models.worker("deep3x3").pid == started  # once: the same process
    # and the page's first drawing is answered by that process
    socket = socketio.test_client(app)
    try:
        socket.emit("draw", {"seq": 1, "strokes": SEVEN, "width": 400, "height": 400, "model": "deep3x3"})
        [event] = collect(socket)
        assert event["name"] == "frame" and models.worker("deep3x3").pid == started
    finally:
        socket.disconnect()


def test_each_model_has_its_own_filters_of_its_own_size(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    kernels = client.get("/network.json?model=deep3x3").get_json()["kernels"]
    conv = describe_file(SHIPPED["deep3x3"]).layer("conv2a").weights["kernel"]  # 3x3, 8 inputs, 16 filters
    k = kernels["conv2a"]
    assert (k["size"], k["inputs"], k["columns"], k["height"], k["width"]) == ([3, 3], 8, 4, 6, 12)
    images = np.asarray(k["values"], np.float32).reshape(16, 6, 12)
    # Input map c of filter f sits at block row c // 4, column c % 4, each block 3x3.
    np.testing.assert_array_equal(images[5, 3:6, 9:12], conv[:, :, 7, 5])
    np.testing.assert_array_equal(images[0, 0:3, 0:3], conv[:, :, 0, 0])
    assert set(kernels) == {"conv1a", "conv1b", "conv2a", "conv2b"}


def test_the_socket_answers_each_model_with_its_own_network(tmp_path):
    app = make_app(tmp_path)
    client = socketio.test_client(app)
    try:
        for seq, name in enumerate(("deep3x3", "tutorial", "mnist-only"), start=1):
            client.emit("draw", {"seq": seq, "strokes": SEVEN, "width": 400, "height": 400, "model": name})
            [event] = collect(client)
            assert event["name"] == "frame", event
            forward = get_models(app).get(name).service.network
            frame = frame_decode.decode(event["args"][0], forward)
            expected = forward.run(strokes_to_input(SEVEN)[None])
            assert list(frame["layers"]) == list(forward.description.shown_names)
            np.testing.assert_allclose(frame["probabilities"], expected[forward.description.output.name][0], rtol=1e-5, atol=1e-6)
        client.emit("draw", {"seq": 9, "strokes": SEVEN, "width": 400, "height": 400, "model": "resnet"})
        [event] = collect(client)
        assert event["name"] == "error_message"
        assert "no model 'resnet'" in event["args"][0]["error"] and "deep3x3" in event["args"][0]["error"]
    finally:
        client.disconnect()


def test_an_rgb_model_of_another_size_reads_drawings_with_the_ink_on_every_channel(tmp_path, rgb_model):
    app = make_app(tmp_path, MODELS=str(rgb_model))
    assert get_models(app).names == ("colour",)
    forward = Forward(describe_file(rgb_model))
    image = strokes_to_input(SEVEN, shape=(32, 32, 3))
    assert image.shape == (32, 32, 3) and image.max() > 0.9
    assert np.array_equal(image[:, :, 0], image[:, :, 1]) and np.array_equal(image[:, :, 0], image[:, :, 2])
    client = app.test_client()
    body = client.post("/api/predict?maps=1", json={"strokes": SEVEN}).get_json()
    np.testing.assert_allclose(body["probabilities"], forward.predict(image[None])[0], atol=1e-6)
    assert np.asarray(body["input"]).shape == (32, 32, 3)
    assert [layer["shape"] for layer in body["layers"]] == [[16, 16, 6], [16, 16, 6], [8, 8, 6], [10]]
    picture = np.asarray(client.post("/api/saliency", json={"strokes": SEVEN}).get_json()["saliency"])
    np.testing.assert_allclose(picture, saliency(forward, image)[0], atol=6e-4)
    # A photo goes through the model's own picture worker, prepared at its size too.
    photo = photo_of(SEVEN)
    body = client.post("/api/predict", data={"image": (io.BytesIO(photo), "seven.png")}, content_type="multipart/form-data").get_json()
    read = np.asarray(body["input"])
    assert read.shape == (32, 32, 3) and np.array_equal(read[:, :, 0], read[:, :, 2])
    np.testing.assert_allclose(read, image_to_input(photo, shape=(32, 32, 3)).round(4), atol=1e-6)
    sio = socketio.test_client(app)
    try:
        sio.emit("draw", {"seq": 1, "strokes": SEVEN, "width": 400, "height": 400})
        [event] = collect(sio)
        frame = frame_decode.decode(event["args"][0])  # every layer sent: no filters needed
        assert all(layer["how"] != frames.CONV for layer in frame["layers"].values())
        assert frame["image"].shape == (28, 28) and frame["image"].max() > 0.9  # what it saw, for the picture
        assert frame["digit"] == int(forward.predict(image[None])[0].argmax())
    finally:
        sio.disconnect()


def test_two_apps_in_one_process_keep_their_own_models(tmp_path, rgb_model):
    one, other = make_app(tmp_path / "a", MODELS=str(rgb_model)), make_app(tmp_path / "b")
    assert get_models(one).names == ("colour",) and get_models(other).names == tuple(SHIPPED)
    assert get_models(one).worker() is not get_models(other).worker()


def test_a_model_the_app_cannot_show_stops_the_start(tmp_path):
    layers = keras.layers
    bad = tmp_path / "scaled.keras"
    keras.Sequential([keras.Input((28, 28, 1)), layers.Rescaling(1 / 255, name="scale"), layers.Flatten(),
                      layers.Dense(10, activation="softmax")]).save(bad)
    with pytest.raises(ModelRefused, match="'scale'.*Rescaling"):
        make_app(tmp_path, MODELS=str(bad))
    out = subprocess.run([sys.executable, "-m", "webapp", "--port", "1", "--model", str(bad)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, env={**os.environ, "CNNVIEW_CLASSROOM_DB": str(tmp_path / "c.db")})
    assert out.returncode != 0
    assert "error: model 'scaled'" in out.stderr and "Rescaling" in out.stderr and "Supported:" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_long_named_layer_and_a_fused_activation_are_framed_under_short_names(tmp_path):
    """A layer's frame name is 8 bytes at most: "first_convolution" and its fused ReLU
    ("first_convolution/relu") travel as L0 and L1, still worked out on the page from the
    input, and network.json says which is which."""
    from tests.test_any_model import randomise

    layers = keras.layers
    path = tmp_path / "long.keras"
    randomise(keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu", name="first_convolution"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Flatten(name="flat"),
        layers.Dense(10, activation="softmax", name="out"),
    ])).save(path)
    app = make_app(tmp_path, MODELS=str(path))
    table = app.test_client().get("/network.json").get_json()["architecture"]
    assert [(layer["name"], layer["frame_name"]) for layer in table] == [
        ("first_convolution", "L0"), ("first_convolution/relu", "L1"), ("pool", "pool"), ("flat", None), ("out", "out")]
    service = get_models(app).get().service
    result = service.from_strokes(SEVEN)
    frame = frame_decode.decode(frames.encode(3, result), service.network)
    assert list(frame["layers"]) == ["L0", "L1", "pool", "out"]
    assert [layer["how"] for layer in frame["layers"].values()] == [frames.CONV, frames.RELU, frames.MAXPOOL, frames.SENT]
    for short, name in zip(frame["layers"], service.names):
        layer = frame["layers"][short]
        truth = result.layers[name].reshape(layer["shape"])
        assert np.all(np.abs(layer["values"] - truth) <= layer["error_bound"] + 1e-5), short
