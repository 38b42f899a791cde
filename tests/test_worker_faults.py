"""Faults and abuse against README's production command (gunicorn -k gevent): a stopped
frame worker, poisoned drawings, bad HTTP bodies and big picture uploads. Each must cost
only its sender, never a traceback in the server's log."""
import os
import queue
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import socketio as socketio_client

from bench.load import server_pids, start_server
from bench.upload_stall import big_png
from tests.drawings import SEVEN, photo_of
from tests.test_socket import in_order
from webapp.compute import TOO_SLOW
from webapp.frames import HEADER

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    log = folder / "server.log"
    process, url = start_server(database=folder / "classroom.sqlite3", wait=90, env={"CNNVIEW_WORKER_TIMEOUT": "2"}, log=log)
    yield url, process.pid, log
    process.terminate()
    process.wait(10)


def worker_pid(master, name):
    for pid in server_pids(master):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                return pid
        except FileNotFoundError:
            pass
    return None


class Drawer:
    """A socket client that draws and waits for the answer to each drawing."""

    def __init__(self, url):
        self.answers = queue.Queue()
        self.client = socketio_client.Client(reconnection=False)
        self.client.on("frame", lambda data: self.answers.put(("frame", HEADER.unpack_from(data, 0)[4])))
        self.client.on("error_message", lambda data: self.answers.put(("error", data.get("seq"), data["error"])))
        self.client.connect(url, transports=["websocket"], wait_timeout=30)
        in_order(self.client)

    def draw(self, seq, strokes=SEVEN, timeout=30):
        self.client.emit("draw", {"seq": seq, "strokes": strokes, "width": 400, "height": 400})
        return self.answers.get(timeout=timeout)

    def round_trip(self, seq):
        started = time.perf_counter()
        assert self.draw(seq) == ("frame", seq)
        return time.perf_counter() - started

    def close(self):
        self.client.disconnect()


def nested(depth):
    point = [0, 0]
    for _ in range(depth):
        point = [point]
    return [point]


def assert_no_traceback(log):
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


def test_a_stopped_frame_worker_is_replaced_and_its_clients_told(server):
    url, master, log = server
    drawer = Drawer(url)
    try:
        assert drawer.draw(1) == ("frame", 1)
        stopped = worker_pid(master, "cnnview-frames")
        os.kill(stopped, signal.SIGSTOP)
        try:
            started = time.perf_counter()
            assert drawer.draw(2) == ("error", 2, TOO_SLOW)
            told = time.perf_counter() - started
            assert 1.9 <= told < 3.5, told  # WORKER_TIMEOUT is 2 s
            started = time.perf_counter()
            assert drawer.draw(3) == ("frame", 3)  # the next drawing: a new worker
            replaced = time.perf_counter() - started
        finally:
            if worker_pid(master, "cnnview-frames") == stopped:
                os.kill(stopped, signal.SIGCONT)
        assert worker_pid(master, "cnnview-frames") not in (None, stopped)
        assert replaced < 20, replaced  # a process start: ~1 s idle, longer on a busy machine
        print(f"stopped worker: told in {told:.2f} s, next frame from a new worker in {replaced:.2f} s")
    finally:
        drawer.close()


def test_poisoned_drawings_cost_nobody_a_frame(server):
    url, _, log = server
    victim, attacker = Drawer(url), Drawer(url)
    poison = nested(990)  # 2 KB of JSON that passes the parser and overflowed the pickler
    stop = threading.Event()

    def attack():
        seq = 0
        while not stop.is_set():
            attacker.client.emit("draw", {"seq": seq, "strokes": poison, "width": 400, "height": 400})
            seq += 1
            time.sleep(0.01)

    thread = threading.Thread(target=attack)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # for the client's own json.dumps of the poison
    thread.start()
    try:
        answers = [victim.draw(seq, timeout=10) for seq in range(40)]
    finally:
        stop.set()
        thread.join()
        sys.setrecursionlimit(limit)
        victim.close()
    time.sleep(0.5)
    attacker.close()
    assert answers == [("frame", seq) for seq in range(40)]
    complaint = attacker.answers.get(timeout=5)
    assert complaint[0] == "error" and "stroke 0: every point must be a pair [x, y]" in complaint[2]
    assert_no_traceback(log)


@pytest.mark.parametrize(
    "body, status, words",
    [
        (b'{"strokes": [[[0, 0], [1e-310, 1e-315]]]}', 200, ""),  # a dot
        (b'{"strokes": [[[0, 0], [0, 1e-320]]]}', 200, ""),  # zero width, subnormal height: a dot
        (b'{"strokes": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "nesting"),
        (b'{"strokes": [' + b"[" * 990 + b"0, 0" + b"]" * 990 + b"]}", 400, "every point must be a pair"),
        (b'{"strokes": [[[1e308, 0]]]}', 400, "beyond"),
        (b'{"strokes": [[[1e309, 0]]]}', 400, ""),
        (b'{"strokes": [[[NaN, 0]]]}', 400, "NaN"),
        (b'{"strokes": [[[' + b"9" * 5000 + b', 0]]]}', 400, "64 bits"),
        (b'{"strokes": [[[true, false]]]}', 400, "numbers"),
        (b'{"strokes": [[[0, 0, 0]]]}', 400, "pair"),
        (b'{"strokes": "x"}', 400, "list of strokes"),
        (b'[1, 2]', 400, "strokes"),
        (b"\xff\xfe", 400, "JSON"),
    ],
)
def test_bad_bodies_get_a_4xx_with_a_json_error(server, body, status, words):
    url, _, log = server
    answer = requests.post(url + "/api/predict", data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == status, answer.text[:300]
    assert words in (answer.json().get("error", "") if status >= 400 else "")
    if status == 200:
        assert answer.json()["input"] and max(map(max, answer.json()["input"])) > 0.9  # a centred dot
    assert_no_traceback(log)


@pytest.mark.parametrize("path", ["/api/predict", "/join", "/class"])
def test_a_body_the_server_cannot_read_is_a_400(server, path):
    """A broken chunked encoding: gunicorn's parser raises its own error where the view
    first reads the body; that must be the client's 400, not a traceback."""
    url, _, log = server
    host, port = url.rsplit("/", 1)[1].split(":")
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert_no_traceback(log)


def test_uploads_do_not_stall_drawing_clients(server):
    url, _, log = server
    photo, huge = big_png(12), big_png(36)
    drawer = Drawer(url)
    try:
        drawer.round_trip(0)
        alone = [drawer.round_trip(seq) for seq in range(1, 31)]
        answers, stop = [], threading.Event()

        def upload(data):
            while not stop.is_set():
                answer = requests.post(url + "/api/predict", files={"image": ("page.png", data)}, timeout=120)
                answers.append((answer.status_code, answer.json()))

        uploaders = [threading.Thread(target=upload, args=(photo,)) for _ in range(2)]
        uploaders.append(threading.Thread(target=upload, args=(huge,)))
        for thread in uploaders:
            thread.start()
        time.sleep(0.5)
        busy, seq, until = [], 31, time.perf_counter() + 3  # several uploads' decoding
        while time.perf_counter() < until:
            busy.append(drawer.round_trip(seq))
            seq += 1
        stop.set()
        for thread in uploaders:
            thread.join(180)
    finally:
        drawer.close()
    statuses = {status for status, _ in answers}
    assert statuses <= {200, 400, 503}, statuses
    assert any(status == 200 and body["digit"] == 7 for status, body in answers)  # a 12 MP photo is read
    assert all("too large" in body["error"] for status, body in answers if status == 400)  # the 36 MP page
    assert all("try again" in body["error"] for status, body in answers if status == 503)
    p50_alone, p50_busy = np.median(alone), np.median(busy)
    print(f"drawing p50 alone {p50_alone * 1000:.1f} ms, during uploads {p50_busy * 1000:.1f} ms; uploads {len(answers)}")
    # Loose: decoding takes a core of two, and this machine may be shared. Decoded in the
    # event loop, one 36 MP page at a time made the median 1.7 s and left most drawings
    # unanswered (bench/RESULTS.md).
    assert p50_busy < max(10 * p50_alone, p50_alone + 0.1), (p50_alone, p50_busy)
    assert_no_traceback(log)


def test_a_socket_picture_is_read_by_the_picture_worker(server):
    url, master, _ = server
    drawer = Drawer(url)
    try:
        drawer.client.emit("image", {"seq": 5, "data": photo_of(SEVEN)})
        assert drawer.answers.get(timeout=60) == ("frame", 5)
        drawer.client.emit("image", {"seq": 6, "data": b"not a picture"})
        assert drawer.answers.get(timeout=60) == ("error", 6, "not an image: upload a PNG or JPEG")
    finally:
        drawer.close()
    assert worker_pid(master, "cnnview-picture") not in (None, worker_pid(master, "cnnview-frames"))
