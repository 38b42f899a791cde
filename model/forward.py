"""The NumPy forward pass of any described network: it folds over the layer list.

Every shown layer is computed channel-first, (n, c, h, w), straight into its slot of one
flat float32 row per image, in shown-layer order: each map is contiguous, which is what
the frame encoder reads, and the layers' arrays are views of that buffer. Layers that are
not shown (Dropout, Flatten) cost nothing: Dropout is the identity, and a Flatten of maps
is never materialised because the Dense after it reads the maps channel-first with its
kernel's rows reordered once (Keras flattens (h, w, c)).

Convolutions are im2col (into a reused, zero-bordered patch buffer) + one matrix product
per batch; pools are element-wise maxima
(or sums) of the window's strided views (for 2x2/2 max pooling: four strided maxima, as
the hand-written network did); batch normalisation is one affine per channel.
"""
from __future__ import annotations

import threading

import numpy as np

from .description import NetworkDescription


class Forward:
    def __init__(self, description: NetworkDescription):
        self.description = description
        h, w, c = description.input_shape
        self.input_shape = (h, w, c)
        # Where each shown layer lives in an image's row: name → (start, stop, shape channel-first).
        self.slots, total = {}, 0
        for layer in description.shown:
            shape = (layer.shape[2], layer.shape[0], layer.shape[1]) if layer.spatial else layer.shape
            size = int(np.prod(shape))
            self.slots[layer.name] = (total, total + size, shape)
            total += size
        self.total = total
        self.shown = description.shown_names
        self._steps = [self._compile(layer) for layer in description.layers]

    @property
    def weights(self) -> dict:
        """Each conv and dense layer's (kernel, bias), float32 in Keras' layout, and each
        batchnorm layer's (scale, shift) (`batchnorm_affine`): what `webapp.frame_decode.decode`
        needs to work out the layers a frame leaves to the page."""
        out = {}
        for layer in self.description.layers:
            if layer.kind in ("conv", "dense"):
                out[layer.name] = (layer.weights["kernel"], layer.weights["bias"])
            elif layer.kind == "batchnorm":
                out[layer.name] = batchnorm_affine(layer)
        return out

    # -----------------------------------------------------------------------------------
    def run(self, images: np.ndarray) -> dict:
        """images (n, h, w, c), or (n, h, w) for grayscale, in 0..1 → {layer name: activations}.

        Maps come as (n, h, w, c) like Keras' (views of the channel-first buffer), vectors as
        (n, units). "all" is the buffer: each image's row holds every shown layer
        channel-first, in `shown` order (see `slots`). "logits" are the output's scores
        before the softmax, (n, classes).
        """
        x = np.asarray(images, np.float32)
        h, w, c = self.input_shape
        if x.ndim == 3 and c == 1:
            x = x[:, None]
        elif x.ndim == 4 and x.shape[3] == c:
            x = x.transpose(0, 3, 1, 2)
        else:
            raise ValueError(f"images of shape {x.shape}: expected (n, {h}, {w}, {c})" + ("" if c != 1 else f" or (n, {h}, {w})"))
        if x.shape[2:] != (h, w):
            raise ValueError(f"images of shape {x.shape}: expected (n, {h}, {w}, {c})")
        n = len(x)
        flat = np.empty((n, self.total), np.float32)
        views = {name: flat[:, start:stop].reshape((n, *shape)) for name, (start, stop, shape) in self.slots.items()}
        values = {self.description.input_name: x}
        out = {"all": flat}
        for step in self._steps:
            step(values, views, out)
        for name in self.shown:
            v = views[name]
            out[name] = v.transpose(0, 2, 3, 1) if v.ndim == 4 else v
        return out

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.run(images)[self.description.output.name]

    # -----------------------------------------------------------------------------------
    def _compile(self, layer):
        """One layer → a function (values, views, out) that computes it. `values` holds each
        computed layer channel-first (a view of its slot when shown)."""
        name, source = layer.name, layer.inputs[0]
        kind, p = layer.kind, layer.params

        if kind == "conv":
            return _conv_step(name, source, layer, self.description.shape_of(source))
        if kind in ("maxpool", "avgpool"):
            return _pool_step(name, source, layer, self.description.shape_of(source))
        if kind == "batchnorm":
            scale, shift = batchnorm_affine(layer)
            if layer.spatial:
                scale, shift = scale[:, None, None], shift[:, None, None]

            def batchnorm(values, views, out):
                o = views[name]
                np.multiply(values[source], scale, out=o)
                o += shift
                values[name] = o

            return batchnorm
        if kind == "activation":
            activation = p["activation"]
            axis = 1  # channels for maps, units for vectors

            def activate(values, views, out):
                o = views[name]
                if activation == "softmax" and layer.is_output:
                    np.copyto(o, values[source])
                    out["logits"] = o.copy()
                    _apply(activation, o, o, axis)
                else:
                    _apply(activation, values[source], o, axis)
                values[name] = o

            return activate
        if kind == "dropout":

            def dropout(values, views, out):
                values[name] = values[source]

            return dropout
        if kind == "flatten":
            in_shape = self.description.shape_of(source)
            # Channel-first order when a Dense reads it (its rows are reordered to match);
            # Keras' (h, w, c) order when anything else does (a shown vector must match Keras).
            keras_order = len(in_shape) == 3 and not self._feeds_dense(name)

            def flatten(values, views, out):
                x = values[source]
                values[name] = (x.transpose(0, 2, 3, 1) if keras_order else x).reshape(len(x), -1)

            return flatten
        if kind == "gap":

            def gap(values, views, out):
                x = values[source]
                o = views[name]
                np.mean(x.reshape(x.shape[0], x.shape[1], -1), axis=2, out=o)
                values[name] = o

            return gap
        if kind == "dense":
            kernel, bias = layer.weights["kernel"], layer.weights["bias"]
            order = self._flat_order(source)
            if order is not None:  # inputs come channel-first: reorder the kernel's rows once
                kernel = np.ascontiguousarray(kernel[order])
            activation, is_output = p["activation"], layer.is_output

            def dense(values, views, out):
                o = views[name]
                np.matmul(values[source], kernel, out=o)
                o += bias
                if is_output and activation == "softmax":
                    out["logits"] = o.copy()
                if activation != "linear":
                    _apply(activation, o, o, 1)
                values[name] = o

            return dense
        raise KeyError(kind)  # pragma: no cover

    def _feeds_dense(self, name):
        """Whether the first layer after `name`, Dropouts skipped, is a Dense."""
        for layer in self.description.layers:
            if name in layer.inputs:
                if layer.kind == "dropout":
                    name = layer.name
                    continue
                return layer.kind == "dense"
        return False

    def _flat_order(self, name):
        """For a vector that is maps flattened channel-first (through Flatten and Dropout):
        for each of its positions, the Keras (h, w, c) index it holds. None otherwise."""
        d = self.description
        while name != d.input_name:
            layer = d.layer(name)
            if layer.kind == "flatten":
                shape = d.shape_of(layer.inputs[0])
                if len(shape) != 3:
                    return None
                h, w, c = shape
                return np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).ravel()
            if layer.kind != "dropout":
                return None
            name = layer.inputs[0]
        return None


def batchnorm_affine(layer):
    """Batch normalisation at inference, per channel: x × scale + shift, float32. The one
    computation of these numbers: the forward pass uses them, the page gets them in
    network.json and derives batchnorm maps with them (webapp/frames.py)."""
    w, eps = layer.weights, np.float32(layer.params["epsilon"])
    scale = (w["gamma"] / np.sqrt(w["moving_variance"] + eps)).astype(np.float32)
    shift = (w["beta"] - w["moving_mean"] * scale).astype(np.float32)
    return scale, shift


def _apply(activation, x, out, axis):
    if activation == "relu":
        np.maximum(x, 0, out=out)
    elif activation == "sigmoid":
        # 1 / (1 + e^-x), written so that large |x| neither overflows nor loses precision.
        np.negative(x, out=out)
        np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)
    elif activation == "tanh":
        np.tanh(x, out=out)
    elif activation == "softmax":
        if out is not x:
            np.copyto(out, x)
        out -= out.max(axis=axis, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=axis, keepdims=True)
    elif activation == "linear":
        if out is not x:
            np.copyto(out, x)
    else:  # pragma: no cover
        raise KeyError(activation)


def _conv_step(name, source, layer, in_shape):
    p = layer.params
    kh, kw = p["kernel"]
    sh, sw = p["strides"]
    top, bottom, left, right = p["pad"]
    h, w, c = in_shape
    ho, wo, f = layer.shape
    # (out, taps * in) with taps in the kernel's (dy, dx) order, then input channels.
    matrix = np.ascontiguousarray(layer.weights["kernel"].reshape(-1, f).T)
    bias = layer.weights["bias"][:, None].copy()
    pointwise = kh == kw == 1 and sh == sw == 1 and not any(p["pad"])
    # im2col: tap (dy, dx) of output unit (r, col) reads input (r*sh + dy - top, col*sw + dx - left).
    # Each tap copies the block of units whose input is inside the image straight into the
    # patch matrix; the cells that fall in the padding are zeros written once, when the
    # (per thread, per batch size) patch buffer is made, and never touched again.
    copies = []
    for t, (dy, dx) in enumerate((dy, dx) for dy in range(kh) for dx in range(kw)):
        r0, r1 = _inside(dy - top, sh, h, ho)
        c0, c1 = _inside(dx - left, sw, w, wo)
        if r0 < r1 and c0 < c1:
            rows = slice(r0 * sh + dy - top, (r1 - 1) * sh + dy - top + 1, sh)
            cols = slice(c0 * sw + dx - left, (c1 - 1) * sw + dx - left + 1, sw)
            copies.append((t, slice(r0, r1), slice(c0, c1), rows, cols))
    taps = kh * kw
    workspace = threading.local()

    def patch_buffer(n):
        buffers = workspace.__dict__.setdefault("buffers", {})
        if n not in buffers:
            if len(buffers) >= 4:
                buffers.clear()
            buffers[n] = np.zeros((n, taps, c, ho, wo), np.float32)
        return buffers[n]

    def conv(values, views, out):
        x = values[source]
        n = len(x)
        if pointwise:
            patches = x.reshape(n, c, h * w)
        else:
            buffer = patch_buffer(n)
            for t, out_rows, out_cols, rows, cols in copies:
                buffer[:, t, :, out_rows, out_cols] = x[:, :, rows, cols]
            patches = buffer.reshape(n, taps * c, ho * wo)
        o = views[name]
        result = o.reshape(n, f, ho * wo)
        np.matmul(matrix, patches, out=result)
        result += bias
        values[name] = o

    return conv


def _inside(offset, stride, size, count):
    """Output units [first, stop) whose input index i*stride + offset lies in 0..size-1."""
    first = max(0, -(offset // stride) if offset < 0 else 0)
    while first < count and first * stride + offset < 0:
        first += 1
    stop = count
    while stop > first and (stop - 1) * stride + offset > size - 1:
        stop -= 1
    return first, stop


def _pool_step(name, source, layer, in_shape):
    p = layer.params
    ph, pw = p["pool"]
    sh, sw = p["strides"]
    top, bottom, left, right = p["pad"]
    h, w, c = in_shape
    ho, wo, _ = layer.shape
    is_max = layer.kind == "maxpool"
    span_h, span_w = sh * (ho - 1) + 1, sw * (wo - 1) + 1
    taps = [(dy, dx) for dy in range(ph) for dx in range(pw)]
    padded = bool(top or bottom or left or right)
    fill = -np.inf if is_max else 0.0
    if not is_max:
        # Keras (TensorFlow) averages over the window's cells inside the input only.
        inside = np.zeros((h + top + bottom, w + left + right), np.float32)
        inside[top : top + h, left : left + w] = 1
        counts = sum(inside[dy : dy + span_h : sh, dx : dx + span_w : sw] for dy, dx in taps)
        divisor = (1.0 / counts).astype(np.float32) if padded else np.float32(1.0 / len(taps))

    def pool(values, views, out):
        x = values[source]
        if padded:
            n = len(x)
            big = np.full((n, c, h + top + bottom, w + left + right), fill, np.float32)
            big[:, :, top : top + h, left : left + w] = x
            x = big
        o = views[name]
        windows = [x[:, :, dy : dy + span_h : sh, dx : dx + span_w : sw] for dy, dx in taps]
        combine = np.maximum if is_max else np.add
        if len(windows) == 1:
            np.copyto(o, windows[0])
        else:
            combine(windows[0], windows[1], out=o)
            for window in windows[2:]:
                combine(o, window, out=o)
        if not is_max:
            o *= divisor
        values[name] = o

    return pool
