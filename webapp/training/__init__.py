"""Train it live: train a network on MNIST and watch it learn, or fine-tune a class's model
on the class's own drawings. `jobs` runs one job at a time in its own process
(model/live_training.py), `settings` checks what a learner asks for, `events` is the
Socket.IO side, `views` the page."""
import logging
from pathlib import Path

from ..models import ModelRefused, get_models
from . import events, views
from .jobs import Trainer

log = logging.getLogger(__name__)


def init_app(app, socketio, classroom, gate) -> Trainer:
    trainer = app.extensions["cnnview.training"] = Trainer(app, socketio, get_models(app))
    show_trained_models(trainer.output, get_models(app))
    app.register_blueprint(views.bp)
    events.register(socketio, app, classroom, gate)
    return trainer


def show_trained_models(folder: Path, models):
    """Models trained before this start (each job writes its own folder) are shown again."""
    for path in sorted(Path(folder).glob("*/mnist_cnn.keras")):
        try:
            models.add(path.parent.name, path)
        except ModelRefused as refused:
            log.warning("a trained model is not shown: %s", refused)
