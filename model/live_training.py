"""The training process behind the "Train it live" page: trains a network (from scratch on
MNIST, or fine-tunes a model on a class's drawings) and reports as it goes.

The server starts `run` in a process of its own (webapp/training/jobs.py), so TensorFlow is
only ever imported here. It reads commands ("pause", "resume", "stop", a new probe digit)
from one pipe and writes events (plain dicts) to another; it runs niced and on few threads
so that the server's drawing clients keep their frames.
"""
import json
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np

REPORT_EVERY = 0.25  # seconds between progress events: a smooth bar, little traffic
PICTURE_EVERY = 1.0  # seconds between filter and probe pictures (they cost a forward pass)


def run(job, events, commands):
    """Entry point of the training process. `job`: the validated settings (kind "scratch" or
    "finetune"), the output folder and, for fine-tuning, the drawings."""
    os.nice(job.get("niceness", 10))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Keras warns that a one-input model was called with a tensor rather than a list: harmless.
    warnings.filterwarnings("ignore", message="The structure of `inputs`")
    try:
        _limit_threads(job.get("threads", 1))
        trainer = FineTune(job, events, commands) if job["kind"] == "finetune" else Scratch(job, events, commands)
        trainer.run()
    except Exception as error:  # the server tells the watching pages; the model stays as it was
        events.send({"type": "failed", "error": f"training failed: {type(error).__name__}: {str(error)[:200]}"})
    finally:
        events.close()


def _limit_threads(threads):
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already running in this process (a test calling run() in process): keep its threads
        pass


class Trainer:
    """What both kinds of job share: the live report, saving, the metrics file."""

    def __init__(self, job, events, commands):
        self.job, self.events, self.commands = job, events, commands
        self.settings = job["settings"]
        self.started = time.time()

    def send(self, kind, **fields):
        self.events.send({"type": kind, **fields})

    def fit(self, model, data, validation, probe):
        """Train on `data`, (images, labels) or a keras PyDataset, reporting as it goes."""
        import keras

        model.compile(keras.optimizers.Adam(self.settings["learning_rate"]), "sparse_categorical_crossentropy", metrics=["accuracy"])
        report = LiveReport(self, probe)
        if isinstance(data, tuple):
            inputs, options = (data[0][..., None], data[1]), {"batch_size": self.settings["batch_size"], "shuffle": True}
        else:
            inputs, options = (data,), {}
        model.fit(*inputs, epochs=self.settings["epochs"], validation_data=(validation[0][..., None], validation[1]),
                  callbacks=[report], verbose=0, **options)
        return report

    def save(self, model, metrics):
        """The weights (no optimizer state) and metrics.json, in the job's own folder."""
        import keras

        out = Path(self.job["output"])
        out.mkdir(parents=True, exist_ok=True)
        clean = keras.models.clone_model(model)
        clean.set_weights(model.get_weights())
        clean.save(out / "mnist_cnn.keras")
        metrics = {**metrics, "train_seconds": round(time.time() - self.started, 1), "settings": self.settings}
        (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
        self.send("saved", path=str(out / "mnist_cnn.keras"), metrics=metrics)


class Scratch(Trainer):
    """An untrained network on MNIST: a fresh random subset each epoch when the settings
    ask for fewer images than MNIST has (the quick preset: visible learning in seconds)."""

    def run(self):
        import keras

        from .data import load_mnist
        from .train import ARCHITECTURES

        s = self.settings
        keras.utils.set_random_seed(s.get("seed", 1))
        (x_train, y_train), (x_test, y_test) = load_mnist(self.job.get("mnist"))
        rng = np.random.default_rng(s.get("seed", 1))
        picks = rng.choice(len(x_train), min(s["samples_per_epoch"] * s["epochs"], len(x_train)), replace=False)
        x, y = x_train[picks], y_train[picks]
        held = rng.choice(len(x_test), min(s["validation_samples"], len(x_test)), replace=False)
        model = ARCHITECTURES[s["architecture"]]()
        batches = EpochSlices(x[..., None], y, s["samples_per_epoch"], s["batch_size"])
        report = self.fit(model, batches, (x_test[held], y_test[held]), probe=x_test[0])
        if report.diverged:
            return self.send("diverged", error="the loss became NaN: the network diverged (try a smaller learning rate); the previous model is kept")
        if report.epochs_done == 0:
            return self.send("stopped", error="stopped before the first epoch ended: nothing was saved")
        self.save(model, {
            "kind": "scratch", "architecture": s["architecture"], "params": int(model.count_params()),
            "epochs_done": report.epochs_done, "stopped": report.stopped,
            "validation_accuracy": report.last.get("val_accuracy"),
            "data": {"mnist_train_images": int(len(x)), "mnist_test_images": int(len(held))},
        })


class FineTune(Trainer):
    """An existing model on a class's drawings (the digit each student meant is the label).
    A part is held back and never trained on: its accuracy and confusion matrix before and
    after are what the class sees."""

    def run(self):
        import keras

        s = self.settings
        keras.utils.set_random_seed(s.get("seed", 1))
        images = np.asarray(self.job["images"], np.float32).reshape(-1, 28, 28)
        labels = np.asarray(self.job["labels"], np.int64)
        train, held = split_held_back(labels, s["held_back"], s.get("seed", 1))
        model = keras.saving.load_model(self.job["base"], compile=False)
        before = evaluate(model, images[held], labels[held])
        self.send("before", **before)
        report = self.fit(model, (images[train], labels[train]), (images[held], labels[held]), probe=images[held][0])
        if report.diverged:
            return self.send("diverged", error="the loss became NaN: fine-tuning diverged (try a smaller learning rate); the class keeps its model")
        if report.epochs_done == 0:
            return self.send("stopped", error="stopped before the first epoch ended: the class keeps its model")
        after = evaluate(model, images[held], labels[held])
        self.send("after", **after)
        self.save(model, {
            "kind": "finetune", "base": Path(self.job["base"]).parent.name if Path(self.job["base"]).stem == "mnist_cnn" else Path(self.job["base"]).stem,
            "epochs_done": report.epochs_done, "stopped": report.stopped,
            "held_back": {"before": before, "after": after},
            "data": {"drawings": int(len(labels)), "trained_on": int(len(train)), "held_back": int(len(held)), "source": self.job.get("source")},
        })


def split_held_back(labels, fraction, seed):
    """Indices (train, held back): `fraction` of each digit's drawings held back (at least
    one of a digit with two or more), so every digit the class drew is tested."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for digit in np.unique(labels):
        where = rng.permutation(np.flatnonzero(labels == digit))
        n = int(round(len(where) * fraction)) if len(where) > 1 else 0
        n = max(n, 1) if len(where) > 1 else 0
        held += list(where[:n])
        train += list(where[n:])
    return np.array(sorted(train), np.int64), np.array(sorted(held), np.int64)


def evaluate(model, images, labels) -> dict:
    """Accuracy and the 10x10 confusion matrix (rows: the digit meant, columns: read)."""
    predicted = np.asarray(model(images[..., None], training=False)).argmax(axis=1) if len(images) else np.zeros(0, int)
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    return {"accuracy": float((predicted == labels).mean()) if len(labels) else None, "count": int(len(labels)), "confusion": confusion.tolist()}


class EpochSlices:
    """Made a keras PyDataset on first use (keras is imported in the training process only):
    epoch k sees the `per_epoch` images after epoch k-1's in the shuffled subset, so a quick
    run still sees new digits every epoch."""

    def __new__(cls, x, y, per_epoch, batch_size):
        import keras

        class Slices(keras.utils.PyDataset):
            def __init__(self):
                super().__init__()
                self.epoch = 0

            def __len__(self):
                return -(-per_epoch // batch_size)

            def __getitem__(self, index):
                offsets = np.arange(index * batch_size, min((index + 1) * batch_size, per_epoch))
                picks = (self.epoch * per_epoch + offsets) % len(x)
                return x[picks], y[picks]

            def on_epoch_end(self):
                self.epoch += 1

        return Slices()


def _callback_base():
    import keras

    return keras.callbacks.Callback


class LiveReport:
    """The Keras callback that reports progress, obeys pause/resume/stop and the probe, and
    stops on a NaN loss (made a Callback subclass on first use, as EpochSlices)."""

    def __new__(cls, trainer, probe):
        base = _callback_base()
        report = type("LiveReportCallback", (_LiveReport, base), {})()
        report.setup(trainer, probe)
        return report


class _LiveReport:
    def setup(self, trainer, probe):
        self.trainer, self.probe = trainer, np.asarray(probe, np.float32)
        self.step = self.epochs_done = 0
        self.first_step = 0.0
        self.paused_for = 0.0
        self.diverged = self.stopped = False
        self.last = {}
        self._reported = self._pictured = 0.0

    def on_train_begin(self, logs=None):
        params = self.params or {}
        self.steps_per_epoch = params.get("steps") or 1
        self.total = self.steps_per_epoch * params.get("epochs", 1)
        self.began = time.time()
        self._probe_model = probe_model(self.model)
        self.trainer.send("started", total_steps=self.total, epochs=params.get("epochs", 1), steps_per_epoch=self.steps_per_epoch)
        self.send_pictures()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step == 1:  # the first step also builds the training function: not counted in the pace
            self.first_step = time.time() - self.began
        logs = logs or {}
        loss = float(logs.get("loss", 0.0))
        if not math.isfinite(loss):
            self.diverged = True
            self.model.stop_training = True
            return
        now = time.time()
        if now - self._reported >= REPORT_EVERY or self.step == self.total:
            self._reported = now
            self.send_progress(loss, float(logs.get("accuracy", 0.0)))
        if now - self._pictured >= PICTURE_EVERY:
            self._pictured = now
            self.send_pictures()
        self.obey_commands()  # after the report: a paused page shows the step it paused at

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if self.diverged or not all(math.isfinite(v) for v in logs.values()):
            self.diverged = True
            self.model.stop_training = True
            return
        self.epochs_done = epoch + 1
        self.last = logs
        self.trainer.send("epoch", epoch=epoch + 1, **{k: round(v, 5) for k, v in logs.items()})
        self.send_pictures()

    def send_progress(self, loss, accuracy):
        working = time.time() - self.began - self.paused_for
        # The pace of the steps since the first; until there is one, the first's (an overestimate).
        pace = (working - self.first_step) / (self.step - 1) if self.step > 1 else working
        eta = pace * (self.total - self.step)
        self.trainer.send("progress", step=self.step, total_steps=self.total, epoch=(self.step - 1) // self.steps_per_epoch + 1,
                          loss=round(loss, 5), accuracy=round(accuracy, 5), elapsed=round(working, 2), eta=round(eta, 1))

    def send_pictures(self):
        """The first conv layer's filters, and the probe digit's maps there and prediction."""
        conv, maps, probabilities = self._probe_model(self.probe)
        self.trainer.send("pictures", filters=conv, maps=maps, probabilities=probabilities, step=self.step)

    def obey_commands(self):
        """Pause waits here, between two batches, until "resume" or "stop"."""
        commands = self.trainer.commands
        paused_at = None
        while commands.poll(0 if paused_at is None else None):
            try:
                command = commands.recv()
            except EOFError:  # the server is gone: stop rather than train for no one
                command = {"type": "stop"}
            kind = command.get("type")
            if kind == "probe":
                self.probe = np.asarray(command["image"], np.float32).reshape(28, 28)
                self.send_pictures()
            elif kind == "pause" and paused_at is None:
                paused_at = time.time()
                self.trainer.send("paused", step=self.step)
            elif kind == "resume" and paused_at is not None:
                self.paused_for += time.time() - paused_at
                paused_at = None
                self.trainer.send("resumed", step=self.step)
            elif kind == "stop":
                self.stopped = True
                self.model.stop_training = True
                if paused_at is not None:
                    self.paused_for += time.time() - paused_at
                self.trainer.send("stopping", step=self.step)
                return


def probe_model(model):
    """A function: probe image → (first conv's filters, its maps of the probe as 0-255
    grey bytes with their value range, the ten probabilities)."""
    import keras

    conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    both = keras.Model(model.inputs, [conv.output, model.outputs[0]])

    def look(image):
        maps, probabilities = both(image.reshape(1, 28, 28, 1), training=False)
        maps = np.asarray(maps)[0].transpose(2, 0, 1)  # (channels, rows, cols)
        kernel = np.asarray(conv.kernel)  # (rows, cols, in, out)
        filters = kernel.mean(axis=2).transpose(2, 0, 1)  # one picture per filter: mean over input channels
        return ({"shape": list(filters.shape), "values": np.round(filters, 4).ravel().tolist()},
                grey_maps(maps), np.round(np.asarray(probabilities)[0], 4).tolist())

    return look


def grey_maps(maps) -> dict:
    """Maps as bytes 0-255 over one shared range (the page draws them as the main page's maps)."""
    maps = np.nan_to_num(maps)  # a diverging network's maps may be NaN: shown as 0, not cast to noise
    low, high = float(maps.min()), float(maps.max())
    scaled = np.zeros_like(maps) if high <= low else (maps - low) / (high - low)
    return {"shape": list(maps.shape), "low": low, "high": high, "bytes": np.rint(scaled * 255).astype(np.uint8).tobytes()}
