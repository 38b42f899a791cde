"""Reading a binary frame (webapp/frames.py gives the format) as the page does
(static/js/frame.js), step for step, in float64: derived layers worked out from the exact
input and weights, then quantized over their own range, so the tests can compare every map
the page shows with the network's own floats and with the bound the format promises."""
import numpy as np

from webapp.frames import (
    BATCHNORM, CONV, FLAGS_AT, HEADER, INPUT, INPUT_PIXELS, LAYER_HEADER, MAGIC, MAXPOOL, NUM_CLASSES, RELU, SENT, UNLIKE,
    VERSION, INPUT_AT, LOGITS_AT, frame_names,
)


def quantize(values):
    """(maps, n) float64 → (uint8 bytes, float32 min, float32 max), as the page quantizes a
    derived map: over the map's own min..max (kept as float32), round half up."""
    low = values.min(axis=1).astype(np.float32)
    high = values.max(axis=1).astype(np.float32)
    lo, hi = low.astype(np.float64)[:, None], high.astype(np.float64)[:, None]
    scale = 255 / np.maximum(hi - lo, 1e-30)
    q = np.clip(np.floor((values - lo) * scale + 0.5), 0, 255).astype(np.uint8)
    return q, low, high


def dequantize(q, low, high):
    """The true values of bytes `q` (maps, n): min + q/255 * (max - min), as the page reads them."""
    lo, hi = low.astype(np.float64)[:, None], high.astype(np.float64)[:, None]
    return lo + (q / 255) * (hi - lo)


def _conv(maps, kernel, bias, h, w, stride, pad):
    """(filters, h*w) float64: each filter over the (channels, height, width) maps, summed in
    the page's order (bias, then the taps input map by input map, row by row)."""
    size = kernel.shape[0]
    channels, height, width = maps.shape
    padded = np.zeros((channels, pad + (h - 1) * stride + size, pad + (w - 1) * stride + size))
    padded[:, pad : pad + height, pad : pad + width] = maps[:, : padded.shape[1] - pad, : padded.shape[2] - pad]
    total = np.broadcast_to(bias.astype(np.float64)[:, None, None], (len(bias), h, w))
    for c in range(channels):
        for dy in range(size):
            for dx in range(size):
                window = padded[c, dy : dy + (h - 1) * stride + 1 : stride, dx : dx + (w - 1) * stride + 1 : stride]
                total = total + window[None] * kernel[dy, dx, c].astype(np.float64)[:, None, None]
    return total.reshape(len(bias), h * w)


def _maxpool(source, h, w, sh, sw, size, stride):
    maps = source.reshape(-1, sh, sw)
    out = None
    for dy in range(size):
        for dx in range(size):
            window = maps[:, dy : dy + (h - 1) * stride + 1 : stride, dx : dx + (w - 1) * stride + 1 : stride]
            out = window if out is None else np.maximum(out, window)
    return out.reshape(len(maps), h * w)


def decode(data: bytes, weights=None) -> dict:
    """The frame as the page shows it, values as floats (for tests and scripts): every layer,
    sent or derived, with its shape, per-map min and max, and values. `weights`: a
    `model.forward.Forward`, or its weights (layer name → (kernel, bias), a batchnorm's
    (scale, shift)); needed when the frame has a layer computed from the input."""
    magic, version, count, digit, seq = HEADER.unpack_from(data, 0)
    flags = data[FLAGS_AT]
    if magic != MAGIC or version != VERSION:
        raise ValueError(f"not a version-{VERSION} CNN frame")
    weights = _by_frame_name(weights)
    probabilities = np.frombuffer(data, "<f4", NUM_CLASSES, HEADER.size)
    logits = np.frombuffer(data, "<f4", NUM_CLASSES, LOGITS_AT)
    image = np.frombuffer(data, "<f4", INPUT_PIXELS, INPUT_AT).reshape(28, 28)
    offset = INPUT_AT + 4 * INPUT_PIXELS
    table = [LAYER_HEADER.unpack_from(data, offset + i * LAYER_HEADER.size) for i in range(count)]
    offset += count * LAYER_HEADER.size
    total_maps = sum(c for _, _, _, c, how, *_ in table if how == SENT)
    mins = np.frombuffer(data, "<f4", total_maps, offset)
    maxs = np.frombuffer(data, "<f4", total_maps, offset + 4 * total_maps)
    offset += 8 * total_maps
    layers, floats, first = {}, [], 0
    for raw_name, h, w, c, how, source, size, stride, pad in table:
        name = raw_name.rstrip(b"\0").decode("ascii")
        if how == SENT:
            q = np.frombuffer(data, np.uint8, c * h * w, offset).reshape(c, h * w)
            offset += c * h * w
            low, high = mins[first : first + c], maxs[first : first + c]
            first += c
            exact = dequantize(q, low, high)
        else:
            if how == CONV:
                if weights is None or name not in weights:
                    raise ValueError(f"{name} is computed on the page: decode needs the network's weights")
                kernel, bias = weights[name]
                if source == INPUT:
                    maps = image.astype(np.float64)[None]
                else:
                    sh, sw, sc = list(layers.values())[source]["shape"]
                    maps = floats[source].reshape(sc, sh, sw)
                exact = _conv(maps, np.asarray(kernel), np.asarray(bias), h, w, stride, pad)
            elif how == BATCHNORM:
                if weights is None or name not in weights:
                    raise ValueError(f"{name} is computed on the page: decode needs the network's weights")
                scale, shift = (np.asarray(a, np.float32).astype(np.float64)[:, None] for a in weights[name])
                exact = floats[source] * scale + shift  # as the page: the product, then the sum
            elif how == RELU:
                exact = np.maximum(floats[source], 0)
            elif how == MAXPOOL:
                sh, sw, _ = list(layers.values())[source]["shape"]
                exact = _maxpool(floats[source], h, w, sh, sw, size, stride)
            else:
                raise ValueError(f"{name}: unknown derivation {how}")
            q, low, high = quantize(exact)
        floats.append(exact)
        layers[name] = {
            "shape": (h, w, c),
            "how": how,
            "source": None if how == SENT else (None if source == INPUT else list(layers)[source]),
            "min": low,
            "max": high,
            "bytes": q,
            "values": np.moveaxis(dequantize(q, low, high).reshape(c, h, w), 0, -1),
        }
    for layer in layers.values():
        layer["error_bound"] = error_bound(layers, layer)
    return {"seq": seq, "digit": digit, "unlike": bool(flags & UNLIKE), "probabilities": probabilities, "logits": logits, "image": image, "layers": layers}


def _by_frame_name(weights):
    """A Forward's conv and batchnorm weights under the names its frames give the layers (`frame_names`)."""
    description = getattr(weights, "description", None)
    if description is None:
        return getattr(weights, "weights", weights)
    alias = dict(zip(description.shown_names, frame_names(description.shown_names)))
    return {alias.get(name, name): value for name, value in weights.weights.items()}


def step_size(layer):
    """Per map: one quantization step, (max - min) / 255."""
    return (layer["max"].astype(np.float64) - layer["min"]) / 255


def error_bound(layers, layer):
    """Per map: how far a value `decode` (and the page) shows may be from the network's own
    float value. Rounding to 0..255 over a map's min..max moves a value by at most half a
    step. A layer derived from the input (conv1) is computed exactly, so only its own
    rounding counts; so for a ReLU or pool of it (derived from the exact floats). A layer
    derived from a SENT layer starts from values already within half a step of that source
    map (ReLU and max pooling move no value further from the truth than their inputs were:
    both are 1-Lipschitz in each value), then is rounded once more over its own range.
    Whole layers: a pooled map's window may come from any unit of the source map, so the
    source's bound is per map (map m of a ReLU or pool is computed from map m only)."""
    own = step_size(layer) / 2
    root = layer
    while root["how"] != SENT and root["source"] is not None:
        root = layers[root["source"]]
    if root is layer or root["how"] != SENT:
        return own
    return own + step_size(root) / 2
