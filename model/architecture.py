"""The tutorial's CNN, for training (`python -m model.train`). The app reads any trained
model's layers from its file (model/parse_layers.py): nothing else depends on these names.
"""

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


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
