import io
import json

import numpy as np

from model.preprocess import strokes_to_input
from tests.drawings import SEVEN, decompression_bomb, photo_of


def post_json(client, body, query=""):
    return client.post("/api/predict" + query, data=json.dumps(body), content_type="application/json")


def test_page_is_served_without_external_resources(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for hook in ('id="canvas"', 'id="clear"', 'id="prediction"', 'data-digit=""', 'data-busy="false"'):
        assert hook in html
    assert "http://" not in html and "https://" not in html
    assert "1,276,466 parameters in all" in html
    for name, target in [("conv1", "conv1"), ("flatten", "dense1"), ("dropout2", "output")]:
        assert f'href="#layer-{target}" data-layer="{name}"' in html
    assert client.get("/static/vendor/socket.io/socket.io.esm.min.js").status_code == 200
    assert client.get("/static/vendor/socket.io/LICENSE").status_code == 200


def test_predict_from_strokes_matches_the_network(client, network):
    answer = post_json(client, {"strokes": SEVEN})
    assert answer.status_code == 200
    body = answer.get_json()
    expected = network.predict(strokes_to_input(SEVEN)[None])[0]
    assert body["digit"] == int(expected.argmax())
    np.testing.assert_allclose(body["probabilities"], expected, atol=1e-6)
    assert np.asarray(body["input"]).shape == (28, 28)
    shapes = {layer["name"]: layer["shape"] for layer in body["layers"]}
    assert shapes["conv1"] == [28, 28, 24] and shapes["pool2"] == [7, 7, 48] and shapes["dense1"] == [512]
    assert "maps" not in body


def test_maps_on_request(client, network):
    body = post_json(client, {"strokes": SEVEN, "maps": True}).get_json()
    outputs = network.run(strokes_to_input(SEVEN)[None])
    assert np.asarray(body["maps"]["conv2"]).shape == (48, 14, 14)
    np.testing.assert_allclose(np.asarray(body["maps"]["relu1"]), outputs["relu1"][0].transpose(2, 0, 1), atol=1e-4)
    assert len(post_json(client, {"strokes": SEVEN}, "?maps=1").get_json()["maps"]["dense2"]) == 128


def test_predict_from_uploaded_photo(client, pen_test_samples):
    sample = next(s for s in pen_test_samples if s["label"] == 3)
    upload = {"image": (io.BytesIO(photo_of(sample["strokes"])), "three.png")}
    answer = client.post("/api/predict", data=upload, content_type="multipart/form-data")
    assert answer.status_code == 200
    assert answer.get_json()["digit"] == 3


def test_bad_requests_get_readable_errors(client):
    cases = [
        (post_json(client, {"strokes": [[[1, "x"]]]}), 400, "numbers"),
        (post_json(client, {"strokes": [[[0, float("nan")]]]}), 400, "NaN"),
        (post_json(client, {"nothing": 1}), 400, "strokes"),
        (client.post("/api/predict", data="{not json", content_type="application/json"), 400, "strokes"),
        (post_json(client, {"strokes": []}), 422, "nothing drawn"),
        (client.post("/api/predict", data={"image": (io.BytesIO(b"hello"), "a.png")}), 400, "not an image"),
        (client.post("/api/predict", data={"image": (io.BytesIO(decompression_bomb()), "b.png")}), 400, "too large"),
        (client.post("/api/predict", data={"other": (io.BytesIO(b"x"), "a.png")}), 400, "image"),
        (client.post("/api/predict", data=b"x" * 11_000_000, content_type="application/octet-stream"), 413, ""),
        (client.get("/api/predict"), 405, ""),
    ]
    for answer, status, words in cases:
        assert answer.status_code == status, answer.get_data(as_text=True)
        assert words in answer.get_json()["error"]


def test_page_carries_the_real_conv_filters(client, network):
    import re

    html = client.get("/").get_data(as_text=True)
    url = re.search(r'<link rel="preload" id="network-data" href="([^"]+)"', html).group(1)
    kernels = client.get(url).get_json()["kernels"]
    conv1, bias1 = network.weights["conv1"]
    assert (kernels["conv1"]["height"], kernels["conv1"]["width"], len(kernels["conv1"]["values"])) == (2, 2, 24)
    # Exact: each value is the shortest decimal of a float32, which the page reads back
    # with Math.fround (what np.float32 does here), to the very weights.
    np.testing.assert_array_equal(np.asarray(kernels["conv1"]["values"], np.float32).reshape(24, 2, 2), conv1[:, :, 0, :].transpose(2, 0, 1))
    np.testing.assert_array_equal(np.asarray(kernels["conv1"]["bias"], np.float32), bias1)
    conv2, _ = network.weights["conv2"]
    images = np.asarray(kernels["conv2"]["values"], np.float32).reshape(48, 8, 12)
    # Input map c of filter f sits at block row c // 6, column c % 6.
    np.testing.assert_array_equal(images[7, 2:4, 4:6], conv2[:, :, 8, 7])
    np.testing.assert_array_equal(images[47, 6:8, 10:12], conv2[:, :, 23, 47])


def test_saliency_is_the_gradient_of_the_predicted_score(client, network):
    import keras
    import tensorflow as tf

    from model.gradient import saliency as gradient_saliency
    from model.network import DEFAULT_MODEL_PATH

    model = keras.saving.load_model(DEFAULT_MODEL_PATH, compile=False)
    features = keras.Model(model.inputs, model.get_layer("dense2").output)
    kernel, bias = model.get_layer("output").get_weights()
    maps = {}
    for name, strokes in (("seven", SEVEN), ("one", [[[50, 0], [50, 100]]])):
        answer = client.post("/api/saliency", data=json.dumps({"strokes": strokes}), content_type="application/json")
        assert answer.status_code == 200
        body = answer.get_json()
        saliency = np.asarray(body["saliency"])
        assert saliency.shape == (28, 28) and saliency.min() >= 0 and saliency.max() == 1.0
        image = strokes_to_input(strokes)
        assert body["digit"] == int(network.predict(image[None]).argmax())
        x = tf.constant(image[None, :, :, None])
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = (features(x) @ kernel + bias)[0, body["digit"]]
        expected = np.abs(tape.gradient(score, x).numpy()[0, :, :, 0])
        # The server's NumPy gradient (model/gradient.py, held to TensorFlow's in
        # test_any_model.py) to its 3 decimals; TensorFlow's broadly: where a max-pool
        # window ties (the blank background), each sends the gradient its own way.
        ours, digit = gradient_saliency(network, image)
        assert digit == body["digit"]
        np.testing.assert_allclose(saliency, ours, atol=6e-4)
        assert np.corrcoef(saliency.ravel(), expected.ravel())[0, 1] > 0.8
        maps[name] = saliency
    assert np.abs(maps["seven"] - maps["one"]).max() > 0.3  # a different drawing, a different map


def test_saliency_bad_input(client):
    assert client.post("/api/saliency", data=json.dumps({"strokes": []}), content_type="application/json").status_code == 422
    bad = client.post("/api/saliency", data=json.dumps({"strokes": [[[0, "x"]]]}), content_type="application/json")
    assert bad.status_code == 400 and "numbers" in bad.get_json()["error"]


def test_bodies_that_broke_the_server_get_4xx_or_a_dot(client, caplog):
    cases = [
        (b'{"strokes": [[[0, 0], [1e-310, 1e-315]]]}', 200, ""),  # subnormal: a dot
        (b'{"strokes": [[[0, 0], [0, 1e-320]]]}', 200, ""),  # zero width: a dot
        (b'{"strokes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "nesting over 1,024"),
        (b'{"strokes": [' + b"[" * 990 + b"0, 0" + b"]" * 990 + b"]}", 400, "pair"),
        (b'{"strokes": [[[1e308, 1e308]]]}', 400, "beyond"),
        (b'{"strokes": [[[1, 2]]], "maps": ' + b"9" * 5000 + b"}", 400, "64 bits"),
    ]
    for body, status, words in cases:
        answer = client.post("/api/predict", data=body, content_type="application/json")
        assert answer.status_code == status, answer.get_data(as_text=True)[:300]
        assert words in answer.get_json().get("error", "")
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_a_full_picture_queue_is_503_with_retry_after(client, monkeypatch):
    from webapp.pictures import BUSY, Busy, Pictures

    def full(self, data):
        raise Busy(BUSY)

    monkeypatch.setattr(Pictures, "to_input", full)
    answer = client.post("/api/predict", data={"image": (io.BytesIO(b"x"), "a.png")})
    assert answer.status_code == 503 and answer.get_json()["error"] == BUSY and answer.headers["Retry-After"] == "2"
