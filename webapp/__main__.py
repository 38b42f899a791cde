"""Development server: `python -m webapp [--host H] [--port P]`."""
import argparse

from . import create_app, socketio


def main():
    app = create_app()
    parser = argparse.ArgumentParser(description="Serve the CNN visualiser.")
    parser.add_argument("--host", default=app.config["HOST"])
    parser.add_argument("--port", type=int, default=int(app.config["PORT"]))
    args = parser.parse_args()
    print(f"Serving on http://{args.host}:{args.port}", flush=True)
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()
