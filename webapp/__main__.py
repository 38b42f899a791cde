"""Development server: `python -m webapp [--host H] [--port P] [--model FILE.keras ...]`."""
import argparse
import sys

from . import create_app, socketio


def main():
    parser = argparse.ArgumentParser(description="Serve the CNN visualiser.")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--model", action="append", metavar="FILE.keras",
                        help="a model to show (repeatable; the first is the default); "
                        "default: $CNNVIEW_MODELS, else the three shipped models")
    parser.add_argument("--models", metavar="FOLDER", help="show every .keras file in FOLDER")
    args = parser.parse_args()
    from .models import ModelRefused

    models = args.model or args.models
    try:
        app = create_app(overrides={"MODELS": models} if models else None)
    except ModelRefused as refused:
        sys.exit(f"error: {refused}")  # the reason, not a traceback; no half-working server
    host, port = args.host or app.config["HOST"], args.port or int(app.config["PORT"])
    print(f"Serving on http://{host}:{port}", flush=True)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()
