"""The page."""
import functools
from pathlib import Path

import numpy as np
from flask import Blueprint, current_app, render_template

from model import top_patches as top
from model.architecture import summary
from model.network import SHOWN_LAYERS
from model.receptive import receptive_fields

from .classroom import get_classroom
from .inference import get_service

bp = Blueprint("views", __name__)


@functools.cache
def architecture():
    """The layer table for the page, built once: each layer with where its maps are shown
    (flatten and dropout have none of their own; they point at the next layer that does)."""
    layers = summary()
    fields = receptive_fields()
    for i, layer in enumerate(layers):
        layer["shown_at"] = next(later["name"] for later in layers[i:] if later["name"] in SHOWN_LAYERS)
        layer["field"] = fields.get(layer["name"])  # (jump, size) of its receptive field, maps only
    return layers


@functools.cache
def kernels(model_path):
    """Each conv filter's weights as a small image for the page, with its bias.

    conv1's filters are 2x2; a conv2 filter has 2x2 weights for each of 24 input maps,
    laid out as a 4x6 grid of 2x2 blocks (input map c at block row c // 6, column c % 6).
    """
    weights = get_service(model_path).network.weights
    out = {}
    for name, (kernel, bias) in ((n, weights[n]) for n in ("conv1", "conv2")):
        _, _, inputs, filters = kernel.shape
        rows, cols = (1, 1) if inputs == 1 else (4, 6)
        images = np.zeros((filters, 2 * rows, 2 * cols), np.float32)
        for c in range(inputs):
            r, q = divmod(c, cols)
            images[:, 2 * r : 2 * r + 2, 2 * q : 2 * q + 2] = kernel[:, :, c, :].transpose(2, 0, 1)
        out[name] = {
            "height": 2 * rows,
            "width": 2 * cols,
            "values": images.reshape(filters, -1).tolist(),  # exact: the page works sums out with them
            "bias": bias.tolist(),
        }
    return out


@functools.cache
def top_patches(model_path):
    """The 9 MNIST test patches that excite each conv1/conv2 channel most, from the file
    `python -m model.top_patches` writes beside the model; none if it is missing."""
    path = Path(model_path).with_name(top.DEFAULT_OUTPUT.name)
    if not path.exists():
        return {}
    return {
        name: {"size": int(parts["patches"].shape[-1]), "patches": parts["patches"].reshape(*parts["patches"].shape[:2], -1).round(3).tolist()}
        for name, parts in top.load(path).items()
    }


def page_context() -> dict:
    """What every page with live maps needs: the layers, their filters and top patches."""
    layers = architecture()
    return {
        "layers": SHOWN_LAYERS,
        "architecture": layers,
        "total_params": sum(layer["params"] for layer in layers),
        "kernels": kernels(current_app.config["MODEL_PATH"]),
        "top_patches": top_patches(current_app.config["MODEL_PATH"]),
    }


@bp.get("/")
def index():
    return render_template("index.html", taught=get_classroom().taught_here(), **page_context())
