"""Train it live over the Socket.IO interface: a quick job end to end (events in order, a
servable model, its metrics file), settings and permissions refused with a clear message,
one job at a time, pause/resume/stop, and fine-tuning on drawings by unseen writers."""
import json
import math
import time
from pathlib import Path

import pytest

from tests.classroom import connect, join, start_class, wait_for_events
from tests.drawings import SEVEN
from webapp import create_app, socketio
from webapp.models import get_models
from webapp.training.jobs import get_trainer

# A few seconds of training: two epochs of 256 images each.
TINY = {"preset": "quick", "epochs": 2, "samples_per_epoch": 256, "validation_samples": 128, "batch_size": 64}


@pytest.fixture
def training_app(tmp_path):
    return create_app({"TESTING": True, "CLASSROOM_DB": str(tmp_path / "classroom.sqlite3"), "FRAME_WINDOW": None,
                       "TRAINING_DIR": str(tmp_path / "trained")})


@pytest.fixture
def watcher(training_app):
    client = socketio.test_client(training_app)
    client.emit("train_watch", {})
    (state,) = wait_for_events(client, "training_state")
    client.state = state
    yield client
    trainer = get_trainer(training_app)
    if trainer.job is not None and trainer.job.running:
        trainer.command("stop")
        trainer.job.process.join(60)
    if client.is_connected():
        client.disconnect()


def training_events(client, until=("done", "failed", "diverged", "stopped"), timeout=120):
    """The job's events in arrival order, up to and including the first of `until`."""
    found = []
    deadline = time.time() + timeout
    while not found or found[-1]["type"] not in until:
        assert time.time() < deadline, f"no {until} event; got {[e['type'] for e in found]}"
        found += wait_for_events(client, "training", timeout=deadline - time.time())
    return found


def errors(client):
    return [e["args"][0]["error"] for e in client.get_received() if e["name"] == "error_message"]


def test_quick_job_runs_end_to_end(training_app, watcher):
    assert watcher.state["allowed"] and watcher.state["job"] is None
    watcher.emit("train_start", TINY)
    events = training_events(watcher)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "queued" and kinds[-1] == "done", kinds
    assert kinds.index("started") < kinds.index("progress") < kinds.index("epoch")
    steps = [e["step"] for e in events if e["type"] == "progress"]
    assert steps == sorted(steps) and steps[-1] == events[kinds.index("started")]["total_steps"] == 2 * 4
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2]
    assert all(math.isfinite(e["loss"]) and e["eta"] >= 0 for e in events if e["type"] == "progress")
    pictures = [e for e in events if e["type"] == "pictures"]
    assert pictures and pictures[-1]["filters"]["shape"] == [24, 2, 2] and len(pictures[-1]["probabilities"]) == 10

    done = events[-1]
    name = done["model"]
    assert name in get_models(training_app).names
    folder = Path(training_app.config["TRAINING_DIR"]) / name
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["epochs_done"] == 2 and metrics["data"]["mnist_train_images"] == 512
    assert 0 <= metrics["validation_accuracy"] <= 1 and metrics["settings"]["learning_rate"] == 0.001
    # Servable: the picker lists it, and a drawing sent to it gets a frame.
    page = training_app.test_client().get("/train").get_data(as_text=True)
    assert f'data-model="{name}"' in page
    watcher.emit("draw", {"seq": 1, "strokes": SEVEN, "width": 400, "height": 400, "model": name})
    (frame,) = wait_for_events(watcher, "frame")
    assert frame


def test_a_page_opened_later_gets_the_job_so_far(training_app, watcher):
    watcher.emit("train_start", TINY)
    training_events(watcher, until=("epoch",))
    late = socketio.test_client(training_app)
    late.emit("train_watch", {})
    (state,) = wait_for_events(late, "training_state")
    job = state["job"]
    assert job["kind"] == "scratch" and job["points"] and job["epochs"][0]["epoch"] == 1
    assert training_events(late)[-1]["type"] == "done"  # and it follows the job from there
    late.disconnect()


def test_one_job_at_a_time(training_app, watcher):
    watcher.emit("train_start", TINY)
    training_events(watcher, until=("queued",))
    watcher.emit("train_start", TINY)
    assert any("already running" in e for e in errors_soon(watcher))
    assert training_events(watcher)[-1]["type"] == "done"


def errors_soon(client, timeout=5):
    (error,) = wait_for_events(client, "error_message", timeout=timeout)
    return [error["error"]]


@pytest.mark.parametrize("change, says", [
    ({"epochs": 0}, "epochs must be a whole number from 1 to 100"),
    ({"batch_size": 100000}, "batch size must be a whole number from 1 to 1024"),
    ({"learning_rate": float("nan")}, "learning rate must be a number"),
    ({"batch_size": 512, "samples_per_epoch": 256}, "cannot be larger than the images per epoch"),
    ({"architecture": "resnet"}, "architecture must be one of tutorial, deep3x3"),
])
def test_bad_settings_are_refused(training_app, watcher, change, says):
    watcher.emit("train_start", {**TINY, **change})
    assert says in errors_soon(watcher)[0]
    assert get_trainer(training_app).job is None


def test_training_turned_off(tmp_path):
    app = create_app({"TESTING": True, "CLASSROOM_DB": str(tmp_path / "c.sqlite3"), "ALLOW_TRAINING": "off",
                      "TRAINING_DIR": str(tmp_path / "trained")})
    client = socketio.test_client(app)
    client.emit("train_start", TINY)
    assert errors_soon(client) == ["training is turned off on this server"]
    assert get_trainer(app).job is None


def test_a_student_cannot_train(training_app):
    http = training_app.test_client()
    code = start_class(http)
    pupil = training_app.test_client()
    join(pupil, code, "Ada")
    student, _ = connect(training_app, pupil, code, "student")
    for event in ("train_start", "class_finetune"):
        student.emit(event, TINY)
        assert "only the class's teacher" in errors_soon(student)[0]
    assert get_trainer(training_app).job is None


def test_pause_resume_stop(training_app, watcher):
    watcher.emit("train_start", {**TINY, "epochs": 8, "samples_per_epoch": 512})
    training_events(watcher, until=("progress",))
    watcher.emit("train_pause", {})
    paused = training_events(watcher, until=("paused",))[-1]
    time.sleep(1.5)
    during = [e for e in watcher.get_received() if e["name"] == "training" and e["args"][0]["type"] == "progress"]
    assert not during  # nothing trains while paused
    watcher.emit("train_resume", {})
    resumed = training_events(watcher, until=("progress",))
    assert [e["type"] for e in resumed][0] == "resumed" and resumed[-1]["step"] > paused["step"]
    training_events(watcher, until=("epoch",))
    watcher.emit("train_stop", {})
    last = training_events(watcher)[-1]
    assert last["type"] == "done"
    metrics = json.loads((Path(training_app.config["TRAINING_DIR"]) / last["model"] / "metrics.json").read_text())
    assert metrics["stopped"] and 1 <= metrics["epochs_done"] < 8


def test_the_server_knows_every_architecture():
    from model.train import ARCHITECTURES
    from webapp.training.settings import ARCHITECTURES as OFFERED

    assert set(OFFERED) == set(ARCHITECTURES)


MNIST_ONLY = Path(__file__).resolve().parent.parent / "model" / "zoo" / "mnist-only" / "mnist_cnn.keras"


def test_teach_it_our_handwriting(tmp_path, pen_test_samples):
    """A class of writers the model never saw (pen digits, writers 1-4; the MNIST-only model,
    ~94% on them): fine-tuning on 300 of their drawings raises the held-back part's accuracy,
    and the class can then switch to the new model."""
    import numpy as np

    from model.preprocess import strokes_to_input

    app = create_app({"TESTING": True, "CLASSROOM_DB": str(tmp_path / "c.sqlite3"), "FRAME_WINDOW": None,
                      "TRAINING_DIR": str(tmp_path / "trained"), "MODELS": str(MNIST_ONLY)})
    http = app.test_client()
    code = start_class(http)
    store = app.extensions["classroom"].store
    klass = store.find_class(code)
    writers = {}
    picks = np.random.default_rng(0).choice(len(pen_test_samples), 300, replace=False)
    for sample in (pen_test_samples[i] for i in picks):  # each pen writer a student of the class
        if sample["writer"] not in writers:
            writers[sample["writer"]] = store.add_student(klass, f"writer {sample['writer']}")[0]
        drawing = {"strokes": sample["strokes"], "width": 500, "height": 500}
        store.add_submission(writers[sample["writer"]], drawing, strokes_to_input(sample["strokes"]), sample["label"], [0.1] * 10, "mnist-only")
    pupil = app.test_client()
    join(pupil, code, "Ada")
    student, _ = connect(app, pupil, code, "student")
    teacher, _ = connect(app, http, code, "teacher")

    started = time.time()
    teacher.emit("class_finetune", {})
    events = training_events(teacher, timeout=180)
    seconds = time.time() - started
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "done", events[-1]
    before, after = (next(e for e in events if e["type"] == kind) for kind in ("before", "after"))
    held = before["count"]
    assert held == after["count"] and 70 <= held <= 80  # a quarter of each digit's drawings, rounded
    assert kinds.index("before") < kinds.index("epoch") < kinds.index("after")
    assert sum(map(sum, after["confusion"])) == held
    print(f"held back: {before['accuracy']:.3f} -> {after['accuracy']:.3f} in {seconds:.1f} s")
    assert after["accuracy"] >= before["accuracy"] + 0.02  # ~0.93 before; it learned the class's hand
    assert not any(e["name"] == "training" for e in student.get_received())  # the class's job is the teacher's

    name = events[-1]["model"]
    teacher.emit("class_use_model", {"model": name})
    (switched,) = wait_for_events(student, "class_model")
    assert switched == {"model": name, "default": False}
    student.emit("submit", {"strokes": SEVEN, "width": 400, "height": 400, "intended": 7})
    (mine,) = wait_for_events(student, "submitted")
    assert mine["model"] == name
    page = pupil.get(f"/class/{code}").get_data(as_text=True)  # a student's page, opened or reloaded now
    assert f"Read by the class's own model: <strong>{name}</strong>" in page and f'data-model="{name}"' in page
    student.emit("class_use_model", {"model": None})
    assert "only the class's teacher" in errors_soon(student)[0]


class Recorder:
    """The training process's two pipe ends, in process: events kept, no commands."""

    def __init__(self):
        self.events = []

    def send(self, event):
        self.events.append(event)

    def poll(self, timeout=0):
        return False

    def close(self):
        pass


def test_a_diverging_job_says_so_and_saves_nothing(tmp_path):
    """A NaN loss (here from drawings that are NaN) ends the job as diverged: no model file,
    so the model in use stays; the runner tells the pages and registers nothing."""
    import numpy as np

    from model import live_training
    from model.network import DEFAULT_MODEL_PATH

    images = np.full((40, 28, 28), np.nan, np.float32)
    labels = np.arange(40) % 10
    recorder = Recorder()
    job = {"kind": "finetune", "output": str(tmp_path / "out"), "base": str(DEFAULT_MODEL_PATH), "images": images,
           "labels": labels, "settings": {"epochs": 2, "batch_size": 8, "learning_rate": 0.001, "held_back": 0.25}, "niceness": 0}
    live_training.run(job, recorder, Recorder())
    kinds = [e["type"] for e in recorder.events]
    assert kinds[-1] == "diverged" and "NaN" in recorder.events[-1]["error"], kinds
    assert "saved" not in kinds and not (tmp_path / "out").exists()
