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
        cors_allowed_origins=app.config["CORS_ALLOWED_ORIGINS"],
        max_http_buffer_size=app.config["MAX_TRANSPORT_BYTES"],
    )
    events.register(socketio, app)
    return app
