"""Socket.IO events: drawings and pictures in, one binary frame per drawing state out."""
import logging
import math

from flask import request
from flask_socketio import SocketIO

from .batcher import LatestWinsBatcher
from .guards import RateLimiter, guard_message_size
from .inference import get_worker

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

    def check(self, message, fields, sid=None):
        sid = sid or request.sid
        if not self.limiter.allow(sid):
            if self.limiter.should_warn(sid):
                raise BadMessage("too many messages: slow down")
            raise Ignored()
        if not isinstance(message, dict):
            raise BadMessage("expected an object with " + ", ".join(fields))


def register(socketio: SocketIO, app, classroom=None) -> Gate:
    """The drawing events; `classroom` (optional) is told of departures and may send a
    teacher's frames on to the class (follow me). Returns the gate for other events."""
    gate = Gate(RateLimiter(app.config["MESSAGES_PER_SECOND"], app.config["MESSAGE_BURST"]))
    worker = get_worker(app.config["MODEL_PATH"])

    def send_error(sid, message, seq=None):
        socketio.server.emit("error_message", {"error": message, "seq": seq}, to=sid)

    guard_message_size(
        socketio.server,
        app.config["MAX_MESSAGE_BYTES"],
        lambda sid, size: send_error(sid, f"message too large: {size:,} bytes, at most {app.config['MAX_MESSAGE_BYTES']:,}"),
    )

    def answer_batch(jobs):
        """Every waiting drawing's frame, made in one pass by the frame worker, to its client:
        the worker starts now; the frames go out once the next batch is on its way to it."""
        worker.send([(kind, payload, seq) for _, seq, kind, payload, _ in jobs])

        def finish():
            for (sid, seq, _, _, deliver), (frame, error) in zip(jobs, worker.receive()):
                if frame is None:
                    send_error(sid, error, seq)
                else:
                    deliver(frame)

        return finish

    batcher = LatestWinsBatcher(answer_batch, max_batch=app.config["MAX_BATCH"])

    def submit(sid, seq, kind, payload, fanout=None):
        def deliver(frame):
            socketio.server.emit("frame", frame, to=sid)
            if fanout is not None:
                fanout(frame)

        batcher.submit(sid, (sid, seq, kind, payload, deliver))

    def hot(event):
        """The per-frame events, registered on python-socketio itself: they need no Flask
        request context, and building one for every message took a fifth of the server's
        time under load. Errors are answered as for every other event."""

        def register_handler(handler):
            def run(sid, message=None):
                try:
                    handler(sid, message)
                except Exception as error:
                    answer_error(sid, error)

            socketio.server.on(event, run)
            return handler

        return register_handler

    @hot("draw")
    def on_draw(sid, message):
        gate.check(message, ("seq", "strokes", "width", "height"), sid)
        seq = parse_seq(message.get("seq"))
        parse_canvas_size(message)
        strokes = message.get("strokes")
        fanout = classroom.follow_fanout(sid, message) if classroom else None
        submit(sid, seq, "draw", strokes, fanout)

    @hot("image")
    def on_image(sid, message):
        gate.check(message, ("seq", "data (PNG or JPEG bytes)"), sid)
        seq = parse_seq(message.get("seq"))
        data = message.get("data")
        if not isinstance(data, (bytes, bytearray)):
            raise BadMessage("image data must be binary PNG or JPEG bytes")
        submit(sid, seq, "image", bytes(data))

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

    def answer_error(sid, error):
        if isinstance(error, Ignored):
            return
        if isinstance(error, BadMessage):
            send_error(sid, str(error))
        else:
            log.exception("event failed")
            send_error(sid, "internal error while handling that message")

    @socketio.on_error_default
    def on_error(error):
        answer_error(request.sid, error)

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
