"""Socket.IO: strokes in, one binary frame out; bad input answered to its sender only."""
import time

import numpy as np
import pytest
import socketio as socketio_client

from model.preprocess import strokes_to_input
from tests.drawings import SEVEN, decompression_bomb, fit_to_canvas, photo_of
from webapp import frame_decode

SHAPES = {
    "conv1": (28, 28, 24), "relu1": (28, 28, 24), "pool1": (14, 14, 24),
    "conv2": (14, 14, 48), "relu2": (14, 14, 48), "pool2": (7, 7, 48),
    "dense1": (1, 512, 1), "dense2": (1, 128, 1), "output": (1, 10, 1),
}


def collect(client, count=1, timeout=10.0):
    """Events a test client received, waiting until `count` have arrived (answers come
    from the server's batching thread, not from the handler)."""
    events, deadline = [], time.time() + timeout
    while len(events) < count:
        events += client.get_received()
        if time.time() > deadline:
            raise AssertionError(f"expected {count} events, got {events}")
        time.sleep(0.002)
    return events


def received(client, name, count=1):
    return [event["args"][0] for event in collect(client, count) if event["name"] == name]


def draw(seq, strokes, width=400, height=400):
    return {"seq": seq, "strokes": strokes, "width": width, "height": height}


def test_strokes_in_one_frame_out_with_every_layer(sio, network):
    sio.emit("draw", draw(5, SEVEN))
    (data,) = received(sio, "frame")
    assert isinstance(data, bytes)
    frame = frame_decode.decode(data, network)
    assert frame["seq"] == 5
    assert {name: layer["shape"] for name, layer in frame["layers"].items()} == SHAPES
    outputs = network.run(strokes_to_input(SEVEN)[None])
    assert frame["digit"] == int(outputs["output"][0].argmax())
    np.testing.assert_allclose(frame["probabilities"], outputs["output"][0], atol=1e-6)
    conv2 = frame["layers"]["conv2"]
    step = (conv2["max"] - conv2["min"]) / 255
    assert np.all(np.abs(conv2["values"] - outputs["conv2"][0]) <= step / 2 + 1e-5)


def test_pen_digits_are_read(sio, pen_test_samples, network):
    samples = pen_test_samples[::20]
    got = []
    for seq, sample in enumerate(samples):
        sio.emit("draw", draw(seq, fit_to_canvas(sample["strokes"], 400)))
        got.append(frame_decode.decode(received(sio, "frame")[0], network))
    assert [f["seq"] for f in got] == list(range(len(samples)))
    hits = sum(f["digit"] == s["label"] for f, s in zip(got, samples))
    assert hits >= 0.95 * len(samples)


def test_empty_drawing_gets_an_empty_frame(sio, network):
    sio.emit("draw", draw(3, []))
    frame = frame_decode.decode(received(sio, "frame")[0], network)
    assert frame["seq"] == 3 and frame["digit"] == -1 and frame["layers"] == {}


def test_picture_event(sio, pen_test_samples, network):
    sample = next(s for s in pen_test_samples if s["label"] == 5)
    sio.emit("image", {"seq": 8, "data": photo_of(sample["strokes"])})
    frame = frame_decode.decode(received(sio, "frame")[0], network)
    assert frame["seq"] == 8 and frame["digit"] == 5


@pytest.mark.parametrize(
    "event, payload, words",
    [
        ("draw", draw(1, [[[0, "a"]]]), "numbers"),
        ("draw", draw(1, [[[0, float("nan")]]]), "NaN"),
        ("draw", draw(1, [[[0, float("inf")]]]), "finite"),
        ("draw", draw(1, [[[0, 0]] * 10_001]), "too many points"),
        ("draw", draw(1, "scribble"), "list of strokes"),
        ("draw", draw(1, SEVEN, width=-5), "width"),
        ("draw", draw(1, SEVEN, height=float("nan")), "height"),
        ("draw", {"seq": "one", "strokes": SEVEN, "width": 9, "height": 9}, "seq"),
        ("draw", [1, 2, 3], "expected an object"),
        ("draw", None, "expected an object"),
        ("image", {"seq": 1, "data": b"GIF89a-not-really"}, "not an image"),
        ("image", {"seq": 1, "data": decompression_bomb()}, "too large"),
        ("image", {"seq": 1, "data": "a string"}, "binary"),
        ("hack_the_planet", {"x": 1}, "unknown event"),
    ],
)
def test_bad_input_gets_an_error_and_the_client_stays(sio, event, payload, words, network):
    sio.emit(event, payload)
    errors = received(sio, "error_message")
    assert len(errors) == 1 and words in errors[0]["error"], errors
    time.sleep(0.05)
    assert sio.get_received() == []  # one answer, nothing more
    assert sio.is_connected()
    sio.emit("draw", draw(2, SEVEN))
    assert frame_decode.decode(received(sio, "frame")[0], network)["seq"] == 2


def test_clients_only_get_their_own_frames(app):
    from webapp import socketio

    a, b = socketio.test_client(app), socketio.test_client(app)
    a.emit("draw", draw(1, SEVEN))
    assert [event["name"] for event in collect(a)] == ["frame"]
    a.emit("draw", draw(2, [[[0, "bad"]]]))
    assert [event["name"] for event in collect(a)] == ["error_message"]
    time.sleep(0.05)
    assert b.get_received() == []


# A real server in its own process, spoken to over real sockets.


@pytest.fixture
def remote(live_server, network):
    clients = []

    def connect():
        client = socketio_client.Client(reconnection=False)
        inbox = {"frame": [], "error_message": []}
        client.on("frame", lambda data: inbox["frame"].append(frame_decode.decode(data, network)))
        client.on("error_message", lambda e: inbox["error_message"].append(e))
        client.connect(live_server, transports=["websocket"], wait_timeout=10)
        in_order(client)
        clients.append(client)
        return client, inbox

    yield connect
    for client in clients:
        client.disconnect()


def in_order(client):
    """Handle this client's messages one after another, as a browser does. python-socketio's
    threaded client hands each incoming message to a thread of its own, so two frames sent
    in order could be seen in either order (and a frame's two parts paired wrongly)."""
    client.eio.start_background_task = lambda target, *args, **kwargs: target(*args, **kwargs)


def wait_for(condition, timeout=10.0):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_latest_wins_when_a_client_sends_faster_than_answers(remote, pen_test_samples):
    client, inbox = remote()
    digits = [fit_to_canvas(s["strokes"], 400) for s in pen_test_samples[:60]]
    for seq, strokes in enumerate(digits):
        client.emit("draw", draw(seq, strokes))
    wait_for(lambda: inbox["frame"] and inbox["frame"][-1]["seq"] == len(digits) - 1)
    seqs = [f["seq"] for f in inbox["frame"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # never an older drawing after a newer one
    assert inbox["frame"][-1]["digit"] == pen_test_samples[59]["label"]


def test_oversized_message_gets_an_error_and_others_are_served(remote):
    big, big_inbox = remote()
    other, other_inbox = remote()
    big.emit("draw", {"seq": 1, "strokes": SEVEN, "width": 9, "height": 9, "padding": "x" * 1_200_000})
    wait_for(lambda: big_inbox["error_message"])
    assert "too large" in big_inbox["error_message"][0]["error"]
    other.emit("draw", draw(4, SEVEN))
    wait_for(lambda: other_inbox["frame"])
    big.emit("draw", draw(5, SEVEN))
    wait_for(lambda: big_inbox["frame"])
    assert big.connected and big_inbox["frame"][0]["seq"] == 5


def test_flooding_client_is_told_to_slow_down_and_others_are_served(remote):
    flood, flood_inbox = remote()
    other, other_inbox = remote()
    for seq in range(1500):
        flood.emit("draw", draw(seq, SEVEN))
    other.emit("draw", draw(7, SEVEN))
    wait_for(lambda: other_inbox["frame"])
    wait_for(lambda: any("slow down" in e["error"] for e in flood_inbox["error_message"]))
    assert other_inbox["frame"][0]["seq"] == 7 and other_inbox["error_message"] == []
