"""The inference service: a drawing or picture in, the prediction and every layer out."""
import threading
from dataclasses import dataclass

import numpy as np

from model.network import SHOWN_LAYERS, Network, load_keras
from model.preprocess import strokes_to_input
from model.saliency import Saliency


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
_services_lock = threading.Lock()


def get_service(model_path) -> InferenceService:
    """One service per model file per process: the weights are read once and shared."""
    key = str(model_path)
    with _services_lock:
        if key not in _services:
            model = load_keras(key)
            _services[key] = InferenceService(Network.from_keras(model), Saliency(model))
        return _services[key]


def get_worker(model_path):
    """One frame worker process per model file per server process (webapp/compute.py)."""
    from .compute import ComputeWorker

    key = str(model_path)
    service = get_service(key)
    with _services_lock:
        if key not in _workers:
            _workers[key] = ComputeWorker(service.network.weights)
        return _workers[key]
