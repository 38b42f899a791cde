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


class Gate:
    """What every incoming message goes through first: the flood limit and its shape."""

    def __init__(self, limiter: RateLimiter):
        self.limiter = limiter

    def check(self, message, fields):
        if not self.limiter.allow(request.sid):
            if self.limiter.should_warn(request.sid):
                raise BadMessage("too many messages: slow down")
            raise Ignored()
        if not isinstance(message, dict):
            raise BadMessage("expected an object with " + ", ".join(fields))


def register(socketio: SocketIO, app, classroom=None) -> Gate:
    """The drawing events; `classroom` (optional) is told of departures and may send a
    teacher's frames on to the class (follow me). Returns the gate for other events."""
    gate = Gate(RateLimiter(app.config["MESSAGES_PER_SECOND"], app.config["MESSAGE_BURST"]))
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
        for sid, seq, prepare, deliver in jobs:
            try:
                ready.append((sid, seq, prepare(), deliver))
            except EmptyDrawing:
                deliver(frames.encode_empty(seq))
            except PreprocessError as error:
                send_error(sid, str(error), seq)
            except Exception:
                log.exception("preprocessing failed")
                send_error(sid, "internal error while reading that drawing", seq)
        if not ready:
            return
        try:
            results = service.run_batch([image for _, _, image, _ in ready])
        except Exception:
            log.exception("network pass failed")
            for sid, seq, _, _ in ready:
                send_error(sid, "internal error while running the network", seq)
            return
        for (_, seq, _, deliver), result in zip(ready, results):
            deliver(frames.encode(seq, result, SHOWN_LAYERS))

    batcher = LatestWinsBatcher(answer_batch, max_batch=app.config["MAX_BATCH"])

    def submit(seq, prepare, fanout=None):
        sid = request.sid

        def deliver(frame):
            socketio.emit("frame", frame, to=sid)
            if fanout is not None:
                fanout(frame)

        batcher.submit(sid, (sid, seq, prepare, deliver))

    @socketio.on("draw")
    def on_draw(message):
        gate.check(message, ("seq", "strokes", "width", "height"))
        seq = parse_seq(message.get("seq"))
        parse_canvas_size(message)
        strokes = message.get("strokes")
        fanout = classroom.follow_fanout(request.sid, message) if classroom else None
        submit(seq, lambda: strokes_to_input(strokes), fanout)

    @socketio.on("image")
    def on_image(message):
        gate.check(message, ("seq", "data (PNG or JPEG bytes)"))
        seq = parse_seq(message.get("seq"))
        data = message.get("data")
        if not isinstance(data, (bytes, bytearray)):
            raise BadMessage("image data must be binary PNG or JPEG bytes")
        submit(seq, lambda: image_to_input(bytes(data)))

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        batcher.forget(request.sid)
        gate.limiter.forget(request.sid)
        if classroom:
            classroom.disconnected(request.sid)

    @socketio.on("*")
    def on_unknown(event, *args):
        known = sorted(set(socketio.server.handlers.get("/", {})) - {"*", "connect", "disconnect"})
        send_error(request.sid, f"unknown event {str(event)[:40]!r}: this server understands {', '.join(known)}")

    @socketio.on_error_default
    def on_error(error):
        if isinstance(error, Ignored):
            return
        if isinstance(error, BadMessage):
            send_error(request.sid, str(error))
        else:
            log.exception("event failed")
            send_error(request.sid, "internal error while handling that message")

    return gate


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
