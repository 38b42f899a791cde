"""A model's inference service for a caller that holds a model file's path rather than the
app (the classroom's events). The app's own models, their frame workers and picture
queues are in webapp/models.py (`get_models`)."""
from model.description import describe_file

from .service import InferenceService, Result  # noqa: F401  (what callers of this module use)


def get_service(model_path) -> InferenceService:
    """A service of its own for the file at `model_path`, read now: call it once, at start."""
    return InferenceService(describe_file(model_path))
