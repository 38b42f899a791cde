"""The binary frame: one Socket.IO message with the prediction and every layer's maps.

Layout, little-endian, every block 4-byte aligned so a browser can view it in place:
  header   "CNNF", u8 version (6), u8 layer count L, i8 digit (-1: nothing drawn), u8 flags, u32 seq
           flags: bit 0 (UNLIKE) the drawing is unlike the digits the network was trained on
           (model/novelty.py); the other bits are 0. The byte was a spare 0, so frames
           without the flag are read as before.
  f32[10]  probabilities
  f32[10]  logits: the output's scores before the softmax, exactly (version 6; the output's
           own values when it has no softmax). The page's inspector writes the softmax out
           with them; the output layer's bytes are rounded, so they could not serve.
  f32[784] the 28x28 input the network saw, exactly (conv1 is worked out from it)
  L x      char[8] name (NUL-padded), u16 height, u16 width, u16 maps,
           u8 how, u8 source, u8 size, u8 stride, u8 pad, u8 0            (20 bytes)
  f32[M]   per-map minimum, for the M maps of the SENT layers in order
  f32[M]   per-map maximum
  u8[...]  every SENT map's values, map after map, layer after layer: 0..255 spanning that
           map's minimum..maximum; then zero padding to a multiple of 4

`how` says how the page gets a layer; only SENT layers have bytes and min/max in the frame:
  SENT    0  its values are in the frame
  RELU    1  max(0, x) of layer `source` (an index in the table, always an earlier layer)
  MAXPOOL 2  the maximum of each size x size window of layer `source`, windows `stride`
             apart, no padding
  CONV    3  the convolution of the input (`source` 255) or of a derived layer `source` with
             the layer's own filters, which the page has (`kernels` in webapp/views.py):
             size x size kernels over every input map, `stride`, `pad` rows and columns of
             zeros before the input (and zeros past its end, as far as the layer's height and
             width need: Keras' "same" padding)
  BATCHNORM 4  batch normalisation (inference) of a derived layer `source`: map m is
             x * scale[m] + shift[m], float32 scale and shift the page has (network.json's
             layer table: the batchnorm layer's `scale` and `shift`, under its `frame_name`)
The page and `decode` derive in the table's order, in float64: CONV from the exact input
(or a layer derived from it) and exact float32 weights, each unit summed as bias, then the
taps input map by input map, row by row; BATCHNORM as x * scale, then + shift, with exact
float32 scale and shift, from a derived source's floats; RELU and MAXPOOL from their
source's float values (a SENT source's dequantized values, min + q/255 * (max - min); a
derived source's values before they were quantized). Each derived map is then quantized
to 0..255 over its own min..max as the encoder quantizes (round half up), with min and max
kept as float32, so a derived layer looks exactly like a sent one. A value the page shows
is within half a step of its own map of the network's float value, plus, for a layer
derived from a SENT layer, half a step of that source map (`error_bound`).

Which layers are derived is decided once per set of layers by `derivation`, one rule per
kind of layer, reading `Step`s: `steps_from_description` (model/description.py, any Keras CNN). For the tutorial's network:
conv1 CONV (2x2, stride 1, pad 0), relu1 RELU(conv1), pool1 MAXPOOL(relu1, 2, 2), conv2
CONV(pool1), relu2 RELU(conv2), pool2 MAXPOOL(relu2, 2, 2), dense1, dense2, output SENT:
4,084 bytes a frame in version 6 (69,240 in version 3, when every layer was sent; 13,836 when conv2 was
sent too). For a network with batch normalisation (deep3x3: conv → batchnorm → ReLU → conv
→ ...) every batchnorm of a layer derived from the input is derived too, so every map is worked out on the
page and only the dense layers are sent (35.7 KB a frame in version 4, when every layer
after the first conv was sent; 3,640 bytes now, with the logits). Every map the page shows is then worked
out from the exact input, as exact as the server's own: a conv or batchnorm is never
computed from rounded maps, which would carry their error.

Dense layers are one map of height 1. Keeping all sent values together lets the encoder
scale every map of every sent layer in a handful of array operations.
"""
import re
import struct
from dataclasses import dataclass

import numpy as np


MAGIC = b"CNNF"
VERSION = 6  # 6: logits after the probabilities; 5: BATCHNORM (version 4 had SENT, RELU, MAXPOOL and CONV only)
HEADER = struct.Struct("<4sBBbxI")  # the flags byte (x) is written and read on its own, at FLAGS_AT
FLAGS_AT = 7
UNLIKE = 1  # flags bit 0: unlike the training digits (model/novelty.py)
LAYER_HEADER = struct.Struct("<8sHHHBBBBBx")
NUM_CLASSES = 10
INPUT_PIXELS = 28 * 28
_LOGITS_AT = HEADER.size + 4 * NUM_CLASSES
_INPUT_AT = _LOGITS_AT + 4 * NUM_CLASSES

SENT, RELU, MAXPOOL, CONV, BATCHNORM = 0, 1, 2, 3, 4
INPUT = 255  # the `source` of a layer computed from the input


# ---------------------------------------------------------------------------------------
# Which layers the page derives: one rule per kind of layer, fed by a list of steps.


@dataclass(frozen=True)
class Step:
    """One layer as the derivation rules read it."""

    name: str
    kind: str  # "conv", "relu", "maxpool", "batchnorm"; any other kind is sent
    source: str = None  # the layer it is computed from; None: the input
    size: int = 0  # conv kernel or pooling window (square)
    stride: int = 1
    pad: int = 0  # conv: rows and columns of zeros before the input
    channels: int = 0  # conv: input channels, where known; batchnorm: its channels (0: a vector)


def steps_from_description(description):
    """The steps of a `model.description.NetworkDescription` (any Keras CNN). A conv of the
    input is worked out on the page only from the frame's own 28x28 grey input: a model
    with another input has its first conv layers sent."""
    steps = []
    readable_input = tuple(description.input_shape) == (28, 28, 1)
    for layer in description.layers:
        source = None if layer.inputs[0] == description.input_name else layer.inputs[0]
        p = layer.params
        kind = layer.kind
        if kind == "conv":
            (kh, kw), (sh, sw), (top, _, left, _) = p["kernel"], p["strides"], p["pad"]
            channels = description.shape_of(layer.inputs[0])[2]
            square = kh == kw and sh == sw and top == left and (source is not None or readable_input)
            steps.append(Step(layer.name, "conv" if square else "conv-other", source, kh, sh, top, channels))
        elif kind == "maxpool":
            (ph, pw), (sh, sw) = p["pool"], p["strides"]
            square = ph == pw and sh == sw and p["padding"] == "valid"
            steps.append(Step(layer.name, "maxpool" if square else "maxpool-other", source, ph, sh))
        elif kind == "activation" and p["activation"] == "relu":
            steps.append(Step(layer.name, "relu", source))
        elif kind == "batchnorm":
            shape = description.shape_of(layer.inputs[0])
            steps.append(Step(layer.name, "batchnorm", source, channels=shape[2] if len(shape) == 3 else 0))
        else:
            steps.append(Step(layer.name, kind, source))
    return tuple(steps)


def derivation(step, earlier, exact=()) -> tuple:
    """How the page gets one layer: (how, source index, size, stride, pad). `earlier`:
    the names of the layers before it in the frame, with their indices.

    conv of the one-channel input or of a layer the page derives exactly: computed on the
    page (conv1: 4 multiplications a unit; conv2: 96, under a million a frame, about a
    millisecond); batch normalisation of maps the page derives exactly: computed on the
    page (one multiply-add a unit); ReLU and max pooling of a layer in the frame: computed
    on the page; everything else is sent. `exact`: the earlier layers derived from the
    input alone. A conv of sent (rounded) maps is sent: it would carry their error. So is a
    batchnorm of sent maps: x * scale moves a rounded value |scale| times its error, which
    may exceed 1, so the half-a-step-of-the-source bound (`error_bound`, which counts on
    1-Lipschitz ReLU and pooling) would not hold along the chain. A batchnorm of a vector
    (per unit, not per map) is sent."""
    if step is not None:
        small = step.size < 256 and step.stride < 256 and step.pad < 256
        from_input = step.source is None and step.channels == 1
        if step.kind == "conv" and small and (from_input or step.source in exact):
            return CONV, INPUT if step.source is None else earlier[step.source], step.size, step.stride, step.pad
        if step.kind == "batchnorm" and step.channels > 0 and step.source in exact:
            return BATCHNORM, earlier[step.source], 0, 0, 0
        if step.kind == "relu" and step.source in earlier:
            return RELU, earlier[step.source], 0, 0, 0
        if step.kind == "maxpool" and step.source in earlier and 0 < step.size < 256 and 0 < step.stride < 256:
            return MAXPOOL, earlier[step.source], step.size, step.stride, 0
    return SENT, 0, 0, 0, 0


def plan(names, shapes, steps=()) -> list:
    """Every layer's derivation, for layers `names` with (h, w, c) `shapes` in frame order.
    A derivation whose shape would not come out as the layer's is dropped: sent instead."""
    by_name = {step.name: step for step in steps}
    earlier, exact, out = {}, set(), []
    for i, (name, (h, w, c)) in enumerate(zip(names, shapes)):
        how, source, size, stride, pad = derivation(by_name.get(name), earlier, exact)
        if how in (RELU, MAXPOOL, BATCHNORM):
            sh, sw, sc = shapes[source]
            fits = (sh, sw) == (h, w) if how != MAXPOOL else ((sh - size) // stride + 1, (sw - size) // stride + 1) == (h, w)
            if sc != c or not fits or (how == BATCHNORM and by_name[name].channels != c):
                how = SENT
        elif how == CONV and source != INPUT:
            sh, sw, _ = shapes[source]
            if (h - 1) * stride >= sh + pad or (w - 1) * stride >= sw + pad:
                how = SENT  # a unit whose window lies wholly in the padding after the input
        out.append((how, source, size, stride, pad) if how != SENT else (SENT, 0, 0, 0, 0))
        if how == CONV or (how != SENT and names[source] in exact):
            exact.add(name)
        earlier[name] = i
    return out


# ---------------------------------------------------------------------------------------
# Encoding


def frame_names(names) -> tuple:
    """The names a frame's table gives layers `names`: each its own when it is ASCII, 8
    bytes at most and unique; else "L<index>" (a fused activation's "conv2d/relu", a long
    Keras name). network.json says which layer each stands for (`frame_name`)."""
    out = []
    for i, name in enumerate(names):
        fits = name.isascii() and 0 < len(name) <= 8 and name not in out and not re.fullmatch(r"L\d+", name)
        out.append(name if fits else f"L{i}")
    return tuple(out)


class _Layout:
    """Everything about frames with these layers and shapes that does not change: a
    template with the layer table written, where the mins and values go, each sent map's
    start and size in the flattened sent maps, and where the sent layers lie in a result's
    `values` (every shown layer channel-first). Built once per set of layers."""

    def __init__(self, names, shapes, steps):
        self.steps = steps
        derived = plan(names, shapes, steps)
        table = b"".join(
            LAYER_HEADER.pack(n.encode("ascii"), h, w, c, *d) for n, (h, w, c), d in zip(frame_names(names), shapes, derived)
        )
        self.sent = [i for i, d in enumerate(derived) if d[0] == SENT]
        sent_shapes = [shapes[i] for i in self.sent]
        self.sizes = np.repeat([h * w for h, w, _ in sent_shapes], [c for _, _, c in sent_shapes])
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.intp)
        self.maps = len(self.sizes)
        # The sent layers' runs in `values`: adjacent sent layers make one run.
        ends = np.cumsum([h * w * c for h, w, c in shapes])
        self.runs = []
        for i in self.sent:
            start, stop = int(ends[i - 1]) if i else 0, int(ends[i])
            if self.runs and self.runs[-1][1] == start:
                self.runs[-1][1] = stop
            else:
                self.runs.append([start, stop])
        self.mins_at = (_INPUT_AT + 4 * INPUT_PIXELS + len(table)) // 4  # a float32 index
        self.values_at = 4 * self.mins_at + 8 * self.maps
        total = int(self.sizes.sum())
        self.values_end = self.values_at + total
        self.template = bytes(_INPUT_AT + 4 * INPUT_PIXELS) + table + bytes(8 * self.maps + total + (-total % 4))


_layouts = {}


def _as_maps(array):
    """(h, w, c) maps, or a vector as one map of height 1."""
    return array.reshape(1, -1, 1) if array.ndim == 1 else array


def encode(seq: int, result, layer_names=None, steps=None) -> bytes:
    """`result`: a webapp.service.Result. `layer_names`: default, the result's shown layers;
    `steps`: what the derivation rules know of the network (`steps_from_description`),
    default the result's; () sends every layer."""
    layer_names = result.names if layer_names is None else layer_names
    steps = result.steps if steps is None else steps
    maps = [_as_maps(result.layers[name]) for name in layer_names]
    key = (tuple(layer_names), tuple(m.shape for m in maps), id(steps))
    layout = _layouts.get(key)
    if layout is None or layout.steps is not steps:
        layout = _layouts[key] = _Layout(key[0], key[1], steps)
    out = bytearray(layout.template)
    HEADER.pack_into(out, 0, MAGIC, VERSION, len(layer_names), result.digit, seq)
    out[FLAGS_AT] = UNLIKE if result.unlike else 0
    u8 = np.frombuffer(out, np.uint8)
    f4 = u8.view("<f4")
    f4[HEADER.size // 4 : _LOGITS_AT // 4] = result.probabilities
    f4[_LOGITS_AT // 4 : _INPUT_AT // 4] = result.logits
    f4[_INPUT_AT // 4 : _INPUT_AT // 4 + INPUT_PIXELS] = frame_image(result.image)
    if not layout.maps:
        return bytes(out)
    if tuple(layer_names) == tuple(result.names) and result.values is not None:
        # The network computed every layer into this, in frame order: the sent layers are slices.
        runs = [result.values[start:stop] for start, stop in layout.runs]
        flat = runs[0] if len(runs) == 1 else np.concatenate(runs)
    else:
        flat = np.concatenate([maps[i].transpose(2, 0, 1).ravel() for i in layout.sent])
    low = np.minimum.reduceat(flat, layout.starts)
    high = np.maximum.reduceat(flat, layout.starts)
    f4[layout.mins_at : layout.mins_at + layout.maps] = low
    f4[layout.mins_at + layout.maps : layout.mins_at + 2 * layout.maps] = high
    # A constant map has span 0: all its values equal its minimum, so any finite scale gives 0.
    scale = np.float32(255) / np.maximum(high - low, np.float32(1e-30))
    scaled = flat * np.repeat(scale, layout.sizes)
    scaled += np.repeat(0.5 - low * scale, layout.sizes)  # +0.5, then truncation on assignment: rounding
    u8[layout.values_at : layout.values_end] = scaled
    return bytes(out)


def frame_image(image) -> np.ndarray:
    """The input as the frame carries it, 28x28 grey: a 28x28 grey model's exact input (its
    first conv is worked out from it); another model's input, first channel, sampled to
    28x28 for the picture of what the network saw (its convs are all sent)."""
    image = np.asarray(image, np.float32)
    if image.ndim == 3:
        image = image[:, :, 0]
    if image.shape == (28, 28):
        return image.ravel()
    rows = (np.arange(28) * image.shape[0]) // 28
    cols = (np.arange(28) * image.shape[1]) // 28
    return image[rows][:, cols].ravel()


def encode_empty(seq: int) -> bytes:
    """The answer to a blank drawing: no digit, no layers."""
    return HEADER.pack(MAGIC, VERSION, 0, -1, seq) + bytes(8 * NUM_CLASSES + 4 * INPUT_PIXELS)


# ---------------------------------------------------------------------------------------
# Decoding: what the page does (static/js/frame.js), step for step, in float64.


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
    logits = np.frombuffer(data, "<f4", NUM_CLASSES, _LOGITS_AT)
    image = np.frombuffer(data, "<f4", INPUT_PIXELS, _INPUT_AT).reshape(28, 28)
    offset = _INPUT_AT + 4 * INPUT_PIXELS
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
