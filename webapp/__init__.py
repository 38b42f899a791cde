"""Draw a digit, watch the CNN think: the Flask application."""
from pathlib import Path

from flask import Flask
from flask_socketio import SocketIO

ROOT = Path(__file__).resolve().parent.parent
socketio = SocketIO()


def create_app(test_config=None):
    app = Flask(__name__, static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    from .config import load_config

    load_config(app, test_config)
    from . import api, events, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    socketio.init_app(
        app,
        async_mode="threading",
        # Each client's events in arrival order, on its connection's thread: handlers only
        # validate and hand drawings to the batcher, and an older drawing must never be
        # handled after a newer one.
        async_handlers=False,
        cors_allowed_origins=app.config["CORS_ALLOWED_ORIGINS"],
        max_http_buffer_size=app.config["MAX_TRANSPORT_BYTES"],
    )
    events.register(socketio, app)
    return app
