"""Draw a digit, watch the CNN think: the Flask application."""
import os

# Per-frame matrices are tiny: a second OpenBLAS thread gains no time and spins on a core
# the server needs (measured here: one frame 0.17 ms either way, but 0.31 ms of CPU with
# two threads against 0.17 with one). Set before NumPy is first imported (it loads OpenBLAS).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

from flask import Flask  # noqa: E402
from flask_socketio import SocketIO  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
socketio = SocketIO()


def async_mode():
    """gevent when the server has patched the standard library for it (gunicorn -k gevent,
    the production command), else plain threads (the development server, tests)."""
    from .waits import gevent_patched

    return "gevent" if gevent_patched() else "threading"


def create_app(test_config=None, overrides=None):
    """`test_config`: the settings instead of the environment's; `overrides`: settings over
    the environment's (the command line's)."""
    app = Flask(__name__, static_folder=None, template_folder=str(ROOT / "templates"))
    from .config import load_config

    load_config(app, test_config, overrides)
    from . import api, classroom, compression, events, fastjson, guards, message_queue, models, packets, security, static_files, top_digits, unit_weights, views
    from .classroom import events as classroom_events, views as classroom_views

    models.init_app(app)  # every model read and checked (ModelRefused: no start); the default's frame worker starting
    security.init_app(app)
    compression.init_app(app)  # brotli or gzip for pages, scripts, styles, JSON, SVG; not Socket.IO
    static_files.init_app(app, ROOT / "static")  # under their version's address, kept by browsers
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(unit_weights.bp)  # a dense unit's weights, on demand
    app.register_blueprint(top_digits.bp)  # a channel's top patches' whole digits, on demand
    app.register_blueprint(classroom_views.bp)
    socketio.init_app(
        app,
        async_mode=async_mode(),
        json=fastjson,
        # Each client's events in arrival order, on its connection's thread (or greenlet):
        # handlers only validate and hand drawings to the batcher, and an older drawing
        # must never be handled after a newer one.
        async_handlers=False,
        cors_allowed_origins=app.config["CORS_ALLOWED_ORIGINS"],
        max_http_buffer_size=app.config["MAX_TRANSPORT_BYTES"],
        # Every packet a client sends is read by packets.py: the unreadable, the oversized
        # and the ill-formed become an error answer, never an exception in Engine.IO.
        serializer=packets.serializer(app.config["MAX_MESSAGE_BYTES"], app.config["MAX_ATTACHMENTS"]),
        ping_interval=app.config["PING_INTERVAL"],
        ping_timeout=app.config["PING_TIMEOUT"],
        # Several processes: Redis carries events between them (None: this process alone).
        client_manager=message_queue.client_manager(app.config["MESSAGE_QUEUE"]),
    )
    guards.raise_open_file_limit()
    guards.return_big_buffers_to_the_system()
    guards.quiet_client_mistakes()
    guards.read_bodies_first(app)
    guards.trust_proxies(app, app.config["TRUSTED_PROXIES"])
    app.wsgi_app = guards.websocket_guard(app.wsgi_app, app.config["PING_INTERVAL"] + app.config["PING_TIMEOUT"] + 2)
    room = classroom.Classroom(app, socketio)
    gate = events.register(socketio, app, classroom=room)
    classroom_events.register(socketio, app, room, gate)
    from . import training  # noqa: E402 (after the gate it shares)

    training.init_app(app, socketio, room, gate)
    return app
