"""The page."""
import functools

from flask import Blueprint, render_template

from model.architecture import summary
from model.network import SHOWN_LAYERS

bp = Blueprint("views", __name__)


@functools.cache
def architecture():
    """The layer table for the page, built once: each layer with where its maps are shown
    (flatten and dropout have none of their own; they point at the next layer that does)."""
    layers = summary()
    for i, layer in enumerate(layers):
        layer["shown_at"] = next(later["name"] for later in layers[i:] if later["name"] in SHOWN_LAYERS)
    return layers


@bp.get("/")
def index():
    layers = architecture()
    return render_template(
        "index.html", layers=SHOWN_LAYERS, architecture=layers, total_params=sum(l["params"] for l in layers)
    )
