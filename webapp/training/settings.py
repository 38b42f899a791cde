"""A training job's settings as a learner sets them, checked before any process starts.
Every mistake is a BadMessage whose text says what is allowed."""
import math

from ..events import BadMessage

# The networks a job can train from scratch: model/train.py's ARCHITECTURES (a test checks
# that they agree; that module imports Keras, which the server never does).
ARCHITECTURES = ("tutorial", "deep3x3")

# "tutorial": the tutorial's own recipe on all of MNIST (minutes); "quick": visible learning
# within ~30 s on two cores: a fresh slice of MNIST each epoch and a small validation set.
PRESETS = {
    "tutorial": {"architecture": "tutorial", "epochs": 16, "batch_size": 128, "learning_rate": 0.001,
                 "samples_per_epoch": 60000, "validation_samples": 10000},
    "quick": {"architecture": "tutorial", "epochs": 3, "batch_size": 64, "learning_rate": 0.001,
              "samples_per_epoch": 3000, "validation_samples": 1000},
}
# Fine-tuning on a class's drawings: a gentle learning rate, so the network adapts to the
# class's hand without forgetting MNIST; a quarter of the drawings held back to test it.
FINETUNE = {"epochs": 5, "batch_size": 32, "learning_rate": 0.0003, "held_back": 0.25}
MIN_DRAWINGS = 20  # fewer and the held-back part is a handful of digits: its accuracy means little

# name → (smallest, largest) allowed
INTEGERS = {"epochs": (1, 100), "batch_size": (1, 1024), "samples_per_epoch": (32, 60000), "validation_samples": (32, 10000)}
LEARNING_RATE = (1e-6, 1.0)
HELD_BACK = (0.1, 0.5)


def training_settings(message) -> dict:
    """A scratch job's settings: a preset (default "quick"), any field overridden."""
    if not isinstance(message, dict):
        raise BadMessage("send the training settings as an object")
    preset = message.get("preset", "quick")
    if preset not in PRESETS:
        raise BadMessage(f"preset must be one of {', '.join(PRESETS)}")
    settings = dict(PRESETS[preset])
    architecture = message.get("architecture", settings["architecture"])
    if architecture not in ARCHITECTURES:
        raise BadMessage(f"architecture must be one of {', '.join(ARCHITECTURES)}")
    settings["architecture"] = architecture
    for name in INTEGERS:
        settings[name] = integer(name, message.get(name, settings[name]))
    settings["learning_rate"] = learning_rate(message.get("learning_rate", settings["learning_rate"]))
    if settings["batch_size"] > settings["samples_per_epoch"]:
        raise BadMessage(f"the batch size ({settings['batch_size']}) cannot be larger than the images per epoch ({settings['samples_per_epoch']})")
    return {"preset": preset, **settings}


def finetune_settings(message, drawings) -> dict:
    """A fine-tuning job's settings, for `drawings` drawings."""
    message = message if isinstance(message, dict) else {}
    if drawings < MIN_DRAWINGS:
        raise BadMessage(f"the class has sent {drawings} drawings: fine-tuning needs at least {MIN_DRAWINGS}")
    settings = dict(FINETUNE)
    settings["epochs"] = integer("epochs", message.get("epochs", settings["epochs"]))
    settings["batch_size"] = integer("batch_size", message.get("batch_size", settings["batch_size"]))
    settings["learning_rate"] = learning_rate(message.get("learning_rate", settings["learning_rate"]))
    held = message.get("held_back", settings["held_back"])
    if not number(held) or not HELD_BACK[0] <= held <= HELD_BACK[1]:
        raise BadMessage(f"held_back must be the part of the drawings kept for testing, {HELD_BACK[0]} to {HELD_BACK[1]}")
    settings["held_back"] = float(held)
    return settings


def integer(name, value) -> int:
    low, high = INTEGERS[name]
    # Compared, never converted: 1e400 or "3" are refused, not rounded.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadMessage(f"{name.replace('_', ' ')} must be a whole number from {low} to {high}")
    return value


def learning_rate(value) -> float:
    low, high = LEARNING_RATE
    if not number(value) or not low <= value <= high:
        raise BadMessage(f"learning rate must be a number from {low:g} to {high:g} (the tutorial's is 0.001)")
    return float(value)


def number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
