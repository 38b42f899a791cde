import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
os.environ.setdefault("MNIST_PATH", str(SHARED / "mnist.npz"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from model.data import DEFAULT_PEN_TEST, load_pen_samples  # noqa: E402
from model.forward import Forward  # noqa: E402
from model.network import DEFAULT_MODEL_PATH  # noqa: E402
from model.parse_layers import describe_file  # noqa: E402
from webapp import create_app, socketio  # noqa: E402


@pytest.fixture(scope="session")
def browser():
    from tests.browser import launch

    playwright, browser = launch()
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(scope="session")
def network():
    """The shipped (tutorial's) model, as the server runs it."""
    return Forward(describe_file(DEFAULT_MODEL_PATH))


@pytest.fixture(scope="session")
def pen_test_samples():
    assert DEFAULT_PEN_TEST.exists(), f"pen test digits not found at {DEFAULT_PEN_TEST}"
    return load_pen_samples(DEFAULT_PEN_TEST)


@pytest.fixture
def app(tmp_path):
    # The in-process test client cannot acknowledge frames: no flow-control window for it.
    return create_app({"TESTING": True, "CLASSROOM_DB": str(tmp_path / "classroom.sqlite3"), "FRAME_WINDOW": None})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def teacher_http(app):
    """A teacher's browser session (classroom tests)."""
    return app.test_client()


@pytest.fixture
def klass(teacher_http):
    """The code of a class `teacher_http` started."""
    from tests.classroom import start_class

    return start_class(teacher_http)


@pytest.fixture
def sio(app):
    client = socketio.test_client(app)
    yield client
    if client.is_connected():
        client.disconnect()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database, port=None):
    """The real app in its own process, as `python -m webapp` starts it: (process, url)."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "webapp", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "CNNVIEW_CLASSROOM_DB": str(database)},
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ["SERVER_LOG"], "a") if "SERVER_LOG" in os.environ else subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return process, url
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the app did not start")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    process, url = start_server(tmp_path_factory.mktemp("live") / "classroom.sqlite3")
    yield url
    process.terminate()
    process.wait(10)
