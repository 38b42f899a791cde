"""The inference service: a drawing or picture in, the prediction and every layer out."""
import io
import json
import logging
import re
import threading
import zipfile
from dataclasses import dataclass

import numpy as np

from model.network import SHOWN_LAYERS, Network, load_keras
from model.preprocess import strokes_to_input
from model.saliency import Saliency

log = logging.getLogger(__name__)
WEIGHTED_LAYERS = ("conv1", "conv2", "dense1", "dense2", "output")


@dataclass
class Result:
    image: np.ndarray  # (28, 28) float32: what the network saw
    layers: dict  # layer name → activations for this one image, maps as (h, w, c)
    values: np.ndarray = None  # every shown layer, channel-first, in SHOWN_LAYERS order

    @property
    def probabilities(self) -> np.ndarray:
        return self.layers["output"]

    @property
    def digit(self) -> int:
        return int(np.argmax(self.layers["output"]))


class InferenceService:
    def __init__(self, network: Network, saliency: Saliency = None):
        self.network = network
        self.saliency = saliency  # TensorFlow: on request (pen-up), never per frame

    def from_strokes(self, strokes) -> Result:
        return self.run(strokes_to_input(strokes))

    def run(self, image: np.ndarray) -> Result:
        return self.run_batch([image])[0]

    def run_batch(self, images) -> list:
        """Several images in one pass: every layer for all of them at once."""
        outputs = self.network.run(images[0][None] if len(images) == 1 else np.stack(images))
        return [
            Result(image, {name: outputs[name][i] for name in SHOWN_LAYERS}, outputs["all"][i])
            for i, image in enumerate(images)
        ]


_services = {}
_workers = {}
_pictures = {}
_services_lock = threading.Lock()
# Set from the app's settings by `configure` (the API blueprint calls it in create_app).
SETTINGS = {"WORKER_TIMEOUT": 2.0, "PICTURE_TIMEOUT": 10.0, "PICTURE_QUEUE": 4}  # seconds, seconds, pictures


def get_service(model_path) -> InferenceService:
    """One service per model file per process: the weights are read once and shared."""
    key = str(model_path)
    with _services_lock:
        if key not in _services:
            _services[key] = InferenceService(Network(load_weights(key)), LazySaliency(key))
        return _services[key]


def load_weights(path) -> dict:
    """Each weighted layer's (kernel, bias), read from the .keras file (a zip of
    config.json and model.weights.h5) with h5py. Importing Keras and TensorFlow for this
    took most of a restarted server's start (2 s here idle, 10 s busy) before any client
    had a frame; TensorFlow now loads only for saliency (see LazySaliency)."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            stored = archive.read("model.weights.h5")
        import h5py

        with h5py.File(io.BytesIO(stored), "r") as file:
            groups = _weight_groups(config)
            return {name: [file[groups[name]]["vars"][str(i)][()] for i in (0, 1)] for name in WEIGHTED_LAYERS}
    except (OSError, KeyError, ValueError, ImportError):
        log.warning("reading %s without Keras failed; loading it with Keras", path, exc_info=True)
        return {name: load_keras(path).get_layer(name).get_weights() for name in WEIGHTED_LAYERS}


def _weight_groups(config) -> dict:
    """Layer name → its group in model.weights.h5. Keras 3 stores a layer under its class
    in snake case, numbered in layer order ("dense", "dense_1", ...), not under its name."""
    groups, seen = {}, {}
    for layer in config["config"]["layers"]:
        base = re.sub(r"([a-z])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", layer["class_name"])).lower()
        count = seen[base] = seen.get(base, -1) + 1
        groups[layer["config"]["name"]] = f"layers/{base}" + (f"_{count}" if count else "")
    return groups


class LazySaliency:
    """Saliency (TensorFlow) made on its first use, which runs on a real thread
    (compute.off_loop), so neither the server's start nor its event loop waits for it."""

    def __init__(self, model_path):
        self._path = model_path
        self._saliency = None

    def __call__(self, image):
        # No lock: under gevent this runs on a pool thread, where a patched lock does not
        # belong; two first requests at once would only both build it.
        if self._saliency is None:
            self._saliency = Saliency(load_keras(self._path))
        return self._saliency(image)


def get_worker(model_path):
    """One frame worker process per model file per server process (webapp/compute.py)."""
    from .compute import ComputeWorker

    key = str(model_path)
    service = get_service(key)
    with _services_lock:
        if key not in _workers:
            # A spare: every drawing client waits while a frame worker is replaced.
            _workers[key] = ComputeWorker(service.network.weights, SETTINGS["WORKER_TIMEOUT"], spare=True)
        return _workers[key]


def get_pictures(model_path):
    """The picture queue and its own worker process (webapp/pictures.py), one per model
    file per server process; the process starts with the first picture."""
    from .compute import ComputeWorker
    from .pictures import Pictures

    key = str(model_path)
    service = get_service(key)
    with _services_lock:
        if key not in _pictures:
            # Niced: a picture can wait a little; the drawing clients' frames should not.
            worker = ComputeWorker(service.network.weights, SETTINGS["PICTURE_TIMEOUT"], "cnnview-picture", niceness=10)
            _pictures[key] = Pictures(worker, SETTINGS["PICTURE_QUEUE"])
        return _pictures[key]


def configure(config):
    """Apply the app's worker settings and start its frame worker now (see
    ComputeWorker.warm): started on the first drawing instead, it made every client of a
    restarted server wait for a whole process start."""
    for name in SETTINGS:
        SETTINGS[name] = type(SETTINGS[name])(config.get(name, SETTINGS[name]))
    worker = get_worker(config["MODEL_PATH"])
    worker.timeout = SETTINGS["WORKER_TIMEOUT"]
    worker.warm()
