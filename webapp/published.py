"""A JSON body served under an address made from its own digest (network.json, the top
patches): the browser may keep it for good."""
import hashlib

import orjson
from flask import Response, request

from .compression import Precompressed


class Published:
    """A JSON body served under an address made from its own digest: whatever changes it
    (another model, retrained weights, new explanations) changes the address, so the
    browser may keep it for good. Compressed once, at the highest levels."""

    def __init__(self, data):
        self.data = data
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
