"""Random variations of training digits: pen strokes as other people might draw them, and
MNIST bitmaps warped as other pens and hands would have made them.

Pen digits are varied as strokes, before rasterising, so each variant is still a clean
drawing; MNIST (only bitmaps exist) is warped as a bitmap, a fresh warp every epoch.
"""
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from .preprocess import PreprocessError, strokes_to_input

CHUNK = 500  # samples per rendering job: the random streams depend on this, not on the worker count
PEN_WIDTHS = {"basic": (0.08, 0.19), "rich": (0.07, 0.22)}


def pen_variants(samples, copies, seed=0, variation="basic", jobs=1):
    """Every sample drawn plainly, then `copies` random variants of each.

    Returns (images (n, 28, 28) float32, labels (n,), source (n,)): `source` is the index of
    the sample each image came from, so a caller can keep some writers' digits out.
    `variation` "rich" adds what varies between people beyond the whole digit's shape: where
    each stroke lands relative to the others and where strokes start and end (an open or
    closed loop on a 4, 6 or 9). The result does not depend on `jobs`.
    """
    tasks = [(samples[i : i + CHUNK], i, copy, seed, variation) for copy in range(copies + 1) for i in range(0, len(samples), CHUNK)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(_render_chunk, tasks))
    else:
        parts = [_render_chunk(task) for task in tasks]
    images, labels, source = (np.concatenate(column) for column in zip(*parts))
    return images, labels, source


def _render_chunk(task):
    samples, start, copy, seed, variation = task
    rng = np.random.default_rng([seed, copy, start])
    images, labels, source = [], [], []
    for offset, sample in enumerate(samples):
        try:
            if copy == 0:
                image = strokes_to_input(sample["strokes"])
            else:
                strokes = distort_strokes(sample["strokes"], rng, rich=variation == "rich")
                image = strokes_to_input(strokes, pen_fraction=rng.uniform(*PEN_WIDTHS[variation]))
        except PreprocessError:
            continue
        images.append(image)
        labels.append(sample["label"])
        source.append(start + offset)
    return np.stack(images).astype(np.float32), np.array(labels, np.int64), np.array(source, np.int64)


def distort_strokes(strokes, rng, rich=False):
    """One random variant of a drawing: slant, rotation, aspect and a smooth wobble of the
    whole digit; `rich` also moves each stroke on its own and trims or extends its ends."""
    points = [np.asarray(s, np.float64) for s in strokes if len(s)]
    allpts = np.concatenate(points)
    centre = (allpts.min(0) + allpts.max(0)) / 2
    extent = max(float(np.ptp(allpts, axis=0).max()), 1.0)
    if rich:
        points = [_vary_ends(p, rng) for p in points]
        if len(points) > 1:  # a 4's second stroke, a 5's hat: placed a little differently
            points = [p + rng.normal(0.0, 0.03 * extent, size=2) for p in points]
    angle = rng.uniform(-0.2, 0.2)
    shear = rng.uniform(-0.3, 0.3)
    sx, sy = np.exp(rng.uniform(-0.2, 0.2, size=2))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = rotation @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    # Smooth "elastic" wobble: low-frequency sinusoids of the position.
    freq = rng.uniform(0.5, 2.0, size=(2, 2)) * 2 * np.pi / extent
    phase = rng.uniform(0, 2 * np.pi, size=2)
    amp = rng.uniform(0.0, 0.04) * extent
    out = []
    for p in points:
        q = (p - centre) @ matrix.T
        q = q + amp * np.sin(q @ freq.T + phase)
        out.append(q.tolist())
    return out


def _vary_ends(points, rng, most=0.08):
    """Trim or extend both ends of a stroke by up to `most` of its length: whether a loop
    closes, a 4's top meets, a 7's bar overshoots."""
    if len(points) < 3:
        return points
    for _ in range(2):  # the end, then (reversed) the start
        points = _change_tail(points, rng.uniform(-most, most))[::-1]
    return points


def _change_tail(points, fraction):
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    length = steps.sum()
    if length <= 0:
        return points
    from_end = np.concatenate([np.cumsum(steps[::-1])[::-1], [0.0]])  # arc length to the tail
    if fraction < 0:  # trim: drop the points within |fraction| of the length from the end
        keep = max(2, int(np.searchsorted(-from_end, fraction * length, side="left")))
        return points[:keep]
    # Extend along the direction of the last ~5% of the stroke.
    back = int(np.searchsorted(-from_end, -0.05 * length, side="right")) - 1
    back = min(max(back, 0), len(points) - 2)
    direction = points[-1] - points[back]
    norm = np.linalg.norm(direction)
    if norm <= 0:
        return points
    return np.vstack([points, points[-1] + direction / norm * fraction * length])


def warp_many(images, seed, strength=1.0, chunk=1024, threads=4):
    """`warp_images` over many images, a few threads at once (NumPy lets go of the GIL);
    each chunk has its own random stream, so the result does not depend on the threads."""
    starts = range(0, len(images), chunk)
    work = lambda start: warp_images(images[start : start + chunk], np.random.default_rng([*seed, start]), strength)  # noqa: E731
    with ThreadPoolExecutor(threads) as pool:
        return np.concatenate(list(pool.map(work, starts))) if len(images) else images


def warp_images(images, rng, strength=1.0):
    """Random smooth warps of a batch of (n, h, w) bitmaps: rotation (±11°), shear, zoom
    (±8%), shift (±2 px) and an elastic displacement (a coarse random field, smoothly
    interpolated), all scaled by `strength`. Bilinear sampling; outside the image is 0."""
    n, h, w = images.shape
    gy, gx = (axis.reshape(1, -1) for axis in np.mgrid[0:h, 0:w].astype(np.float32))
    gy, gx = gy - (h - 1) / 2, gx - (w - 1) / 2
    angle, shear = rng.uniform(-0.2, 0.2, (n, 1)) * strength, rng.uniform(-0.15, 0.15, (n, 1)) * strength
    zoom = np.exp(rng.uniform(-0.08, 0.08, (n, 2)) * strength)
    shift = rng.uniform(-2, 2, (n, 2)) * strength + [(h - 1) / 2, (w - 1) / 2]
    cos, sin = np.cos(angle), np.sin(angle)
    # Elastic: 4x4 random displacements (px) per axis, bilinearly spread over the image.
    coarse = rng.normal(0.0, 0.8 * strength, (n * 2 * 4, 4))
    field = (coarse @ _spread(w, 4).T).reshape(n * 2, 4, w)
    field = np.einsum("hi,kiw->khw", _spread(h, 4), field, optimize=True).reshape(n, 2, h * w)
    sy = zoom[:, :1] * (cos * gy + (shear - sin) * gx) + shift[:, :1] + field[:, 0]
    sx = zoom[:, 1:] * (sin * gy + cos * gx) + shift[:, 1:] + field[:, 1]
    return _bilinear(images, sy.astype(np.float32), sx.astype(np.float32))


def _spread(size, knots):
    """(size, knots) weights that interpolate `knots` values linearly across `size` pixels."""
    position = np.linspace(0, knots - 1, size)
    return np.maximum(0.0, 1.0 - np.abs(position[:, None] - np.arange(knots)[None, :]))


def _bilinear(images, y, x):
    n, h, w = images.shape
    y0, x0 = np.floor(y).astype(np.int32), np.floor(x).astype(np.int32)
    fy, fx = y - y0, x - x0
    flat = np.ascontiguousarray(images, np.float32).ravel()
    base = (np.arange(n, dtype=np.int32) * (h * w))[:, None]
    out = np.zeros((n, h * w), np.float32)
    for dy, dx, weight in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yy, xx = y0 + dy, x0 + dx
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        index = np.clip(yy, 0, h - 1) * w + np.clip(xx, 0, w - 1)
        out += flat.take(index + base) * (weight * inside)
    return out.reshape(n, h, w)
