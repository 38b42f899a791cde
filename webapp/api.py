"""HTTP API for scripts: POST /api/predict with JSON strokes or an uploaded image."""
import orjson
from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from model.network import SHOWN_LAYERS
from model.preprocess import EmptyDrawing, PreprocessError, check_shape, strokes_to_input

from .compute import off_loop
from .inference import configure, get_pictures, get_service
from .pictures import Busy

bp = Blueprint("api", __name__, url_prefix="/api")
USAGE = 'send JSON {"strokes": [[[x, y], ...], ...]} or a multipart "image" upload'


class BadRequest(ValueError):
    pass


@bp.record_once
def _start_workers(state):
    """Worker settings and the frame worker's start, once the app exists (create_app
    registers this blueprint before the socket events that use the worker)."""
    configure(state.app.config)


def read_input():
    """The network's 28x28 input from JSON strokes or an uploaded picture; and the JSON body."""
    if request.files:
        upload = request.files.get("image")
        if upload is None:
            raise BadRequest("send the picture as the multipart field 'image'")
        return get_pictures(current_app.config["MODEL_PATH"]).to_input(upload.read()), {}
    body = read_json()
    if not isinstance(body, dict) or "strokes" not in body:
        raise BadRequest(USAGE)
    return strokes_to_input(check_shape(body["strokes"])), body


def read_json():
    """The body as JSON, parsed by orjson: it refuses nesting over 1,024 levels instead of
    overflowing the stack (the standard library raises RecursionError), and NaN,
    Infinity and integers beyond 64 bits, which are not numbers a drawing can use."""
    if not request.is_json:
        raise BadRequest(USAGE)
    try:
        return orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"the body is not JSON that can be read ({error}; NaN, Infinity, integers beyond "
                         f"64 bits and nesting over 1,024 levels are refused): {USAGE}") from None


def answer(compute):
    try:
        return jsonify(compute(*read_input()))
    except EmptyDrawing as empty:
        return error(422, str(empty))
    except (BadRequest, PreprocessError) as bad:
        return error(400, str(bad))
    except Busy as busy:
        response = error(503, str(busy))
        response[0].headers["Retry-After"] = "2"
        return response


@bp.post("/predict")
def predict():
    service = get_service(current_app.config["MODEL_PATH"])
    want_maps = request.args.get("maps", "").lower() in ("1", "true", "yes")
    return answer(lambda image, body: describe(service.run(image), want_maps or body.get("maps") is True))


@bp.post("/saliency")
def saliency():
    """Where the network looks for its prediction: |d score / d pixel|, 0..1, 28x28."""
    service = get_service(current_app.config["MODEL_PATH"])

    def compute(image, body):
        values, digit = off_loop(service.saliency, image)
        return {"digit": digit, "saliency": values.round(3).tolist()}

    return answer(compute)


def describe(result, with_maps):
    answer = {
        "digit": result.digit,
        "probabilities": [round(float(p), 6) for p in result.probabilities],
        "input": result.image.round(4).tolist(),
        "layers": [{"name": name, "shape": list(result.layers[name].shape)} for name in SHOWN_LAYERS],
    }
    if with_maps:
        # Maps as (channel, row, column) so each map is one nested list.
        answer["maps"] = {
            name: (values.transpose(2, 0, 1) if values.ndim == 3 else values).round(5).tolist()
            for name, values in result.layers.items()
        }
    return answer


def error(status, message):
    return jsonify({"error": message}), status


@bp.app_errorhandler(HTTPException)
def http_error(exc):
    """Errors as JSON for the API, readable text elsewhere."""
    if request.path.startswith("/api/"):
        return error(exc.code, exc.description or exc.name)
    return exc
