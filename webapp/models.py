"""The models a server shows, each read once per process at start and kept on the app
(`app.extensions`), not in module globals: two apps in one process (tests) keep their own.
A model's frame worker starts when a page that shows the model is served (the default
model's at start): a client's first frame should not wait for a process start. Its picture
queue starts on first use."""
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from model import novelty
from model.description import NetworkDescription
from model.parse_layers import describe_file
from model.supported import UnsupportedModel

from .compute import ComputeWorker
from .network_data import network_json, top_digits, top_patch_file, top_patches
from .pictures import Pictures
from .published import Published
from .service import InferenceService

log = logging.getLogger(__name__)
MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
DEFAULT_MODEL_PATH = MODEL_DIR / "mnist_cnn.keras"
# The shipped models, by the name the page and the URL use (?model=...).
SHIPPED = {
    "tutorial": DEFAULT_MODEL_PATH,
    "mnist-only": MODEL_DIR / "zoo" / "mnist-only" / "mnist_cnn.keras",
    "deep3x3": MODEL_DIR / "zoo" / "deep3x3" / "mnist_cnn.keras",
}
CLASSES = 10  # digits: the frame and the page show ten probabilities
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


class ModelRefused(RuntimeError):
    """A configured model the server cannot show: it does not start."""


class UnknownModel(LookupError):
    """A client asked for a model this server does not show."""


@dataclass
class Model:
    name: str
    path: Path
    description: NetworkDescription
    service: InferenceService
    network: Published  # network.json
    top_patches: Published
    top_digits: dict  # layer → the digits its top patches came from (webapp/top_digits.py)

    @property
    def summary(self) -> dict:
        return {"name": self.name, "title": self.description.name, "param_count": self.description.param_count}


def load_model(name, path) -> Model:
    """Read and check one model file; ModelRefused (with the description's reason) if it
    cannot be shown."""
    path = Path(path)
    if not path.is_file():
        raise ModelRefused(f"model {name!r}: no such file {path}")
    try:
        description = describe_file(path)
    except UnsupportedModel as refused:
        raise ModelRefused(f"model {name!r} ({path}) cannot be shown: {refused}") from None
    if description.classes != CLASSES:
        raise ModelRefused(f"model {name!r} ({path}) has {description.classes} classes: this app reads digits, 0 to 9 (10 classes)")
    # The novelty statistics beside the file (model/novelty.py), read once; none: no verdict.
    patches = top_patch_file(path)
    return Model(name, path, description, InferenceService(description, novelty.load(path)),
                 Published(network_json(description)), Published(top_patches(patches)), top_digits(patches))


def model_paths(config) -> dict:
    """name → path of every model to show, first the default. CNNVIEW_MODELS: a folder
    (each *.keras in it, or in its subfolders), or paths joined by ","; else
    CNNVIEW_MODEL_PATH alone when it names another file; else the shipped models."""
    models = config.get("MODELS")
    if models:
        if isinstance(models, (str, Path)) and Path(models).is_dir():
            paths = sorted(Path(models).rglob("*.keras"))
            if not paths:
                raise ModelRefused(f"no .keras file in the models folder {models}")
        else:
            paths = [Path(p) for p in (models.split(",") if isinstance(models, str) else models)]
        return name_models(paths)
    path = Path(config["MODEL_PATH"])
    if path.resolve() != DEFAULT_MODEL_PATH.resolve():
        return name_models([path])
    return dict(SHIPPED)


def name_models(paths) -> dict:
    """Each file's name for the page: the shipped ones keep theirs; another is named by its
    file, or by its folder when the file is the trainer's default "mnist_cnn.keras"."""
    shipped = {p.resolve(): name for name, p in SHIPPED.items()}
    out = {}
    for path in paths:
        name = shipped.get(path.resolve()) or (path.parent.name if path.stem == "mnist_cnn" else path.stem)
        name = re.sub(r"[^A-Za-z0-9_.-]", "-", name).strip("-.") or "model"
        base, n = name, 2
        while name in out:
            name, n = f"{base}-{n}", n + 1
        out[name] = path
    return out


class Models:
    def __init__(self, config):
        self.settings = {name: config[name] for name in ("WORKER_TIMEOUT", "PICTURE_TIMEOUT", "PICTURE_QUEUE")}
        self._models = {name: load_model(name, path) for name, path in model_paths(config).items()}
        self.default = next(iter(self._models))
        self._workers, self._pictures = {}, {}
        self._lock = threading.Lock()

    @property
    def names(self) -> tuple:
        return tuple(self._models)

    def __iter__(self):
        return iter(self._models.values())

    def get(self, name=None) -> Model:
        """The model `name` (None or "": the default); UnknownModel names those there are."""
        if name is None or name == "":
            return self._models[self.default]
        model = self._models.get(name) if isinstance(name, str) else None
        if model is None:
            shown = repr(name)[:60]
            raise UnknownModel(f"there is no model {shown} here: this server shows {', '.join(self._models)}")
        return model

    def add(self, name, path) -> Model:
        """A model made while the server runs (a training job's), shown from now on under
        `name`; ModelRefused if it cannot be shown or the name is taken."""
        model = load_model(name, path)
        with self._lock:
            if name in self._models:
                raise ModelRefused(f"there is already a model {name!r}")
            self._models = {**self._models, name: model}  # a new dict: readers iterating the old one are undisturbed
        return model

    def worker(self, name=None) -> ComputeWorker:
        """The model's frame worker process, made on first use."""
        model = self.get(name)
        with self._lock:
            if model.name not in self._workers:
                # A spare: every drawing client waits while a frame worker is replaced.
                self._workers[model.name] = ComputeWorker(
                    model.description, self.settings["WORKER_TIMEOUT"], spare=True, novelty=model.service.novelty)
            return self._workers[model.name]

    def warm(self, name=None):
        """Start the model's frame worker now (once: ComputeWorker.warm): a page showing the
        model was just served, and its first drawing should not wait seconds for a process to
        start and import."""
        self.worker(name).warm()

    def pictures(self, name=None) -> Pictures:
        """The model's picture queue and its own worker process (webapp/pictures.py); the
        process starts with the first picture."""
        model = self.get(name)
        with self._lock:
            if model.name not in self._pictures:
                # Niced: a picture can wait a little; the drawing clients' frames should not.
                worker = ComputeWorker(
                    model.description, self.settings["PICTURE_TIMEOUT"], "cnnview-picture", niceness=10, novelty=model.service.novelty)
                self._pictures[model.name] = Pictures(worker, self.settings["PICTURE_QUEUE"], model.description.input_shape)
            return self._pictures[model.name]


def init_app(app) -> Models:
    """Read every model (ModelRefused stops the start) and start the default model's frame
    worker now (see ComputeWorker.warm)."""
    models = app.extensions["cnnview.models"] = Models(app.config)
    models.warm()
    return models


def get_models(app=None) -> Models:
    return (app or current_app).extensions["cnnview.models"]
