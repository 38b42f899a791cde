"""The tutorial's CNN, with stable layer names that the web app relies on."""
import keras
from keras import layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10

# The names are the contract with the front end: it labels maps by them.
FEATURE_LAYERS = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2")
DENSE_LAYERS = ("dense1", "dense2", "output")
LAYER_NAMES = FEATURE_LAYERS + ("flatten", "dense1", "dropout1", "dense2", "dropout2", "output")


def build_model() -> keras.Model:
    """Conv(24)→ReLU→Pool→Conv(48)→ReLU→Pool→Dense 512→Dense 128→Dense 10; 1,276,466 parameters."""
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            # ReLU kept as its own layer so maps can be shown before and after it.
            layers.Conv2D(24, 2, strides=1, padding="same", name="conv1"),
            layers.Activation("relu", name="relu1"),
            layers.MaxPooling2D(2, strides=2, name="pool1"),
            layers.Conv2D(48, 2, strides=1, padding="same", name="conv2"),
            layers.Activation("relu", name="relu2"),
            layers.MaxPooling2D(2, strides=2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(512, activation="relu", name="dense1"),
            layers.Dropout(0.5, name="dropout1"),
            layers.Dense(128, activation="relu", name="dense2"),
            layers.Dropout(0.5, name="dropout2"),
            layers.Dense(NUM_CLASSES, activation="softmax", name="output"),
        ],
        name="mnist_cnn",
    )
