"""A deeper 3x3 network for the model zoo: `python -m model.train --architecture deep3x3`.

Two stages of (3x3 conv → batch norm → ReLU) twice, then 2x2 max pooling; a small dense
layer, dropout and the softmax. VGG's idea at MNIST size: two stacked 3x3 convolutions see
5x5 pixels with fewer weights than one 5x5. ReLU stays a layer of its own and every layer
has a readable name, because the page shows maps layer by layer. Kept small so that the
NumPy forward pass per frame stays cheap: 55,186 parameters (the tutorial's network has
1,276,466) and 1.24 M multiply-adds per image (the tutorial's: 2.25 M).
"""

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
FILTERS = (8, 16)  # per stage
DENSE_UNITS = 64


def build_deep_model(filters=FILTERS, dense_units=DENSE_UNITS, dropout=0.3):
    import keras
    from keras import layers

    stack = [keras.Input(shape=INPUT_SHAPE, name="image")]
    for stage, count in enumerate(filters, start=1):
        for part in "ab":
            tag = f"{stage}{part}"
            stack += [
                # No bias: the batch normalisation after it adds its own shift.
                layers.Conv2D(count, 3, padding="same", use_bias=False, name=f"conv{tag}"),
                layers.BatchNormalization(name=f"bn{tag}"),
                layers.Activation("relu", name=f"relu{tag}"),
            ]
        stack.append(layers.MaxPooling2D(2, strides=2, name=f"pool{stage}"))
    stack += [
        layers.Flatten(name="flatten"),
        layers.Dense(dense_units, activation="relu", name="dense1"),
        layers.Dropout(dropout, name="dropout1"),
        layers.Dense(NUM_CLASSES, activation="softmax", name="output"),
    ]
    return keras.Sequential(stack, name="deep3x3")
