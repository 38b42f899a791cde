"""The tutorial's CNN, with stable layer names that the web app relies on.

Keras is imported only to build the model: the layer names are also what the frame
worker process needs, and it never loads TensorFlow (half a gigabyte and seconds).
"""

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10

# The names are the contract with the front end: it labels maps by them.
FEATURE_LAYERS = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2")
DENSE_LAYERS = ("dense1", "dense2", "output")
LAYER_NAMES = FEATURE_LAYERS + ("flatten", "dense1", "dropout1", "dense2", "dropout2", "output")


def build_model():
    """Conv(24)→ReLU→Pool→Conv(48)→ReLU→Pool→Dense 512→Dense 128→Dense 10; 1,276,466 parameters."""
    import keras
    from keras import layers

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


# Short explanations shown beside each layer in the app (the learning views).
EXPLANATIONS = {
    "conv": "Convolution: each filter slides a small 2×2 window of weights over its input "
    "and adds up weight × value (plus a bias) at every position, so each map shows where "
    "that filter's pattern appears.",
    "relu": "ReLU keeps positive values and turns negatives into 0: only the places where a "
    "filter found its pattern stay lit.",
    "pool": "Max pooling keeps the largest value of every 2×2 block: the map halves in size "
    "and the strongest responses survive, wherever exactly they were.",
    "flatten": "Flatten lays all 48 maps of 7×7 out in one row of 2,352 numbers for the "
    "dense layers.",
    "dense": "Dense: every unit weighs all the numbers before it and adds a bias; ReLU then "
    "keeps the positive ones. Here the network combines the parts it found into digit-like evidence.",
    "dropout": "Dropout switches off half of the units at random, only while training, so the "
    "network cannot lean on any single one. When drawing it does nothing.",
    "output": "Softmax turns the last 10 numbers into probabilities that add up to 100%: the "
    "largest is the prediction.",
}


def layer_kind(name: str) -> str:
    return "output" if name == "output" else name.rstrip("0123456789")


def summary(path=None):
    """Every layer of the model file at `path` (default: the shipped one): name, kind, output
    shape and parameter count (1,276,466 in all). Read from the file's description, without
    Keras: a page that asks for this must not wait seconds for TensorFlow's import."""
    from .description import describe_file
    from .network import DEFAULT_MODEL_PATH

    return [
        {
            "name": layer.name,
            "kind": layer_kind(layer.name),
            "shape": tuple(layer.shape),
            "params": layer.param_count,
            "explanation": EXPLANATIONS[layer_kind(layer.name)],
        }
        for layer in describe_file(path or DEFAULT_MODEL_PATH).layers
    ]
