"""The page, and the data about the network that it fetches: the layer table, the conv
filters and the top patches, as JSON files the browser keeps."""
import functools
import hashlib
from pathlib import Path

import numpy as np
import orjson
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from model import top_patches as top
from model.architecture import summary
from model.network import SHOWN_LAYERS
from model.receptive import receptive_fields

from .classroom import get_classroom
from .compression import Precompressed
from .inference import get_service

bp = Blueprint("views", __name__)


@functools.cache
def architecture(model_path):
    """The layer table for the page, built once: each layer with where its maps are shown
    (flatten and dropout have none of their own; they point at the next layer that does)."""
    layers = summary(model_path)
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
    Values stay float32: written as the shortest decimal that reads back as the same
    float32 (half the digits of a double's), and the page rounds each back with
    Math.fround, so it has the very numbers the server computes with.
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
            "values": np.ascontiguousarray(images.reshape(filters, -1)),  # exact: the page works sums out with them
            "bias": np.ascontiguousarray(bias, np.float32),
        }
    return out


@functools.cache
def top_patches(model_path):
    """The 9 MNIST test patches that excite each conv1/conv2 channel most, from the file
    `python -m model.top_patches` writes beside the model, as grey levels 0-255 (they are
    crops of MNIST's 8-bit images); none if the file is missing."""
    path = Path(model_path).with_name(top.DEFAULT_OUTPUT.name)
    if not path.exists():
        return {}
    out = {}
    for name, parts in top.load(path).items():
        patches = parts["patches"]
        grey = np.rint(np.clip(patches, 0, 1) * 255).astype(np.uint8)
        out[name] = {"size": int(patches.shape[-1]), "patches": np.ascontiguousarray(grey.reshape(*patches.shape[:2], -1))}
    return out


class Published:
    """A JSON body served under an address made from its own digest: whatever changes it
    (another model, retrained weights, new explanations) changes the address, so the
    browser may keep it for good. Compressed once, at the highest levels."""

    def __init__(self, data):
        body = orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
        self.digest = hashlib.sha256(body).hexdigest()[:20]
        self.body = Precompressed(body)

    def response(self, immutable):
        # A weak validator: the same data in any of its encodings.
        if request.if_none_match.contains_weak(self.digest):
            response = Response(status=304)
        else:
            encoding, body = self.body.for_request()
            response = Response(body, mimetype="application/json")
            if encoding:
                response.headers["Content-Encoding"] = encoding
        response.set_etag(self.digest, weak=True)
        response.vary.add("Accept-Encoding")
        if immutable:  # the address names the content: it never changes
            response.cache_control.public = True
            response.cache_control.max_age = 365 * 86400
            response.cache_control.immutable = True
        else:  # the plain address follows the model: ask each time, a 304 if unchanged
            response.cache_control.no_cache = True
        return response


@functools.cache
def network_data(model_path) -> Published:
    """The page's static data about the network: the layer table (with each layer's
    receptive field) and the conv filters."""
    return Published({"architecture": architecture(model_path), "kernels": kernels(model_path)})


@functools.cache
def top_patch_data(model_path) -> Published:
    return Published(top_patches(model_path))


def page_context() -> dict:
    """What every page with live maps needs: the layers, and where their filters and top
    patches are (fetched by the page, then kept by the browser)."""
    model_path = current_app.config["MODEL_PATH"]
    layers = architecture(model_path)
    return {
        "layers": SHOWN_LAYERS,
        "architecture": layers,
        "total_params": sum(layer["params"] for layer in layers),
        "network_url": url_for("views.network", digest=network_data(model_path).digest),
        "top_patches_url": url_for("views.top_patches_json", digest=top_patch_data(model_path).digest),
    }


def published(data: Published, digest):
    if digest is not None and digest != data.digest:
        abort(404)  # another model's, or an older one's
    return data.response(immutable=digest is not None)


@bp.get("/network.json")
@bp.get("/network/<digest>.json")
def network(digest=None):
    return published(network_data(current_app.config["MODEL_PATH"]), digest)


@bp.get("/top-patches.json")
@bp.get("/top-patches/<digest>.json")
def top_patches_json(digest=None):
    return published(top_patch_data(current_app.config["MODEL_PATH"]), digest)


@bp.get("/")
def index():
    return render_template("index.html", taught=get_classroom().taught_here(), **page_context())
