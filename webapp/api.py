"""HTTP API for scripts: POST /api/predict with JSON strokes or an uploaded image."""
import orjson
from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from model.preprocess import EmptyDrawing, PreprocessError, check_shape

from .waits import off_loop
from .models import UnknownModel, get_models
from .pictures import Busy

bp = Blueprint("api", __name__, url_prefix="/api")
USAGE = 'send JSON {"strokes": [[[x, y], ...], ...]} or a multipart "image" upload'


class BadRequest(ValueError):
    pass


def chosen_model():
    """?model=NAME (none: the default); BadRequest naming the models there are."""
    try:
        return get_models().get(request.args.get("model"))
    except UnknownModel as unknown:
        raise BadRequest(str(unknown)) from None


def read_input(model):
    """The model's input from JSON strokes or an uploaded picture; and the JSON body."""
    if request.files:
        upload = request.files.get("image")
        if upload is None:
            raise BadRequest("send the picture as the multipart field 'image'")
        return get_models().pictures(model.name).to_input(upload.read()), {}
    body = read_json()
    if not isinstance(body, dict) or "strokes" not in body:
        raise BadRequest(USAGE)
    return model.service.prepare_strokes(check_shape(body["strokes"])), body


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
    """`compute(service, image, body)`, for the model the request names."""
    try:
        model = chosen_model()
        return jsonify(compute(model.service, *read_input(model)))
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
    want_maps = request.args.get("maps", "").lower() in ("1", "true", "yes")
    return answer(lambda service, image, body: describe(service.run(image), want_maps or body.get("maps") is True))


@bp.post("/saliency")
def saliency():
    """Where the network looks for its prediction: |d score / d pixel|, 0..1, at the
    model's input size (NumPy: model/gradient.py)."""

    def compute(service, image, body):
        values, digit = off_loop(service.saliency, image)
        return {"digit": digit, "saliency": values.round(3).tolist()}

    return answer(compute)


def describe(result, with_maps):
    answer = {
        "digit": result.digit,
        "probabilities": [round(float(p), 6) for p in result.probabilities],
        "unlike_training_digits": result.unlike,  # model/novelty.py; always false without statistics
        "input": result.image.round(4).tolist(),
        "layers": [{"name": name, "shape": list(result.layers[name].shape)} for name in result.names],
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
