"""One dense unit's weights, on demand: the page shows which inputs push a dense unit most
(|w·x|), and a dense layer's weights are too big to send with network.json (dense1 of the
tutorial: 1.2 million). The page asks for one unit when it is pointed at or inspected,
under the network's digest, so the browser keeps the answer for good. The other way too:
one input's weights to every unit of the dense layer reading it (a row of the kernel), for
the readers a unit feeds most."""
import numpy as np
from flask import Blueprint, abort, jsonify

from . import frames
from .models import get_models
from .published import on_demand

bp = Blueprint("unit_weights", __name__)


def unit_weights(description, frame_name, unit) -> dict:
    """Dense layer `frame_name`'s unit `unit`: its weights over its inputs, its bias, and
    the shown layer those inputs are (`source`, a frame name) with how an input index maps
    onto it: "flatten" (index (row * width + column) * maps + map, Keras' channels-last
    order over `in_shape`), "gap" (index = a whole map) or "vector" (a dense layer: index =
    its unit). None if there is no such dense layer or unit."""
    found = kernel_slice(description, frame_name, "unit", unit)
    if found is None:
        return None
    layer, data = found
    return {**data, "bias": float(layer.weights["bias"][unit]) if "bias" in layer.weights else 0.0}


def input_weights(description, frame_name, index) -> dict:
    """Dense layer `frame_name`'s input `index` (numbered as unit_weights says): its weight
    to each unit of the layer (`weights`, one per unit), with the same `source`, `inputs`
    and `in_shape`. None if there is no such dense layer or input."""
    found = kernel_slice(description, frame_name, "index", index)
    return None if found is None else found[1]


def kernel_slice(description, frame_name, by, i):
    """(the dense layer, its answer) for a column of its kernel (`by` "unit": one unit's
    weights) or a row (`by` "index": one input's weights); None if there is no such one."""
    layer, short = dense_layer(description, frame_name)
    axis = 1 if by == "unit" else 0
    if layer is None or not 0 <= i < layer.weights["kernel"].shape[axis]:
        return None
    kernel = layer.weights["kernel"]
    weights = kernel[:, i] if axis == 1 else kernel[i]
    return layer, {
        "layer": frame_name,
        by: i,
        **inputs_of(description, layer, short),
        "weights": np.ascontiguousarray(weights, np.float32),
    }


def dense_layer(description, frame_name):
    """(the dense layer shown as `frame_name` or None, layer name → frame name)."""
    short = dict(zip(description.shown_names, frames.frame_names(description.shown_names)))
    layer = next((l for l in description.layers if short.get(l.name) == frame_name), None)
    return (layer if layer is not None and layer.kind == "dense" else None), short


def inputs_of(description, layer, short) -> dict:
    """The shown layer a dense layer reads and how its input index maps onto it."""
    mapping, source = "vector", description.layer(layer.inputs[0])
    while source.name not in short:  # flatten, dropout: not shown, the values pass through
        if source.kind in ("flatten", "gap"):
            mapping = source.kind
        source = description.layer(source.inputs[0])
    return {"source": short[source.name], "inputs": mapping, "in_shape": list(description.shape_of(source.name))}


@bp.get("/network/<digest>/<layer>/<int:unit>.json")
def dense_unit(digest, layer, unit):
    for model in get_models():
        if model.network.digest == digest:
            found = on_demand(("unit", digest, layer, unit), lambda: unit_weights(model.description, layer, unit))
            if found is None:
                abort(404)
            return found.response(immutable=True)
    abort(404)  # an older model's


@bp.get("/network/<digest>/<layer>/in/<index>.json")
def dense_input(digest, layer, index):
    """Errors as JSON with a sentence: the page (and anyone reading the address) sees why."""
    if not index.isascii() or not index.isdigit() or len(index) > 9:
        return jsonify({"error": "the input index must be a whole number, 0 or more"}), 400
    for model in get_models():
        if model.network.digest == digest:
            found = on_demand(("input", digest, layer, int(index)), lambda: input_weights(model.description, layer, int(index)))
            if found is None:
                return jsonify({"error": f"{layer} is not a dense layer of this network, or has no input {index}"}), 404
            return found.response(immutable=True)
    return jsonify({"error": "no network with that digest here (an older model's?)"}), 404
