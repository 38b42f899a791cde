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
The page and `decode` (webapp/frame_decode.py) derive in the table's order, in float64: CONV from the exact input
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
LOGITS_AT = HEADER.size + 4 * NUM_CLASSES
INPUT_AT = LOGITS_AT + 4 * NUM_CLASSES

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
        self.mins_at = (INPUT_AT + 4 * INPUT_PIXELS + len(table)) // 4  # a float32 index
        self.values_at = 4 * self.mins_at + 8 * self.maps
        total = int(self.sizes.sum())
        self.values_end = self.values_at + total
        self.template = bytes(INPUT_AT + 4 * INPUT_PIXELS) + table + bytes(8 * self.maps + total + (-total % 4))


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
    f4[HEADER.size // 4 : LOGITS_AT // 4] = result.probabilities
    f4[LOGITS_AT // 4 : INPUT_AT // 4] = result.logits
    f4[INPUT_AT // 4 : INPUT_AT // 4 + INPUT_PIXELS] = frame_image(result.image)
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
