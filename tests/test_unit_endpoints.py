"""The two on-demand endpoints the inspector reads: a dense unit's weights (and a dense
input's weights to every unit), made and compressed once per unit, and a channel's top
digits, each checked against the model and MNIST themselves."""
import numpy as np


def digests(app):
    from webapp.models import get_models

    with app.app_context():
        model = get_models().get()
        return model.network.digest, model.top_patches.digest, model.description


def test_a_dense_units_weights_are_the_models_own(app, client):
    network, _, description = digests(app)
    answer = client.get(f"/network/{network}/dense1/153.json")
    assert answer.status_code == 200 and "immutable" in answer.headers["Cache-Control"]
    data = answer.get_json()
    dense1 = description.layer("dense1")
    np.testing.assert_array_equal(np.asarray(data["weights"], np.float32), dense1.weights["kernel"][:, 153])
    assert np.float32(data["bias"]) == dense1.weights["bias"][153]
    assert (data["source"], data["inputs"], data["in_shape"]) == ("pool2", "flatten", list(description.shape_of("pool2")))
    assert client.get(f"/network/{network}/output/2.json").get_json()["source"] == "dense2"
    for bad in (f"/network/{network}/conv1/0.json", f"/network/{network}/dense1/512.json", "/network/0000/dense1/0.json"):
        assert client.get(bad).status_code == 404, bad


def test_a_unit_asked_for_again_is_made_and_compressed_once(app, client):
    """A class pointing at one unit: the server makes its body once (the one gevent process
    serves everyone; brotli 11 on dense1's weights took ~100 ms), and keeps the recent ones."""
    from webapp import published

    made = []
    first = published.on_demand(("test", 1), lambda: made.append(1) or {"weights": [1.0, 2.0]})
    assert published.on_demand(("test", 1), lambda: made.append(1) or {}) is first and made == [1]
    assert published.on_demand(("test", 2), lambda: None) is None  # nothing there: not kept
    for key in range(published.ON_DEMAND):
        published.on_demand(("test", "fill", key), lambda: {"k": 1})
    assert published.on_demand(("test", 1), lambda: made.append(1) or {"weights": []}) is not first and made == [1, 1]
    network, _, _ = digests(app)
    answers = [client.get(f"/network/{network}/dense1/7.json", headers={"Accept-Encoding": "br"}) for _ in range(2)]
    assert answers[0].headers["Content-Encoding"] == "br" and answers[0].data == answers[1].data


def test_a_dense_inputs_weights_to_every_unit_are_the_models_own(app, client):
    network, _, description = digests(app)
    answer = client.get(f"/network/{network}/dense1/in/1000.json")
    assert answer.status_code == 200 and "immutable" in answer.headers["Cache-Control"]
    data = answer.get_json()
    kernel = description.layer("dense1").weights["kernel"]
    np.testing.assert_array_equal(np.asarray(data["weights"], np.float32), kernel[1000])
    assert (data["layer"], data["index"], data["source"], data["inputs"]) == ("dense1", 1000, "pool2", "flatten")
    assert client.get(f"/network/{network}/output/3.json").get_json()["source"] == "dense2"
    assert len(client.get(f"/network/{network}/output/in/3.json").get_json()["weights"]) == 10
    bad = {
        f"/network/{network}/conv1/in/0.json": 404,  # not a dense layer
        f"/network/{network}/dense1/in/{kernel.shape[0]}.json": 404,  # past its last input
        f"/network/{network}/dense1/in/-1.json": 400,
        f"/network/{network}/dense1/in/x1.json": 400,
        f"/network/{network}/dense1/in/{'9' * 40}.json": 400,
        "/network/0000/dense1/in/0.json": 404,
    }
    for url, status in bad.items():
        answer = client.get(url)
        assert answer.status_code == status and answer.is_json, url
        assert answer.get_json()["error"] and "Traceback" not in answer.get_data(as_text=True), url


def test_a_channels_top_digits_are_the_mnist_digits_its_patches_came_from(app, client):
    import base64

    from model.data import load_mnist
    from model.network import DEFAULT_MODEL_PATH
    from model.top_patches import load as load_top_patches

    _, top, _ = digests(app)
    (_, _), (x_test, _) = load_mnist()
    shipped = load_top_patches(DEFAULT_MODEL_PATH.with_name("top_patches.npz"))
    for layer, channel in (("conv1", 0), ("conv2", 47)):
        data = client.get(f"/top-patches/{top}/{layer}/{channel}.json").get_json()
        digits = np.frombuffer(base64.b64decode(data["digits"]), np.uint8).reshape(9, *data["size"])
        np.testing.assert_array_equal(digits, np.rint(x_test[shipped[layer]["images"][channel]] * 255))
    assert client.get(f"/top-patches/{top}/conv2/48.json").status_code == 404
