"""Durability: a real server takes submissions, is killed with SIGKILL, starts again on the
same database, and the teacher sees every acknowledged submission."""
import os
import signal
import threading

import requests
import socketio as socketio_client

from tests.classroom import cookie_header
from tests.conftest import start_server
from tests.drawings import fit_to_canvas


class Remote:
    """A python-socketio client carrying a browser session's cookies, recording events."""

    def __init__(self, url, session):
        self.events = {}
        self.arrived = threading.Condition()
        self.client = socketio_client.Client(reconnection=False)
        self.client.on("*", self.record)
        self.client.connect(url, headers={"Cookie": cookie_header(session)}, transports=["websocket"], wait_timeout=10)

    def record(self, event, data=None):
        with self.arrived:
            self.events.setdefault(event, []).append(data)
            self.arrived.notify_all()

    def wait(self, event, count=1, timeout=10):
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.events.get(event, [])) >= count, timeout), (event, self.events.keys())
            return self.events[event][:count]


def test_submissions_survive_a_killed_server(tmp_path, pen_test_samples):
    database = tmp_path / "classroom.sqlite3"
    process, url = start_server(database)
    remotes = []
    try:
        teacher = requests.Session()
        started = teacher.post(url + "/class", allow_redirects=False)
        code = started.headers["Location"].split("/")[2]
        acknowledged = []
        for k, name in enumerate(("Ana", "Bo", "Cy")):
            session = requests.Session()
            assert session.post(url + "/join", data={"code": code, "name": name}, allow_redirects=False).status_code == 302
            remote = Remote(url, session)
            remotes.append(remote)
            remote.client.emit("join_class", {"code": code, "role": "student"})
            remote.wait("class_state")
            for n, sample in enumerate(pen_test_samples[k * 5 : k * 5 + 5]):
                drawing = {"strokes": fit_to_canvas(sample["strokes"], 400), "width": 400, "height": 400}
                remote.client.emit("submit", {**drawing, "intended": sample["label"]})
                acknowledged.append((name, remote.wait("submitted", n + 1)[-1]["id"], sample["label"]))
        os.kill(process.pid, signal.SIGKILL)  # no shutdown, no flush: only what was committed survives
        process.wait(10)
        for remote in remotes:
            remote.client.disconnect()
        remotes = []

        process, url = start_server(database)
        remote = Remote(url, teacher)
        remotes.append(remote)
        remote.client.emit("join_class", {"code": code, "role": "teacher"})
        (state,) = remote.wait("class_state")
        assert [(s["name"], s["id"], s["intended"]) for s in state["submissions"]] == acknowledged
        assert state["stats"]["total"] == len(acknowledged) == 15 and state["joined"] == 3
        exported = teacher.get(f"{url}/class/{code}/export.json").json()["submissions"]
        assert [r["id"] for r in exported] == [a[1] for a in acknowledged]
        assert all(r["strokes"] for r in exported)
    finally:
        for remote in remotes:
            remote.client.disconnect()
        process.kill()
        process.wait(10)
