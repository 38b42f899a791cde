"""HTTP API for scripts: POST /api/predict with JSON strokes or an uploaded image."""
from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from model.network import SHOWN_LAYERS
from model.preprocess import EmptyDrawing, PreprocessError, image_to_input, strokes_to_input

from .compute import off_loop
from .inference import get_service

bp = Blueprint("api", __name__, url_prefix="/api")


class BadRequest(ValueError):
    pass


def read_input():
    """The network's 28x28 input from JSON strokes or an uploaded picture; and the JSON body."""
    if request.files:
        upload = request.files.get("image")
        if upload is None:
            raise BadRequest("send the picture as the multipart field 'image'")
        return image_to_input(upload.read()), {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "strokes" not in body:
        raise BadRequest('send JSON {"strokes": [[[x, y], ...], ...]} or a multipart "image" upload')
    return strokes_to_input(body["strokes"]), body


def answer(compute):
    try:
        return jsonify(compute(*read_input()))
    except EmptyDrawing as empty:
        return error(422, str(empty))
    except (BadRequest, PreprocessError) as bad:
        return error(400, str(bad))


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
