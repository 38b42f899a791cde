"""The page, and the data about each network that it fetches: the layer table, the conv
filters and the top patches, as JSON files the browser keeps (webapp/network_data.py)."""
from flask import Blueprint, abort, render_template, request, url_for

from .classroom import get_classroom
from .models import Model, UnknownModel, get_models

bp = Blueprint("views", __name__)


def chosen_model(name=None) -> Model:
    """The model the address asks for (?model=NAME; none: the default); 404 naming the
    models there are for an unknown one."""
    try:
        return get_models().get(request.args.get("model") if name is None else name)
    except UnknownModel as unknown:
        abort(404, str(unknown))


def page_context(model: Model = None) -> dict:
    """What every page with live maps needs: the model's layers, and where its filters and
    top patches are (fetched by the page, then kept by the browser). The model's frame worker
    starts now, before the page's first drawing asks for a frame."""
    models = get_models()
    model = model or models.get()
    models.warm(model.name)
    description = model.description
    return {
        "model": model,
        "models": [m.summary for m in models],
        "layers": [layer["frame_name"] for layer in model.network.data["architecture"] if layer["frame_name"]],
        "architecture": model.network.data["architecture"],
        "total_params": description.param_count,
        "input_shape": description.input_shape,
        "network_url": url_for("views.network", digest=model.network.digest),
        "top_patches_url": url_for("views.top_patches_json", digest=model.top_patches.digest),
    }


def published(kind, digest):
    """A model's network.json or top patches: under its digest (any model's, kept for good),
    or the plain address (?model=NAME), which asks each time."""
    if digest is None:
        return getattr(chosen_model(), kind).response(immutable=False)
    for model in get_models():
        data = getattr(model, kind)
        if data.digest == digest:
            return data.response(immutable=True)
    abort(404)  # an older model's


@bp.get("/network.json")
@bp.get("/network/<digest>.json")
def network(digest=None):
    return published("network", digest)


@bp.get("/top-patches.json")
@bp.get("/top-patches/<digest>.json")
def top_patches_json(digest=None):
    return published("top_patches", digest)


@bp.get("/")
def index():
    return render_template("index.html", taught=get_classroom().taught_here(), **page_context(chosen_model()))


@bp.get("/compare")
def compare():
    """Two models side by side on one drawing (?a=NAME&b=NAME; default: the first two)."""
    models = get_models()
    others = [name for name in models.names if name != request.args.get("a", models.default)]
    a = chosen_model(request.args.get("a", models.default))
    b = chosen_model(request.args.get("b", others[0] if others else a.name))
    for m in (a, b):
        models.warm(m.name)  # both sides' first frames come with the first stroke
    sides = [
        {"key": key, "model": m, "architecture": m.network.data["architecture"],
         "network_url": url_for("views.network", digest=m.network.digest)}
        for key, m in (("a", a), ("b", b))
    ]
    return render_template("compare.html", sides=sides, model=a, models=[m.summary for m in models])
