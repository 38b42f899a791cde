"""One network's inference: a drawing or picture in, the prediction and every shown layer
out. Built from a model's description (model/description.py); it holds no app state, so
the frame worker process (webapp/frame_worker.py) and the server build it alike."""
from dataclasses import dataclass
from functools import partial

import numpy as np

from model.description import NetworkDescription
from model.forward import Forward
from model.gradient import saliency
from model.novelty import fits
from model.preprocess import image_to_input, strokes_to_input

from . import frames


@dataclass
class Result:
    image: np.ndarray  # what the network saw: (h, w) grey, or (h, w, c)
    layers: dict  # shown layer name → activations for this one image, maps as (h, w, c)
    values: np.ndarray = None  # every shown layer, channel-first, in `names` order
    names: tuple = ()  # the shown layers, in frame order
    steps: tuple = ()  # what the frame's derivation rules know of the network (frames.Step)
    scores: np.ndarray = None  # the output's scores before its softmax (None: it has none)
    unlike: bool = False  # unlike the digits the network was trained on (model/novelty.py)

    @property
    def probabilities(self) -> np.ndarray:
        return self.layers[self.names[-1]]

    @property
    def logits(self) -> np.ndarray:
        return self.probabilities if self.scores is None else self.scores

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))


class InferenceService:
    def __init__(self, description: NetworkDescription, novelty=None):
        """`novelty`: the model's model.novelty.Novelty statistics (read once with the
        model), or None: no verdict, every frame's flag stays 0."""
        self.description = description
        self.novelty = novelty if fits(novelty, description) else None
        self.network = Forward(description)
        self.names = description.shown_names
        self.steps = frames.steps_from_description(description)
        shape = description.input_shape
        self.prepare_strokes = partial(strokes_to_input, shape=shape)
        self.prepare_picture = partial(image_to_input, shape=shape)

    def from_strokes(self, strokes) -> Result:
        return self.run(self.prepare_strokes(strokes))

    def run(self, image: np.ndarray) -> Result:
        return self.run_batch([image])[0]

    def run_batch(self, images) -> list:
        """Several images in one pass: every layer for all of them at once."""
        outputs = self.network.run(images[0][None] if len(images) == 1 else np.stack(images))
        logits = outputs.get("logits")
        # Is each drawing like the training digits at all? (model/novelty.py: a few small products)
        unlike = self.novelty.unlike(outputs, images) if self.novelty else np.zeros(len(images), bool)
        return [
            Result(image, {name: outputs[name][i] for name in self.names}, outputs["all"][i], self.names, self.steps,
                   None if logits is None else logits[i], bool(unlike[i]))
            for i, image in enumerate(images)
        ]

    def saliency(self, image):
        """(|d score / d pixel| scaled to 0..1 as (h, w), predicted digit), in NumPy
        (model/gradient.py): no TensorFlow in the server."""
        return saliency(self.network, image)
