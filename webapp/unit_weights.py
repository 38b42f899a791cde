"""One dense unit's weights, on demand: the page shows which inputs push a dense unit most
(|w·x|), and a dense layer's weights are too big to send with network.json (dense1 of the
tutorial: 1.2 million). The page asks for one unit when it is pointed at or inspected,
under the network's digest, so the browser keeps the answer for good."""
import numpy as np
from flask import Blueprint, abort

from . import frames
from .models import get_models
from .published import Published

bp = Blueprint("unit_weights", __name__)


def unit_weights(description, frame_name, unit) -> dict:
    """Dense layer `frame_name`'s unit `unit`: its weights over its inputs, its bias, and
    the shown layer those inputs are (`source`, a frame name) with how an input index maps
    onto it: "flatten" (index (row * width + column) * maps + map, Keras' channels-last
    order over `in_shape`), "gap" (index = a whole map) or "vector" (a dense layer: index =
    its unit). None if there is no such dense layer or unit."""
    short = dict(zip(description.shown_names, frames.frame_names(description.shown_names)))
    layer = next((l for l in description.layers if short.get(l.name) == frame_name), None)
    if layer is None or layer.kind != "dense" or not 0 <= unit < layer.weights["kernel"].shape[1]:
        return None
    mapping, source = "vector", description.layer(layer.inputs[0])
    while source.name not in short:  # flatten, dropout: not shown, the values pass through
        if source.kind in ("flatten", "gap"):
            mapping = source.kind
        source = description.layer(source.inputs[0])
    return {
        "layer": frame_name,
        "unit": unit,
        "source": short[source.name],
        "inputs": mapping,
        "in_shape": list(description.shape_of(source.name)),
        "weights": np.ascontiguousarray(layer.weights["kernel"][:, unit], np.float32),
        "bias": float(layer.weights["bias"][unit]) if "bias" in layer.weights else 0.0,
    }


@bp.get("/network/<digest>/<layer>/<int:unit>.json")
def dense_unit(digest, layer, unit):
    for model in get_models():
        if model.network.digest == digest:
            data = unit_weights(model.description, layer, unit)
            if data is None:
                abort(404)
            return Published(data).response(immutable=True)
    abort(404)  # an older model's
