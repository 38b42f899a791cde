"""The binary frame: one Socket.IO message with the prediction and every layer's maps.

Layout, little-endian, every block 4-byte aligned so a browser can view it in place:
  header   "CNNF", u8 version, u8 layer count, i8 digit (-1: nothing drawn), u8 0, u32 seq
  f32[10]  probabilities
  u8[784]  the 28x28 input the network saw
  per layer:
    char[8] name (NUL-padded), u16 height, u16 width, u16 maps, u16 0
    f32[maps] per-map minimum, f32[maps] per-map maximum
    u8[maps*height*width] values, map after map, 0..255 spanning that map's min..max
    zero padding to a multiple of 4
Dense layers are one map of height 1.
"""
import struct

import numpy as np

MAGIC = b"CNNF"
VERSION = 1
HEADER = struct.Struct("<4sBBbxI")
LAYER_HEADER = struct.Struct("<8sHHHxx")
NUM_CLASSES = 10
INPUT_PIXELS = 28 * 28


class _Layout:
    """Where everything goes in a frame with these layers: a template with the constant
    headers already written, and per layer the float32 index of its mins and the byte
    offset of its values. Built once per set of layers and shapes."""

    def __init__(self, names, shapes):
        offset = HEADER.size + 4 * NUM_CLASSES + INPUT_PIXELS
        template = bytearray(offset)
        self.slots = []
        for name, (h, w, c) in zip(names, shapes):
            template += LAYER_HEADER.pack(name.encode("ascii"), h, w, c)
            mins = len(template) // 4
            values = len(template) + 8 * c
            self.slots.append((mins, values, c, h * w))
            template += bytes(8 * c + c * h * w + (-(c * h * w) % 4))
        self.template = bytes(template)


_layouts = {}


def _as_maps(array):
    """(h, w, c) maps, or a vector as one map of height 1."""
    return array.reshape(1, -1, 1) if array.ndim == 1 else array


def encode(seq: int, result, layer_names) -> bytes:
    maps = [_as_maps(result.layers[name]) for name in layer_names]
    key = (tuple(layer_names), tuple(m.shape for m in maps))
    layout = _layouts.get(key) or _layouts.setdefault(key, _Layout(*key))
    # Everything is written in place into one buffer, through one byte and one float view.
    out = bytearray(layout.template)
    HEADER.pack_into(out, 0, MAGIC, VERSION, len(layer_names), result.digit, seq)
    u8 = np.frombuffer(out, np.uint8)
    f4 = u8.view("<f4")
    probabilities = HEADER.size // 4
    f4[probabilities : probabilities + NUM_CLASSES] = result.probabilities
    pixels = result.image.ravel() * np.float32(255)
    pixels += 0.5
    u8[HEADER.size + 4 * NUM_CLASSES : HEADER.size + 4 * NUM_CLASSES + INPUT_PIXELS] = np.clip(pixels, 0, 255)
    for array, (mins, values, c, size) in zip(maps, layout.slots):
        flat = array.transpose(2, 0, 1).reshape(c, size)  # a view when the maps are channel-first
        low, high = f4[mins : mins + c], f4[mins + c : mins + 2 * c]
        flat.min(axis=1, out=low)
        flat.max(axis=1, out=high)
        # A constant map has span 0: its values all equal `low`, so any finite scale gives 0.
        scale = np.float32(255) / np.maximum(high - low, np.float32(1e-30))
        scaled = flat * scale[:, None]
        scaled -= (low * scale - 0.5)[:, None]  # +0.5, then truncation on assignment: rounding
        u8[values : values + c * size].reshape(c, size)[:] = scaled
    return bytes(out)


def encode_empty(seq: int) -> bytes:
    """The answer to a blank drawing: no digit, no layers."""
    return HEADER.pack(MAGIC, VERSION, 0, -1, seq) + bytes(4 * NUM_CLASSES + INPUT_PIXELS)


def decode(data: bytes) -> dict:
    """The inverse of `encode`, with values restored to floats (for tests and scripts)."""
    magic, version, count, digit, seq = HEADER.unpack_from(data, 0)
    if magic != MAGIC or version != VERSION:
        raise ValueError("not a version-1 CNN frame")
    offset = HEADER.size
    probabilities = np.frombuffer(data, "<f4", NUM_CLASSES, offset)
    offset += 4 * NUM_CLASSES
    image = np.frombuffer(data, np.uint8, INPUT_PIXELS, offset).reshape(28, 28) / 255.0
    offset += INPUT_PIXELS
    layers = {}
    for _ in range(count):
        raw_name, h, w, c = LAYER_HEADER.unpack_from(data, offset)
        offset += LAYER_HEADER.size
        low = np.frombuffer(data, "<f4", c, offset)
        high = np.frombuffer(data, "<f4", c, offset + 4 * c)
        offset += 8 * c
        values = np.frombuffer(data, np.uint8, c * h * w, offset).reshape(c, h * w)
        offset += c * h * w + (-(c * h * w) % 4)
        restored = low[:, None] + values * ((high - low) / 255.0)[:, None]
        layers[raw_name.rstrip(b"\0").decode("ascii")] = {
            "shape": (h, w, c),
            "min": low,
            "max": high,
            "values": np.moveaxis(restored.reshape(c, h, w), 0, -1),
        }
    return {"seq": seq, "digit": digit, "probabilities": probabilities, "image": image, "layers": layers}
