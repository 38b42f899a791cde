"""Drawings and pictures for tests: pen digits as strokes, and digits as image files."""
import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

from bench.common import fit as fit_to_canvas  # noqa: F401  (the tests replay digits as the benchmarks do)


def photo_of(strokes, size=400, ink=40, paper=225, noise=8, seed=0):
    """A digit as dark ink on light, slightly noisy paper, as PNG bytes."""
    image = Image.new("L", (size, size), paper)
    draw = ImageDraw.Draw(image)
    for stroke in fit_to_canvas(strokes, size, 0.6):
        draw.line([tuple(p) for p in stroke], fill=ink, width=size // 25, joint="curve")
    pixels = np.asarray(image, np.float32) + np.random.default_rng(seed).normal(0, noise, (size, size))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def decompression_bomb():
    """A small PNG file whose header claims 100,000 x 100,000 pixels."""
    # Built by hand: writing a real 10-gigapixel image would be the bomb itself.
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 1, 0, 0, 0, 0)
    row = zlib.compress(b"\0" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")


SEVEN = [[[10, 10], [90, 10], [40, 100]]]
ONE = [[[50, 0], [50, 100]]]
