"""The job runner: one training job at a time per server process, in a process of its own
(model/live_training.py, the only place TensorFlow is imported), its events relayed to the
pages that watch it and kept, so that a page opened later picks up where the job is."""
import logging
import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from model import live_training

from ..waits import wait_readable
from ..events import BadMessage
from ..models import ModelRefused

log = logging.getLogger(__name__)
ROOM = "training"  # every page that watches training (the training page, a class's teacher)
MAX_POINTS = 600  # loss-curve points kept for a page that opens late; thinned beyond that
FINISHED = ("done", "stopped", "diverged", "failed")


@dataclass
class Job:
    id: int
    kind: str  # "scratch" or "finetune"
    settings: dict
    rooms: tuple
    klass: int = None  # a class's fine-tuning: only that class's teacher controls it
    state: str = "starting"
    points: list = field(default_factory=list)  # progress events, thinned
    epochs: list = field(default_factory=list)
    latest: dict = field(default_factory=dict)  # the last event of each other type
    model: str = None  # the trained model's name, once saved and shown
    error: str = None
    process: object = None
    commands: object = None

    @property
    def running(self) -> bool:
        return self.state not in FINISHED

    def snapshot(self) -> dict:
        return {"id": self.id, "kind": self.kind, "settings": self.settings, "state": self.state, "points": self.points,
                "epochs": self.epochs, "latest": self.latest, "model": self.model, "error": self.error, "klass": self.klass}

    def remember(self, event):
        kind = event["type"]
        if kind == "progress":
            self.points.append(event)
            if len(self.points) > MAX_POINTS:
                self.points = self.points[::2]  # halve the resolution, keep the whole curve
        elif kind == "epoch":
            self.epochs.append(event)
        else:
            self.latest[kind] = event


class Trainer:
    """Starts jobs, passes commands to the running one, relays its events."""

    def __init__(self, app, socketio, models):
        self.socketio, self.models = socketio, models
        self.output = Path(app.config["TRAINING_DIR"] or Path(app.instance_path) / "trained")
        self.threads, self.niceness = app.config["TRAINING_THREADS"], app.config["TRAINING_NICENESS"]
        self.job = None
        self._ids = 0
        self._lock = threading.Lock()

    def start(self, kind, settings, rooms=(ROOM,), klass=None, **data) -> Job:
        """A new job, unless one is running (BadMessage: one at a time per server)."""
        with self._lock:
            if self.job is not None and self.job.running:
                raise BadMessage(f"a training job is already running ({self.job.kind}, {self.job.state}): wait for it to end, or stop it")
            self._ids += 1
            job = self.job = Job(self._ids, kind, settings, tuple(rooms), klass)
        name = f"{'class' if kind == 'finetune' else 'trained'}-{time.strftime('%Y%m%d-%H%M%S')}-{job.id}"
        spec = {"kind": kind, "settings": settings, "output": str(self.output / name), "threads": self.threads,
                "niceness": self.niceness, **data}
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        events, events_in = context.Pipe(duplex=False)
        commands_in, commands = context.Pipe(duplex=False)
        job.process = context.Process(target=live_training.run, args=(spec, events_in, commands_in), name="cnnview-training", daemon=True)
        try:
            job.process.start()
        except OSError as error:  # no process to be had (memory, process limit): the next request may try again
            job.state, job.error = "failed", f"the training process could not start ({error})"
            raise BadMessage(job.error) from None
        events_in.close()  # the child's end: our copy closed, its exit reads as the end of the pipe
        commands_in.close()
        job.commands = commands
        self.publish(job, {"type": "queued", "settings": settings, "kind": kind})
        self.socketio.start_background_task(self._relay, job, events, name)
        return job

    def command(self, kind, **fields):
        """"pause", "resume", "stop" or "probe" to the running job (BadMessage if none)."""
        job = self.job
        if job is None or not job.running:
            raise BadMessage("no training job is running")
        try:
            job.commands.send({"type": kind, **fields})
        except OSError:
            raise BadMessage("the training job has just ended") from None

    def snapshot(self):
        return self.job.snapshot() if self.job is not None else None

    def publish(self, job, event):
        job.remember(event)
        # One emit to all the job's rooms: a page in two of them gets each event once.
        self.socketio.emit("training", {"job": job.id, **event}, to=list(job.rooms))

    def _relay(self, job, events, name):
        """Every event of the job's process to its watchers, until the process ends."""
        while True:
            try:
                wait_readable(events)
                event = events.recv()
            except (EOFError, OSError):
                break
            self._follow(job, event, name)
        events.close()
        job.process.join(10)
        if job.running:  # ended without a word: killed, out of memory
            self._finish(job, "failed", error=f"the training process ended unexpectedly (exit code {job.process.exitcode})")

    def _follow(self, job, event, name):
        kind = event["type"]
        if kind == "saved":
            return self._register(job, event, name)
        if kind in ("failed", "diverged", "stopped"):
            return self._finish(job, kind, error=event.get("error"))
        if kind in ("started", "resumed", "progress"):
            job.state = "running"
        elif kind in ("paused", "stopping"):
            job.state = kind
        self.publish(job, event)

    def _register(self, job, event, name):
        """The saved model joins the server's models: the picker lists it, pages can use it."""
        try:
            self.models.add(name, event["path"])
        except ModelRefused as refused:
            return self._finish(job, "failed", error=f"the trained model cannot be shown: {refused}")
        job.model = name
        self._finish(job, "done", model=name, metrics=event["metrics"])

    def _finish(self, job, state, **fields):
        job.state = state
        if fields.get("error"):
            job.error = fields["error"]
        self.publish(job, {"type": state, **{k: v for k, v in fields.items() if v is not None}})


def get_trainer(app) -> Trainer:
    return app.extensions["cnnview.training"]
