"""Socket.IO events: drawings and pictures in, one binary frame per drawing state out."""
import logging
import math

from flask import request
from flask_socketio import SocketIO

from model.network import SHOWN_LAYERS
from model.preprocess import EmptyDrawing, PreprocessError, image_to_input, strokes_to_input

from . import frames
from .batcher import LatestWinsBatcher
from .guards import RateLimiter, guard_message_size
from .inference import get_service

log = logging.getLogger(__name__)
MAX_SEQ = 2**32 - 1
MAX_CANVAS = 100_000


class BadMessage(ValueError):
    pass


class Ignored(Exception):
    """A message dropped without an answer (a flood, already warned)."""


def register(socketio: SocketIO, app):
    limiter = RateLimiter(app.config["MESSAGES_PER_SECOND"], app.config["MESSAGE_BURST"])
    service = get_service(app.config["MODEL_PATH"])

    def send_error(sid, message, seq=None):
        socketio.emit("error_message", {"error": message, "seq": seq}, to=sid)

    guard_message_size(
        socketio.server,
        app.config["MAX_MESSAGE_BYTES"],
        lambda sid, size: send_error(sid, f"message too large: {size:,} bytes, at most {app.config['MAX_MESSAGE_BYTES']:,}"),
    )

    def answer_batch(jobs):
        """Preprocess each drawing, run the network once for all, send each client its frame."""
        ready = []
        for sid, seq, prepare in jobs:
            try:
                ready.append((sid, seq, prepare()))
            except EmptyDrawing:
                socketio.emit("frame", frames.encode_empty(seq), to=sid)
            except PreprocessError as error:
                send_error(sid, str(error), seq)
            except Exception:
                log.exception("preprocessing failed")
                send_error(sid, "internal error while reading that drawing", seq)
        if not ready:
            return
        try:
            results = service.run_batch([image for _, _, image in ready])
        except Exception:
            log.exception("network pass failed")
            for sid, seq, _ in ready:
                send_error(sid, "internal error while running the network", seq)
            return
        for (sid, seq, _), result in zip(ready, results):
            socketio.emit("frame", frames.encode(seq, result, SHOWN_LAYERS), to=sid)

    batcher = LatestWinsBatcher(answer_batch, max_batch=app.config["MAX_BATCH"])

    def accept(message, fields):
        """Checks shared by every event; returns the message's seq."""
        if not limiter.allow(request.sid):
            if limiter.should_warn(request.sid):
                raise BadMessage("too many messages: slow down")
            raise Ignored()
        if not isinstance(message, dict):
            raise BadMessage("expected an object with " + ", ".join(fields))
        return parse_seq(message.get("seq"))

    @socketio.on("draw")
    def on_draw(message):
        seq = accept(message, ("seq", "strokes", "width", "height"))
        parse_canvas_size(message)
        strokes = message.get("strokes")
        batcher.submit(request.sid, (request.sid, seq, lambda: strokes_to_input(strokes)))

    @socketio.on("image")
    def on_image(message):
        seq = accept(message, ("seq", "data (PNG or JPEG bytes)"))
        data = message.get("data")
        if not isinstance(data, (bytes, bytearray)):
            raise BadMessage("image data must be binary PNG or JPEG bytes")
        batcher.submit(request.sid, (request.sid, seq, lambda: image_to_input(bytes(data))))

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        batcher.forget(request.sid)
        limiter.forget(request.sid)

    @socketio.on("*")
    def on_unknown(event, *args):
        send_error(request.sid, f"unknown event {str(event)[:40]!r}: this server understands 'draw' and 'image'")

    @socketio.on_error_default
    def on_error(error):
        if isinstance(error, Ignored):
            return
        if isinstance(error, BadMessage):
            send_error(request.sid, str(error))
        else:
            log.exception("event failed")
            send_error(request.sid, "internal error while handling that message")


def parse_seq(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise BadMessage(f"seq must be an integer from 0 to {MAX_SEQ}")
    return value


def parse_canvas_size(message):
    for key in ("width", "height"):
        value = message.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadMessage(f"{key} must be the canvas size in pixels")
        if not 0 < value <= MAX_CANVAS:
            raise BadMessage(f"{key} must be between 0 and {MAX_CANVAS} pixels")
