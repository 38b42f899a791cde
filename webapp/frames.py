"""The binary frame: one Socket.IO message with the prediction and every layer's maps.

Layout, little-endian, every block 4-byte aligned so a browser can view it in place:
  header   "CNNF", u8 version (3), u8 layer count L, i8 digit (-1: nothing drawn), u8 0, u32 seq
  f32[10]  probabilities
  f32[784] the 28x28 input the network saw, exactly (the page works conv1's sums out from it)
  L x      char[8] name (NUL-padded), u16 height, u16 width, u16 maps, u16 0
  f32[M]   per-map minimum, for the M maps of all layers in order
  f32[M]   per-map maximum
  u8[...]  every map's values, map after map, layer after layer: 0..255 spanning that
           map's minimum..maximum; then zero padding to a multiple of 4
Dense layers are one map of height 1. Keeping all values together lets the encoder scale
every map of every layer in a handful of array operations.
"""
import struct

import numpy as np

from model.network import SHOWN_LAYERS

MAGIC = b"CNNF"
VERSION = 3
HEADER = struct.Struct("<4sBBbxI")
LAYER_HEADER = struct.Struct("<8sHHHxx")
NUM_CLASSES = 10
INPUT_PIXELS = 28 * 28
_INPUT_AT = HEADER.size + 4 * NUM_CLASSES


class _Layout:
    """Everything about frames with these layers and shapes that does not change: a
    template with the layer table written, where the mins and values go, and each map's
    start and size in the flattened maps. Built once per set of layers."""

    def __init__(self, names, shapes):
        table = b"".join(LAYER_HEADER.pack(n.encode("ascii"), h, w, c) for n, (h, w, c) in zip(names, shapes))
        self.sizes = np.repeat([h * w for h, w, _ in shapes], [c for _, _, c in shapes])
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self.maps = len(self.sizes)
        self.mins_at = (_INPUT_AT + 4 * INPUT_PIXELS + len(table)) // 4  # a float32 index
        self.values_at = 4 * self.mins_at + 8 * self.maps
        total = int(self.sizes.sum())
        self.values_end = self.values_at + total
        self.template = bytes(_INPUT_AT + 4 * INPUT_PIXELS) + table + bytes(8 * self.maps + total + (-total % 4))


_layouts = {}


def _as_maps(array):
    """(h, w, c) maps, or a vector as one map of height 1."""
    return array.reshape(1, -1, 1) if array.ndim == 1 else array


def encode(seq: int, result, layer_names) -> bytes:
    maps = [_as_maps(result.layers[name]) for name in layer_names]
    key = (tuple(layer_names), tuple(m.shape for m in maps))
    layout = _layouts.get(key) or _layouts.setdefault(key, _Layout(*key))
    out = bytearray(layout.template)
    HEADER.pack_into(out, 0, MAGIC, VERSION, len(layer_names), result.digit, seq)
    u8 = np.frombuffer(out, np.uint8)
    f4 = u8.view("<f4")
    f4[HEADER.size // 4 : _INPUT_AT // 4] = result.probabilities
    f4[_INPUT_AT // 4 : _INPUT_AT // 4 + INPUT_PIXELS] = result.image.ravel()
    if not maps:
        return bytes(out)
    if tuple(layer_names) == SHOWN_LAYERS and result.values is not None:
        flat = result.values  # the network computed every layer into this, in frame order
    else:
        flat = np.concatenate([m.transpose(2, 0, 1).ravel() for m in maps])
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


def encode_empty(seq: int) -> bytes:
    """The answer to a blank drawing: no digit, no layers."""
    return HEADER.pack(MAGIC, VERSION, 0, -1, seq) + bytes(4 * NUM_CLASSES + 4 * INPUT_PIXELS)


def decode(data: bytes) -> dict:
    """The inverse of `encode`, with values restored to floats (for tests and scripts)."""
    magic, version, count, digit, seq = HEADER.unpack_from(data, 0)
    if magic != MAGIC or version != VERSION:
        raise ValueError(f"not a version-{VERSION} CNN frame")
    probabilities = np.frombuffer(data, "<f4", NUM_CLASSES, HEADER.size)
    image = np.frombuffer(data, "<f4", INPUT_PIXELS, _INPUT_AT).reshape(28, 28)
    offset = _INPUT_AT + 4 * INPUT_PIXELS
    table = [LAYER_HEADER.unpack_from(data, offset + i * LAYER_HEADER.size) for i in range(count)]
    offset += count * LAYER_HEADER.size
    total_maps = sum(c for *_, c in table)
    mins = np.frombuffer(data, "<f4", total_maps, offset)
    maxs = np.frombuffer(data, "<f4", total_maps, offset + 4 * total_maps)
    offset += 8 * total_maps
    layers, first = {}, 0
    for raw_name, h, w, c in table:
        values = np.frombuffer(data, np.uint8, c * h * w, offset).reshape(c, h * w)
        offset += c * h * w
        low, high = mins[first : first + c], maxs[first : first + c]
        first += c
        restored = low[:, None] + values * ((high - low) / 255.0)[:, None]
        layers[raw_name.rstrip(b"\0").decode("ascii")] = {
            "shape": (h, w, c),
            "min": low,
            "max": high,
            "values": np.moveaxis(restored.reshape(c, h, w), 0, -1),
        }
    return {"seq": seq, "digit": digit, "probabilities": probabilities, "image": image, "layers": layers}
