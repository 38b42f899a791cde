"""Small Keras models for the any-model tests (tests/test_any_model.py): a matrix covering
every supported layer and option, with random weights, and models the app must refuse."""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import layers  # noqa: E402


def k3_same_batchnorm():
    """3x3 "same" convs, batch norm on maps and on a flattened vector, a fused ReLU,
    Flatten → Dropout → Dense."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="pixels"),
            layers.Conv2D(6, 3, padding="same", name="c1"),
            layers.BatchNormalization(name="bn1"),
            layers.ReLU(name="r1"),
            layers.MaxPooling2D(2, name="p1"),
            layers.Conv2D(8, 3, padding="same", activation="relu", name="c2"),
            layers.MaxPooling2D(2, name="p2"),
            layers.Flatten(name="flat"),
            layers.Dropout(0.3, name="drop"),
            layers.Dense(16, activation="relu", name="d1"),
            layers.BatchNormalization(name="bn2"),
            layers.Dense(10, activation="softmax", name="out"),
        ],
        name="k3",
    )


def k5_valid_stride2():
    """5x5 "valid" stride-2 conv with a fused tanh, 3x3/2 "same" average pooling, sigmoid,
    a Flatten read by something else than a Dense, a separate softmax layer; 30x30 input."""
    return keras.Sequential(
        [
            keras.Input((30, 30, 1)),
            layers.Conv2D(6, 5, strides=2, padding="valid", activation="tanh", name="c1"),
            layers.AveragePooling2D(3, strides=2, padding="same", name="a1"),
            layers.Conv2D(8, 3, padding="valid", name="c2"),
            layers.Activation("sigmoid", name="s2"),
            layers.Flatten(name="flat"),
            layers.Activation("tanh", name="t"),
            layers.Dense(7, name="logits"),
            layers.Activation("softmax", name="probs"),
        ],
        name="k5",
    )


def rgb32_functional():
    """Functional API, RGB 32x32, strided "same" conv, a rectangular kernel, 3x3/2 "same"
    max pooling, average pooling, global average pooling, a sigmoid dense layer."""
    image = keras.Input((32, 32, 3), name="rgb")
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c1")(image)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Conv2D(12, (3, 5), padding="same", name="c2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="p2")(x)
    x = layers.AveragePooling2D(2, name="a2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(12, activation="sigmoid", name="d")(x)
    out = layers.Dense(5, activation="softmax", name="out")(x)
    return keras.Model(image, out, name="rgb32")


def smooth_odd():
    """No ReLU and no max pooling (every input in a field moves its unit: fields are tight);
    odd, non-square 29x31 input; a 4x4 stride-2 "same" conv (uneven padding); a
    Softmax layer as output."""
    return keras.Sequential(
        [
            keras.Input((29, 31, 1)),
            layers.Conv2D(4, 4, strides=2, padding="same", activation="tanh", name="c1"),
            layers.AveragePooling2D(2, strides=1, name="a1"),
            layers.Conv2D(5, 3, padding="valid", name="c2"),
            layers.BatchNormalization(name="bn"),
            layers.Activation("sigmoid", name="s"),
            layers.Conv2D(3, 2, strides=2, padding="same", name="c3"),
            layers.Flatten(name="flat"),
            layers.Dense(6, activation="linear", name="logits"),
            layers.Softmax(name="probs"),
        ],
        name="smooth",
    )


MODELS = {"k3": k3_same_batchnorm, "k5": k5_valid_stride2, "rgb32": rgb32_functional, "smooth": smooth_odd}


def randomise(model, seed=0):
    """Random weights everywhere, non-trivial biases and batch-norm statistics."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = layer.get_weights()
        if not values:
            continue
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, variance = values
            values = [rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.3, beta.shape), rng.normal(0, 0.5, mean.shape), rng.uniform(0.2, 2.0, variance.shape)]
        else:
            kernel, bias = values
            fan_in = np.prod(kernel.shape[:-1])
            values = [rng.normal(0, 1.5 / np.sqrt(fan_in), kernel.shape), rng.normal(0, 0.2, bias.shape)]
        layer.set_weights([v.astype(np.float32) for v in values])
    return model


def images_for(description, count, seed=1):
    return np.random.default_rng(seed).random((count, *description.input_shape), dtype=np.float32)


def keras_outputs(model, images):
    """Every Keras layer's output, by layer name."""
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers if not isinstance(layer, layers.InputLayer)])
    names = [layer.name for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    return {name: np.asarray(value) for name, value in zip(names, probe.predict(images, verbose=0))}


# Models outside what the app shows: each must get the one clear error.


def lstm_model():
    return keras.Sequential([keras.Input((28, 28)), layers.LSTM(8, name="memory"), layers.Dense(10, activation="softmax")])


def two_inputs():
    a, b = keras.Input((28, 28, 1), name="left"), keras.Input((28, 28, 1), name="right")
    x = layers.Concatenate()([a, b])
    x = layers.Flatten()(x)
    return keras.Model([a, b], layers.Dense(10, activation="softmax")(x))


def too_big():
    return keras.Sequential([keras.Input((200, 200, 1), name="huge"), layers.Conv2D(4, 3), layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])


def no_softmax():
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, name="scores")])


def rescaling():
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Rescaling(1 / 255, name="scale"), layers.Flatten(), layers.Dense(10, activation="softmax")])


def four_channels():
    return keras.Sequential([keras.Input((28, 28, 4), name="rgba"), layers.Flatten(), layers.Dense(10, activation="softmax")])
