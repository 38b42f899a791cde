"""The training page."""
from flask import Blueprint, current_app, render_template

from ..views import page_context
from .events import allowed

bp = Blueprint("training", __name__)


@bp.get("/train")
def train():
    return render_template("train.html", allowed=allowed(current_app.config), **page_context())
