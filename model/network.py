"""Where the shipped (tutorial's) model lives, and Keras' loader for tests and training.

Serving needs no Keras: every model is read by model/parse_layers.py and run by
model/forward.py."""
from pathlib import Path

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "mnist_cnn.keras"
# The tutorial's network's shown layers, for its own tests; nothing else names them: other
# code reads a model's layers from its description.
SHOWN_LAYERS = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "dense1", "dense2", "output")


def load_keras(path=DEFAULT_MODEL_PATH):
    import keras  # loading only: the forward pass never touches Keras

    return keras.saving.load_model(path, compile=False)
