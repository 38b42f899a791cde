"""The whole MNIST digits a conv channel's top patches were cut from, one channel at a
time: the inspector shows each patch inside its digit with the field outlined. A channel's
9 digits are ~2 KB compressed; every channel's together would make the top patches' JSON
five times bigger, for the one map a learner opens. Under the top patches' digest, so the
browser keeps each for good."""
import base64

from flask import Blueprint, abort

from .models import get_models
from .published import on_demand

bp = Blueprint("top_digits", __name__)


def channel_digits(digits, channel) -> dict:
    """{"size": [h, w], "digits": base64 of the channel's 9 digits, 8-bit grey, one after another}."""
    return {"size": list(digits.shape[2:]), "digits": base64.b64encode(digits[channel].tobytes()).decode("ascii")}


@bp.get("/top-patches/<digest>/<layer>/<int:channel>.json")
def top_digits(digest, layer, channel):
    for model in get_models():
        if model.top_patches.digest == digest:
            digits = model.top_digits.get(layer)  # read with the model, at start
            if digits is None or not 0 <= channel < len(digits):
                abort(404)
            return on_demand(("digits", digest, layer, channel), lambda: channel_digits(digits, channel)).response(immutable=True)
    abort(404)  # an older model's
