"""Where the network looks, for any described network, in NumPy: the gradient of a class's
score (its logit, before the softmax) with respect to every input pixel, by folding the
layer list backwards over the forward pass's own values. No TensorFlow.

The logit rather than the probability: a confident prediction's probability is flat at
1.0, so its gradient would vanish.
"""
from __future__ import annotations

import numpy as np

from .forward import Forward


def input_gradient(forward: Forward, images: np.ndarray, classes=None):
    """images (n, h, w, c) or (n, h, w) → (gradient (n, h, w, c) float64, classes (n,)):
    d logit[class] / d pixel, for each image's `classes` (default: its prediction)."""
    d = forward.description
    out = forward.run(images)
    n = len(out["all"])
    logits = out["logits"]
    classes = np.argmax(logits, axis=1) if classes is None else np.asarray(classes).reshape(n)
    views = {name: out["all"][:, start:stop].reshape((n, *shape)).astype(np.float64) for name, (start, stop, shape) in forward.slots.items()}

    def value(name):
        """A step's output, channel-first (hidden steps are reshapes of their input)."""
        if name == d.input_name:
            x = np.asarray(images, np.float64)
            return x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
        layer = d.layer(name)
        if layer.shown:
            return views[name]
        return value(layer.inputs[0])

    output = d.output
    grad = np.zeros((n, d.classes))
    grad[np.arange(n), classes] = 1.0
    # d logits: a Dense with a fused softmax is differentiated before its softmax; a
    # separate softmax layer is skipped.
    layers = list(d.layers)
    if output.kind == "activation":
        layers.pop()
        grad_of = {output.inputs[0]: grad}
    else:
        grad_of = {output.name: grad}
    for layer in reversed(layers):
        g = grad_of.pop(layer.name)
        source = layer.inputs[0]
        in_shape = d.shape_of(source)
        grad_of[source] = _backward(forward, layer, g, value, in_shape, skip_activation=layer is output)
    g = grad_of[d.input_name]
    return g.transpose(0, 2, 3, 1), classes


def saliency(forward: Forward, image: np.ndarray):
    """One image (h, w) or (h, w, c) → (|gradient| scaled to 0..1 as (h, w), predicted
    class): the largest over the channels for RGB."""
    gradient, classes = input_gradient(forward, np.asarray(image)[None])
    magnitude = np.abs(gradient[0]).max(axis=2)
    peak = magnitude.max()
    return (magnitude / peak if peak > 0 else magnitude).astype(np.float32), int(classes[0])


def _activation_grad(activation, y, g):
    if activation == "relu":
        return g * (y > 0)
    if activation == "sigmoid":
        return g * y * (1 - y)
    if activation == "tanh":
        return g * (1 - y * y)
    if activation == "linear":
        return g
    if activation == "softmax":  # inside the network: over channels (maps) or units
        return y * (g - (g * y).sum(axis=1, keepdims=True))
    raise KeyError(activation)


def _backward(forward, layer, g, value, in_shape, skip_activation=False):
    """d score / d (this layer's input), from d score / d (its output); channel-first."""
    kind, p = layer.kind, layer.params
    n = len(g)
    if kind == "dense":
        if p["activation"] != "linear" and not skip_activation:
            g = _activation_grad(p["activation"], value(layer.name), g)
        return g @ _cached(forward, layer.name, lambda: _dense_kernel(forward, layer))
    if kind == "activation":
        return _activation_grad(p["activation"], value(layer.name), g)
    if kind == "dropout":
        return g
    if kind == "flatten":
        if len(in_shape) != 3:
            return g
        h, w, c = in_shape
        if forward._feeds_dense(layer.name):  # flattened channel-first
            return g.reshape(n, c, h, w)
        return g.reshape(n, h, w, c).transpose(0, 3, 1, 2)
    if kind == "gap":
        h, w, c = in_shape
        return np.broadcast_to((g / (h * w))[:, :, None, None], (n, c, h, w))
    if kind == "batchnorm":
        wts = layer.weights
        scale = wts["gamma"] / np.sqrt(wts["moving_variance"] + np.float32(p["epsilon"]))
        scale = scale.astype(np.float64)
        return g * (scale[:, None, None] if layer.spatial else scale)
    if kind == "conv":
        # (kh, kw, c, f) → per tap (c, f), float64, once per network.
        kernel = _cached(forward, layer.name, lambda: np.ascontiguousarray(layer.weights["kernel"], np.float64))
        return _window_backward(layer, g, value, in_shape, kernel)
    if kind in ("maxpool", "avgpool"):
        return _window_backward(layer, g, value, in_shape)
    raise KeyError(kind)


def _cached(forward, key, make):
    cache = forward.__dict__.setdefault("_gradient_cache", {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _dense_kernel(forward, layer):
    """The transposed kernel, float64, its columns in the order the forward pass feeds it."""
    kernel = layer.weights["kernel"].astype(np.float64)
    order = forward._flat_order(layer.inputs[0])
    if order is not None:
        kernel = kernel[order]
    return np.ascontiguousarray(kernel.T)


def _window_backward(layer, g, value, in_shape, kernel=None):
    p = layer.params
    kh, kw = p["kernel"] if layer.kind == "conv" else p["pool"]
    sh, sw = p["strides"]
    top, bottom, left, right = p["pad"]
    h, w, c = in_shape
    ho, wo, f = layer.shape
    n = len(g)
    span_h, span_w = sh * (ho - 1) + 1, sw * (wo - 1) + 1
    gin = np.zeros((n, c, h + top + bottom, w + left + right))
    taps = [(dy, dx) for dy in range(kh) for dx in range(kw)]
    if layer.kind == "conv":
        flat = g.reshape(n, f, ho * wo)
        for dy, dx in taps:
            # out[n, f, r, q] += sum_c kernel[dy, dx, c, f] * in[n, c, r*sh + dy, q*sw + dx]
            gin[:, :, dy : dy + span_h : sh, dx : dx + span_w : sw] += np.matmul(kernel[dy, dx], flat).reshape(n, c, ho, wo)
    elif layer.kind == "avgpool":
        inside = np.zeros(gin.shape[2:])
        inside[top : top + h, left : left + w] = 1
        counts = sum(inside[dy : dy + span_h : sh, dx : dx + span_w : sw] for dy, dx in taps)
        share = g / counts
        for dy, dx in taps:
            gin[:, :, dy : dy + span_h : sh, dx : dx + span_w : sw] += share
    else:  # max pooling: the gradient goes to the first input that holds the window's maximum
        x = np.full((n, c, *gin.shape[2:]), -np.inf)
        x[:, :, top : top + h, left : left + w] = value(layer.inputs[0])
        y = value(layer.name)
        taken = np.zeros(g.shape, bool)
        for dy, dx in taps:
            hit = (x[:, :, dy : dy + span_h : sh, dx : dx + span_w : sw] == y) & ~taken
            gin[:, :, dy : dy + span_h : sh, dx : dx + span_w : sw] += g * hit
            taken |= hit
    return gin[:, :, top : top + h, left : left + w]
