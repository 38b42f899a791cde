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


def quantise(maps: np.ndarray):
    """(h, w, c) or (n,) floats → per-map mins, maxs and uint8 values, maps first.

    Fastest when `maps` is a view of channel-first data, as the network returns it.
    """
    maps = maps.reshape(1, -1, 1) if maps.ndim == 1 else maps  # a vector: one strip
    h, w, c = maps.shape
    flat = maps.transpose(2, 0, 1).reshape(c, h * w)
    low, high = flat.min(axis=1), flat.max(axis=1)
    span = high - low
    scale = np.divide(255.0, span, out=np.zeros_like(span), where=span > 0)
    scaled = flat * scale[:, None]
    scaled += (0.5 - low * scale)[:, None]  # +0.5, then truncation: rounding
    return (h, w, c), low.astype("<f4"), high.astype("<f4"), scaled.astype(np.uint8)


def encode(seq: int, result, layer_names) -> bytes:
    parts = [
        HEADER.pack(MAGIC, VERSION, len(layer_names), result.digit, seq),
        result.probabilities.astype("<f4").tobytes(),
        (np.clip(result.image, 0, 1) * 255 + 0.5).astype(np.uint8).tobytes(),
    ]
    for name in layer_names:
        (h, w, c), low, high, values = quantise(result.layers[name])
        parts += [LAYER_HEADER.pack(name.encode("ascii"), h, w, c), low.tobytes(), high.tobytes(), values.tobytes()]
        parts.append(b"\0" * (-values.size % 4))
    return b"".join(parts)


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
