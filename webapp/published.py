"""A JSON body served under an address made from its own digest (network.json, the top
patches): the browser may keep it for good."""
import hashlib
import threading
from collections import OrderedDict

import orjson
from flask import Response, request

from .compression import Precompressed


class Published:
    """A JSON body served under an address made from its own digest: whatever changes it
    (another model, retrained weights, new explanations) changes the address, so the
    browser may keep it for good. Compressed once, at the highest levels."""

    def __init__(self, data, quality=11):
        self.data = data
        body = orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
        self.digest = hashlib.sha256(body).hexdigest()[:20]
        self.body = Precompressed(body, quality)

    def response(self, immutable):
        return named_response(self.body, self.digest, "application/json", immutable)


def named_response(body, digest, mimetype, immutable):
    """`body` (Precompressed, or anything with its `for_request`) under the weak validator
    `digest`, the same for all its encodings. `immutable`: its address names the content, so
    a browser keeps it for good; else it asks each time (a 304 if unchanged)."""
    if request.if_none_match.contains_weak(digest):
        response = Response(status=304)
    else:
        encoding, data = body.for_request()
        response = Response(data, mimetype=mimetype)
        if encoding:
            response.headers["Content-Encoding"] = encoding
    response.set_etag(digest, weak=True)
    response.vary.add("Accept-Encoding")
    if immutable:
        response.cache_control.public = True
        response.cache_control.max_age = 365 * 86400
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response


ON_DEMAND = 256  # bodies kept: a class pointing at units asks for the same few again and again
_on_demand, _on_demand_lock = OrderedDict(), threading.Lock()


def on_demand(key, make):
    """A Published body made when first asked for (a unit's weights, a channel's digits):
    `make()` gives its data, or None (nothing there: not kept). The most recent ON_DEMAND
    are kept, so a class asking for the same unit makes and compresses it once. `key` must
    name the content, e.g. with the digest of the model it comes from."""
    with _on_demand_lock:
        if key in _on_demand:
            _on_demand.move_to_end(key)
            return _on_demand[key]
    data = make()
    if data is None:
        return None
    made = Published(data, quality=5)
    with _on_demand_lock:
        _on_demand[key] = made
        while len(_on_demand) > ON_DEMAND:
            _on_demand.popitem(last=False)
    return made
