"""Turn drawings and pictures into what the network sees: 28x28 floats, MNIST-style.

One implementation, shared by training, evaluation and the web app, so the network is
always fed the way it was trained.
"""
import io
from itertools import chain

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

MAX_POINTS = 10_000
MAX_COORDINATE = 1e9
# A drawing smaller than this across is a dot: scaling it up to the raster would overflow
# (subnormal extents such as 1e-310 scale by more than a float holds).
MIN_EXTENT = 1e-9
PEN_FRACTION = 0.13  # pen width relative to the drawing's longest side
RASTER_SIZE = 80  # drawings are rasterised at 4x the 20 px box, then anti-aliased down
MNIST_BOX = 20
MNIST_SIZE = 28
# 16 MP: a phone's photo (12 MP, 4032x3024; 16 MP cameras) gets in; beyond that is no
# better for a 28x28 digit, only slower to decode (a 36 MP PNG can be 35 KB).
MAX_IMAGE_PIXELS = 16_000_000
IMAGE_FORMATS = ("PNG", "JPEG")


class PreprocessError(ValueError):
    """Input that cannot become a network input; the message is written for the user."""


class EmptyDrawing(PreprocessError):
    """Nothing to recognise: no strokes, or a blank image."""

    def __init__(self, message="nothing drawn"):
        super().__init__(message)


NUMBERS = {int, float}  # exact types: a bool is not a coordinate
LIST = {list}
PAIR = {2}


def check_shape(strokes, error=PreprocessError):
    """A fast structural check (a list of strokes, each a list of [x, y] number pairs, at
    most MAX_POINTS): run on every drawing before it joins a batch, so what reaches the
    frame worker is flat and bounded (a list nested a thousand deep breaks pickling).
    Values (NaN, ranges) are checked later, by `validate_strokes`. Complaints are raised
    as `error` (the caller's type for a client's mistake)."""
    if type(strokes) is not list or set(map(type, strokes)) - LIST:
        _name_bad_stroke(strokes, error)
    points = list(chain.from_iterable(strokes))
    if len(points) > MAX_POINTS:
        raise error(f"too many points: at most {MAX_POINTS} in a drawing")
    # The whole drawing in a few C-level passes (set(map(...))), no Python loop per
    # stroke or point: a pen's drawing is checked in microseconds.
    if set(map(type, points)) - LIST or set(map(len, points)) - PAIR or set(map(type, chain.from_iterable(points))) - NUMBERS:
        _name_bad_stroke(strokes, error)
    return strokes


def _name_bad_stroke(strokes, error):
    """Raise the error for the first thing wrong (the slow path, for bad drawings only)."""
    if type(strokes) is not list:
        raise error("strokes must be a list of strokes, each a list of [x, y] points")
    for index, stroke in enumerate(strokes):
        if type(stroke) is not list or set(map(type, stroke)) - LIST:
            raise error(f"stroke {index} must be a list of [x, y] points")
        if set(map(len, stroke)) - PAIR:
            raise error(f"stroke {index}: every point must be a pair [x, y]")
        if set(map(type, chain.from_iterable(stroke))) - NUMBERS:
            raise error(f"stroke {index}: coordinates must be numbers")
    raise AssertionError("check_shape found a fault that _name_bad_stroke did not")


def validate_strokes(strokes) -> list[np.ndarray]:
    """Check a drawing and return its strokes as float arrays of shape (n, 2)."""
    if not isinstance(strokes, (list, tuple)):
        raise PreprocessError("strokes must be a list of strokes, each a list of [x, y] points")
    arrays, total = [], 0
    for index, stroke in enumerate(strokes):
        if not isinstance(stroke, (list, tuple)):
            raise PreprocessError(f"stroke {index} must be a list of [x, y] points")
        total += len(stroke)
        if total > MAX_POINTS:
            raise PreprocessError(f"too many points: at most {MAX_POINTS} in a drawing")
        if not stroke:
            continue
        arrays.append(_stroke_array(stroke, index))
    return arrays


def _stroke_array(stroke, index) -> np.ndarray:
    try:
        # No dtype here: NumPy would quietly turn "12" into 12.0.
        points = np.asarray(stroke)
    except ValueError:
        raise PreprocessError(f"stroke {index}: every point must be a pair [x, y]") from None
    if points.ndim != 2 or points.shape[1] != 2:
        raise PreprocessError(f"stroke {index}: every point must be a pair [x, y]")
    if points.dtype.kind not in "iuf":
        raise PreprocessError(f"stroke {index}: coordinates must be numbers")
    points = points.astype(np.float64)
    if not np.isfinite(points).all():
        raise PreprocessError(f"stroke {index}: coordinates must be finite (no NaN or infinity)")
    if np.abs(points).max() > MAX_COORDINATE:
        raise PreprocessError(f"stroke {index}: coordinates beyond ±{MAX_COORDINATE:g}")
    return points


def rasterise(strokes, pen_fraction=PEN_FRACTION, size=RASTER_SIZE) -> np.ndarray:
    """Draw strokes with a round pen; white ink on black, uint8, longest side ~`size` px.

    The pen width follows the drawing's size, not the coordinate units, so a digit drawn
    small on a phone and large on a projector look alike to the network.
    """
    arrays = validate_strokes(strokes)
    if not arrays:
        raise EmptyDrawing()
    points = np.concatenate(arrays)
    low, high = points.min(axis=0), points.max(axis=0)
    extent = float((high - low).max())
    if extent < MIN_EXTENT:  # a dot, whatever tiny offsets its points had
        arrays = [np.broadcast_to(low, stroke.shape) for stroke in arrays]
        high, extent = low, 0.0
    scale = size / extent if extent > 0 else 1.0
    width = max(1, round(pen_fraction * size))
    pad = width / 2 + 1
    w, h = np.ceil((high - low) * scale + 2 * pad).astype(int) + 1
    image = Image.new("L", (int(w), int(h)), 0)
    draw = ImageDraw.Draw(image)
    radius = width / 2
    for stroke in arrays:
        xy = (stroke - low) * scale + pad
        if len(xy) > 1:
            draw.line(xy.ravel().tolist(), fill=255, width=width)
        # A disc at every point makes the pen round (caps, joints, lone dots); it is the
        # same shape as Pillow's joint="curve" and several times faster.
        for x, y in xy.tolist():
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(image)


def to_mnist(image: np.ndarray, threshold: float = 0.0, size=(MNIST_SIZE, MNIST_SIZE)) -> np.ndarray:
    """Normalise a white-on-black image as MNIST was made; returns float32 `size` in 0..1.

    Crop to the ink, scale the longest side to 20 px keeping the aspect ratio
    (anti-aliased), then place it in 28x28 with the centre of mass at (14, 14). Another
    (height, width) gets the same proportions: a box of 20/28 of its shorter side, the
    centre of mass at its middle.
    """
    gray = _as_uint8(image)
    mask = gray > threshold * 255
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise EmptyDrawing()
    crop = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    box = max(1, round(MNIST_BOX * min(size) / MNIST_SIZE))  # 20 px at 28x28
    factor = box / max(h, w)
    new_w, new_h = max(1, round(w * factor)), max(1, round(h * factor))
    # Box filtering: each output pixel is the mean of the area it covers (anti-aliased).
    small = Image.fromarray(crop).resize((new_w, new_h), Image.Resampling.BOX)
    small = np.asarray(small, dtype=np.float32) / 255.0
    return _centre_by_mass(small, size)


def _as_uint8(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 2:
        raise PreprocessError("expected a single-channel image")
    if array.dtype == np.uint8:
        return array
    array = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return (np.clip(array, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def _centre_by_mass(small: np.ndarray, size=(MNIST_SIZE, MNIST_SIZE)) -> np.ndarray:
    total = small.sum()
    if total <= 0:
        raise EmptyDrawing()
    height, width = size
    cy = (small.sum(axis=1) @ np.arange(small.shape[0])) / total
    cx = (small.sum(axis=0) @ np.arange(small.shape[1])) / total
    top, left = int(round(height / 2 - cy)), int(round(width / 2 - cx))
    out = np.zeros((height, width), np.float32)
    # Clip the paste rectangle: an off-centre mass can push a little ink out of frame.
    y0, x0 = max(top, 0), max(left, 0)
    y1 = min(top + small.shape[0], height)
    x1 = min(left + small.shape[1], width)
    out[y0:y1, x0:x1] = small[y0 - top : y1 - top, x0 - left : x1 - left]
    return out


MNIST_SHAPE = (MNIST_SIZE, MNIST_SIZE, 1)


def strokes_to_input(strokes, pen_fraction=PEN_FRACTION, shape=MNIST_SHAPE) -> np.ndarray:
    """A drawing, as lists of [x, y] points in any units, to a network's input of `shape`
    (height, width, channels): (h, w) for one channel, (h, w, c) otherwise."""
    return for_channels(to_mnist(rasterise(strokes, pen_fraction), size=shape[:2]), shape[2])


def image_to_input(data: bytes, shape=MNIST_SHAPE) -> np.ndarray:
    """An uploaded PNG/JPEG (a digit on paper, a screenshot) to a network's input of `shape`."""
    gray = _ink_image(_open_image(data))
    return for_channels(to_mnist(gray, threshold=0.0, size=shape[:2]), shape[2])


def for_channels(gray: np.ndarray, channels: int) -> np.ndarray:
    """A grey (h, w) input as a network of `channels` takes it: itself for one; for RGB the
    ink on every channel (white ink on black, as the grey network sees it)."""
    if channels == 1:
        return gray
    return np.repeat(gray[:, :, None], channels, axis=2)


def check_picture(data: bytes):
    """Refuse a picture from its header alone (no pixel decoded, well under a millisecond):
    not a PNG or JPEG, or over MAX_IMAGE_PIXELS. The server checks this before a picture
    waits for the picture worker."""
    _read_header(data)


def _read_header(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise PreprocessError(f"image too large: at most {MAX_IMAGE_PIXELS:,} pixels") from None
    except (UnidentifiedImageError, OSError):
        raise PreprocessError("not an image: upload a PNG or JPEG") from None
    if image.format not in IMAGE_FORMATS:
        raise PreprocessError(f"unsupported image format {image.format}: upload a PNG or JPEG")
    # Check the header's size before decoding a single pixel.
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise PreprocessError(
            f"image too large: {image.width}x{image.height} pixels, at most {MAX_IMAGE_PIXELS:,}"
        )
    return image


def _open_image(data: bytes) -> Image.Image:
    image = _read_header(data)
    try:
        image.draft("L", (512, 512))  # JPEG: decode at reduced size, much faster for photos
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            # Transparent areas are paper: composite over white.
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, image.convert("RGBA"))
        image = image.convert("L")
        image.thumbnail((512, 512), Image.Resampling.LANCZOS)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise PreprocessError(f"could not decode the image: {error}") from None
    return image


def _ink_image(image: Image.Image) -> np.ndarray:
    """Grayscale picture to white ink on black, with paper, shadows and specks removed."""
    gray = np.asarray(image, dtype=np.float32) / 255.0
    if np.median(gray) > 0.5:  # dark ink on light paper, the usual case
        gray = 1.0 - gray
        image = Image.fromarray((gray * 255).astype(np.uint8))
    # Uneven lighting: subtract a heavily blurred copy, which keeps only the background.
    radius = max(image.size) / 8
    background = np.asarray(image.filter(ImageFilter.GaussianBlur(radius)), np.float32) / 255.0
    ink = np.clip(gray - np.minimum(background, np.median(gray) + 0.1), 0.0, 1.0)
    ink = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).filter(ImageFilter.MedianFilter(3)))
    ink = ink.astype(np.float32) / 255.0
    if ink.max() < 0.1:
        raise EmptyDrawing("no digit found in the image")
    level = _otsu(ink)
    return np.clip((ink - level) / max(ink.max() - level, 1e-6), 0.0, 1.0)


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold on 0..1 values: the level that best splits ink from background."""
    hist, edges = np.histogram(values, bins=64, range=(0.0, 1.0))
    hist = hist.astype(np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(hist)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(hist * centres)
    mean0 = sum0 / np.maximum(weight0, 1)
    mean1 = (sum0[-1] - sum0) / np.maximum(weight1, 1)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    return float(edges[1:][np.argmax(between)])
