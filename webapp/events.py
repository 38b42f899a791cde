"""Socket.IO events: drawings and pictures in, one binary frame per drawing state out."""
import logging
import math

from flask import current_app, request
from flask_socketio import SocketIO

from model.network import SHOWN_LAYERS
from model.preprocess import EmptyDrawing, PreprocessError

from . import frames
from .coalesce import LatestWins
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
    latest = LatestWins()
    limiter = RateLimiter(app.config["MESSAGES_PER_SECOND"], app.config["MESSAGE_BURST"])
    service = get_service(app.config["MODEL_PATH"])
    app.extensions["latest_wins"] = latest

    def send_error(sid, message, seq=None):
        socketio.emit("error_message", {"error": message, "seq": seq}, to=sid)

    guard_message_size(
        socketio.server,
        app.config["MAX_MESSAGE_BYTES"],
        lambda sid, size: send_error(sid, f"message too large: {size:,} bytes, at most {app.config['MAX_MESSAGE_BYTES']:,}"),
    )

    def answer(sid, seq, compute):
        """Work out one frame and send it; bad input becomes an error for this client only."""
        try:
            data = frames.encode(seq, compute(), SHOWN_LAYERS)
        except EmptyDrawing:
            data = frames.encode_empty(seq)
        except PreprocessError as error:
            send_error(sid, str(error), seq)
            return
        socketio.emit("frame", data, to=sid)

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
        sid = request.sid
        latest.submit(sid, lambda: answer(sid, seq, lambda: service.from_strokes(strokes)))

    @socketio.on("image")
    def on_image(message):
        seq = accept(message, ("seq", "data (PNG or JPEG bytes)"))
        data = message.get("data")
        if not isinstance(data, (bytes, bytearray)):
            raise BadMessage("image data must be binary PNG or JPEG bytes")
        sid = request.sid
        latest.submit(sid, lambda: answer(sid, seq, lambda: service.from_image(bytes(data))))

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        latest.forget(request.sid)
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
