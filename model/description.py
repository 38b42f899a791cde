"""Any Keras CNN described once, as data: the ordered layers, their numbers and weights.

Everything else (the NumPy forward pass in `model.forward`, the receptive fields in
`model.fields`, and later the page) folds over this list instead of naming layers, as
tinygrad's `beautiful_mnist.py` does. A description is read from a Keras model by
model/parse_layers.py (`describe_file`, `describe`); this module holds only the data, so
the forward pass, the page and the frame worker need no Keras reader to use one.

A Conv2D with a fused activation (`Conv2D(..., activation="relu")`) becomes two steps:
the convolution (named like the Keras layer) and the activation, named
"<layer>/<activation>" ("/" cannot occur in a Keras layer name, so it never collides).
The page can then show the maps before and after the activation, and a conv unit's value
is always patch × filter + bias, as the inspector works it out. A Dense layer keeps its
activation inside its one step: its units are shown after the activation, as the
tutorial's network has always shown them ("dense1" is the ReLU'd units).
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Layers that have maps or units on the page; the others point at the next shown one.
SHOWN_KINDS = ("conv", "activation", "maxpool", "avgpool", "batchnorm", "gap", "dense")


@dataclass(frozen=True, eq=False)
class Layer:
    name: str  # unique: the Keras layer's name, or "<layer>/<activation>" for a fused activation
    kind: str  # conv, activation, maxpool, avgpool, batchnorm, dropout, flatten, gap, dense
    source: str  # the Keras layer it comes from (its name)
    keras_class: str
    params: dict  # JSON-able numbers of this kind (see model/parse_layers.py)
    shape: tuple  # output shape without the batch: (h, w, c) for maps, (units,) for vectors
    inputs: tuple  # the names it is computed from (a layer's, or the input's)
    param_count: int
    shown: bool
    shows_as: str  # itself when shown, else the next shown layer
    explanation: str
    is_output: bool = False
    weights: dict = field(default_factory=dict, repr=False)  # name → float32 array, Keras layout

    @property
    def spatial(self) -> bool:
        return len(self.shape) == 3

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "keras_class": self.keras_class,
            "params": self.params,
            "shape": list(self.shape),
            "inputs": list(self.inputs),
            "param_count": self.param_count,
            "shown": self.shown,
            "shows_as": self.shows_as,
            "explanation": self.explanation,
            "output": self.is_output,
        }


@dataclass(frozen=True, eq=False)
class NetworkDescription:
    name: str
    input_name: str
    input_shape: tuple  # (h, w, c), c 1 or 3
    layers: tuple  # of Layer, in computation order; the last is the softmax output

    @property
    def output(self) -> Layer:
        return self.layers[-1]

    @property
    def shown(self) -> tuple:
        return tuple(layer for layer in self.layers if layer.shown)

    @property
    def shown_names(self) -> tuple:
        return tuple(layer.name for layer in self.shown)

    @property
    def classes(self) -> int:
        return self.output.shape[0]

    @property
    def param_count(self) -> int:
        return sum(layer.param_count for layer in self.layers)

    def layer(self, name) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def shape_of(self, name) -> tuple:
        """Output shape of a layer, or of the input."""
        return self.input_shape if name == self.input_name else self.layer(name).shape

    def to_json(self) -> dict:
        """Everything but the weights, for the page."""
        return {
            "name": self.name,
            "input": {"name": self.input_name, "shape": list(self.input_shape)},
            "classes": self.classes,
            "param_count": self.param_count,
            "layers": [layer.to_json() for layer in self.layers],
        }
