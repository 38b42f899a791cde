"""Where the network looks: the gradient of the predicted digit's score with respect to
each input pixel (vanilla saliency), computed with TensorFlow."""
import numpy as np


class Saliency:
    def __init__(self, model):
        """`model`: the Keras model. Traced once here; each call then runs the graph."""
        import keras
        import tensorflow as tf

        # The logit, not the softmax probability: a confident prediction's probability is
        # flat at 1.0, so its gradient would vanish.
        features = keras.Model(model.inputs, model.get_layer("dense2").output)
        kernel, bias = (tf.constant(w) for w in model.get_layer("output").get_weights())

        @tf.function(input_signature=[tf.TensorSpec((1, 28, 28, 1), tf.float32)])
        def gradient(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                logits = tf.matmul(features(x, training=False), kernel) + bias
                score = tf.reduce_max(logits, axis=-1)
            return tape.gradient(score, x)[0, :, :, 0], tf.argmax(logits[0])

        self._gradient = gradient
        gradient.get_concrete_function()

    def __call__(self, image: np.ndarray):
        """image (28, 28) → (saliency (28, 28) scaled to 0..1, predicted digit)."""
        gradient, digit = self._gradient(np.asarray(image, np.float32)[None, :, :, None])
        magnitude = np.abs(gradient.numpy())
        peak = magnitude.max()
        return (magnitude / peak if peak > 0 else magnitude), int(digit)
