"""Socket.IO events: drawings and pictures in, one binary frame per drawing state out."""
import logging
import threading

from flask import request
from flask_socketio import SocketIO

from model.preprocess import check_shape

from .batcher import LatestWinsBatcher
from .flow import FlowControl
from .guards import HANG_UP, RateLimiter
from .models import UnknownModel, get_models
from .packets import MALFORMED, Malformed

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
        self.throttle(sid or request.sid)
        if not isinstance(message, dict):
            raise BadMessage("expected an object with " + ", ".join(fields))

    def throttle(self, sid):
        """Spend one of `sid`'s tokens; out of tokens, one warning a second and silence."""
        if not self.limiter.allow(sid):
            if self.limiter.should_warn(sid):
                raise BadMessage("too many messages: slow down")
            raise Ignored()


def register(socketio: SocketIO, app, classroom=None) -> Gate:
    """The drawing events; `classroom` (optional) is told of departures and may send a
    teacher's frames on to the class (follow me). Returns the gate for other events."""
    gate = Gate(RateLimiter(app.config["MESSAGES_PER_SECOND"], app.config["MESSAGE_BURST"]))
    models = get_models(app)

    def send_error(sid, message, seq=None):
        socketio.server.emit("error_message", {"error": message, "seq": seq}, to=sid)

    flow = FlowControl(
        lambda sid, event, payload, callback: socketio.server.emit(event, payload, to=sid, callback=callback),
        connected=lambda sid: socketio.server.manager.is_connected(sid, "/"),
        window=app.config["FRAME_WINDOW"],
        stall_seconds=app.config["STALL_SECONDS"],
    )
    if classroom:
        classroom.roster.flow = flow

    def answer_batch(name):
        def answer(jobs):
            """Every waiting drawing's frame, made in one pass by the model's frame worker, to
            its client: the worker starts now; the frames go out once the next batch is on its
            way to it."""
            worker = models.worker(name)
            worker.send([(kind, payload, seq) for _, seq, kind, payload, _ in jobs])

            def finish():
                for (sid, seq, _, _, deliver), (frame, error) in zip(jobs, worker.receive()):
                    if frame is None:
                        send_error(sid, error, seq)
                    else:
                        deliver(frame)

            return finish

        return answer

    batchers, making = {}, threading.Lock()

    def batcher_for(name):
        """One batcher per model (a batch goes through one network), made on first use."""
        with making:
            if name not in batchers:
                batchers[name] = LatestWinsBatcher(answer_batch(name), max_batch=app.config["MAX_BATCH"])
            return batchers[name]

    def model_of(message):
        """The model a drawing is for: its "model" field, or the default."""
        try:
            return models.get(message.get("model")).name
        except UnknownModel as unknown:
            raise BadMessage(str(unknown)) from None

    def submit(sid, seq, kind, payload, fanout=None, model=None):
        def deliver(frame):
            flow.send(sid, "frame", frame)
            if fanout is not None:
                fanout(frame)

        batcher_for(model or models.default).submit(sid, (sid, seq, kind, payload, deliver))

    def hot(event):
        """The per-frame events, registered on python-socketio itself: they need no Flask
        request context, and building one for every message took a fifth of the server's
        time under load. Errors are answered as for every other event."""

        def register_handler(handler):
            def run(sid, message=None):  # packets.py lets through one argument only
                try:
                    handler(sid, message)
                except Exception as error:
                    answer_error(sid, error)

            socketio.server.on(event, run)
            return handler

        return register_handler

    def drop_if_stalled(sid):
        """A client that keeps sending while its frames wait unacknowledged is not reading:
        drop it rather than hold anything more for it."""
        if flow.stalled(sid):
            log.info("%s stopped reading its frames: disconnected", sid)
            socketio.server.disconnect(sid)
            raise Ignored()

    @hot("draw")
    def on_draw(sid, message):
        drop_if_stalled(sid)
        gate.check(message, ("seq", "strokes", "width", "height"), sid)
        seq = parse_seq(message.get("seq"))
        parse_canvas_size(message)
        model = model_of(message)
        strokes = check_shape(message.get("strokes"), BadMessage)  # flat and bounded before it joins a batch
        fanout = classroom.follow_fanout(sid, message) if classroom else None
        submit(sid, seq, "draw", strokes, fanout, model)

    @hot("image")
    def on_image(sid, message):
        drop_if_stalled(sid)
        gate.check(message, ("seq", "data (PNG or JPEG bytes)"), sid)
        seq = parse_seq(message.get("seq"))
        data = message.get("data")
        if not isinstance(data, (bytes, bytearray)):
            raise BadMessage("image data must be binary PNG or JPEG bytes")
        models.pictures(model_of(message)).submit(sid, seq, bytes(data), lambda frame: flow.send(sid, "frame", frame), lambda error: send_error(sid, error, seq))

    @hot(MALFORMED)
    def on_malformed(sid, problem):
        gate.throttle(sid)  # garbage floods are answered at the drawings' rate, not one for one
        raise BadMessage(problem.reason if isinstance(problem, Malformed) else "unreadable message")

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        # Ends the WebSocket itself: after a missed pong or a stall, simple-websocket would
        # otherwise go on reading a peer that keeps sending, for as long as it sends.
        request.environ.get(HANG_UP, lambda: None)()
        for batcher in list(batchers.values()):
            batcher.forget(request.sid)
        flow.forget(request.sid)
        gate.limiter.forget(request.sid)
        if classroom:
            classroom.disconnected(request.sid)

    @socketio.on("*")
    def on_unknown(event, *args):
        gate.throttle(request.sid)
        known = sorted(set(socketio.server.handlers.get("/", {})) - {"*", "connect", "disconnect", MALFORMED})
        raise BadMessage(f"unknown event {str(event)[:40]!r}: this server understands {', '.join(known)}")

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
        # Compared, never converted: an integer of 400 digits overflows a float, and NaN
        # fails every comparison.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= MAX_CANVAS:
            raise BadMessage(f"{key} must be the canvas size in pixels, 1 to {MAX_CANVAS}")
