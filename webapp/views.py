"""The page."""
from flask import Blueprint, render_template

from model.network import SHOWN_LAYERS

bp = Blueprint("views", __name__)


@bp.get("/")
def index():
    return render_template("index.html", layers=SHOWN_LAYERS)
