"""Compressed answers: brotli, else gzip, for the pages, scripts, styles, JSON and SVG.

Flask-Compress does it after each Flask response. Socket.IO never passes through here:
Engine.IO's middleware answers /socket.io/ before Flask does (its long-polling payloads
keep Engine.IO's own gzip, WebSocket messages are never HTTP responses). Static files
under their version's address (static_files.py) come compressed once; under another
address they are streamed from disk, so compressed as they stream; they keep their ETag
(with the encoding appended: "…:br") and Last-Modified, and `Cache-Control: no-cache`, so
a browser revalidates them and gets a 304. The network's data (views.py) is compressed
once, when first asked for, at the highest levels, and served under an address that
changes with it.
"""
import gzip
import threading

import brotli
from flask import request
from flask_compress import Compress

MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript", "application/json", "image/svg+xml"]
ENCODINGS = ("br", "gzip")  # in order of preference when a browser takes both

compress = Compress()


def init_app(app):
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", list(ENCODINGS))
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", list(ENCODINGS))
    # Brotli 5: measured on the static files, 114,875 bytes → 37,713 in ~30 ms in all
    # (level 4: 40,713; 9: 37,411 in 310 ms; 11: 34,565 in 540 ms): each request pays it.
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    # Flask-Compress leaves bodies under 500 bytes alone; brotli still shortens ours from
    # ~130 bytes up (the smallest module, 129 → 102 bytes, and the favicon, 211 → 149)
    # by more than its 22-byte header costs.
    app.config.setdefault("COMPRESS_MIN_SIZE", 100)
    # A static file served from disk (static_files.py) answers a revalidation with a 304.
    app.config.setdefault("COMPRESS_STREAMING_ENDPOINT_CONDITIONAL", ["static", "static_plain"])
    app.config["COMPRESS_REGISTER"] = False  # registered below, around byte ranges
    compress.init_app(app)
    app.after_request(compress_response)


def compress_response(response):
    """A byte range (206) is of the file as stored: sent as it is. A compressed answer
    offers no ranges: they would be of the uncompressed file."""
    if response.status_code == 206:
        return response
    response = compress.after_request(response)
    if "Content-Encoding" in response.headers:
        response.headers.pop("Accept-Ranges", None)
    return response


class Precompressed:
    """A constant body, compressed once in each encoding, when first asked for: (encoding
    or None, bytes) for the request at hand. Not at start: brotli 11 takes ~0.2 s a body,
    and every process (and every app a test makes) would pay it for encodings no one asks."""

    def __init__(self, body: bytes, quality=11):
        """`quality`: brotli's level, 11 for a body kept for the life of the process; a body
        made on demand takes a quicker one (on a dense unit's 46 KB of weights, 11 took
        ~100 ms of the one process every client shares, 5 a few ms for ~10% more bytes)."""
        self.bodies = {None: body}
        self.lock = threading.Lock()
        self.compressors = {
            "br": lambda body: brotli.compress(body, quality=quality),
            "gzip": lambda body: gzip.compress(body, 9 if quality > 9 else 6, mtime=0),
        }

    def for_request(self):
        encoding = request.accept_encodings.best_match(ENCODINGS)
        return encoding, self.encoded(encoding)

    def encoded(self, encoding):
        if encoding not in self.bodies:
            with self.lock:  # concurrent first asks compress once
                if encoding not in self.bodies:
                    self.bodies[encoding] = self.compressors[encoding](self.bodies[None])
        return self.bodies[encoding]
