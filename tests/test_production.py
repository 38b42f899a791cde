"""README's production command (gunicorn with gevent and the frame worker process): the
drawing stream, saliency on a real thread, and a classroom round trip."""
import threading

import pytest
import requests
import socketio as socketio_client

from bench.load import free_port, start_server
from tests.classroom import cookie_header
from tests.drawings import SEVEN


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    process, url = start_server(free_port(), database=tmp_path_factory.mktemp("prod") / "classroom.sqlite3")
    yield url
    process.terminate()
    process.wait(10)


def test_frames_saliency_and_a_class_under_gevent(production):
    saliency = requests.post(production + "/api/saliency", json={"strokes": SEVEN}, timeout=30)
    assert saliency.status_code == 200 and saliency.json()["digit"] == 7
    teacher = requests.Session()
    code = teacher.post(production + "/class", allow_redirects=False).headers["Location"].split("/")[2]
    pupil = requests.Session()
    assert pupil.post(production + "/join", data={"code": code, "name": "Ana"}, allow_redirects=False).status_code == 302

    got = {"frame": threading.Event(), "submitted": threading.Event()}
    client = socketio_client.Client(reconnection=False)
    client.on("frame", lambda data: got["frame"].set())
    client.on("submitted", lambda data: got.update(submission=data) or got["submitted"].set())
    client.connect(production, headers={"Cookie": cookie_header(pupil)}, transports=["websocket"], wait_timeout=10)
    try:
        client.emit("draw", {"seq": 1, "strokes": SEVEN, "width": 400, "height": 400})
        assert got["frame"].wait(30)
        client.emit("join_class", {"code": code, "role": "student"})
        client.emit("submit", {"strokes": SEVEN, "width": 400, "height": 400, "intended": 7})
        assert got["submitted"].wait(10) and got["submission"]["predicted"] == 7
    finally:
        client.disconnect()
    exported = teacher.get(f"{production}/class/{code}/export.json", timeout=10).json()["submissions"]
    assert [(s["name"], s["intended"]) for s in exported] == [("Ana", 7)]
