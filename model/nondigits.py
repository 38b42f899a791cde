"""Drawings that are not digits, as strokes: what the novelty score (model/novelty.py) is
tuned and tested on. Taps, scribbles, filled scribbles, letters and shapes, each drawn
from a template with random size, position, rotation, slant, aspect, wobble and point
spacing, in the pen digits' coordinates (a 500 x 500 area, y down).

Letters that people also write as digits are left out on purpose: O (0), I and l (1),
S (5), Z (2), G (6), B (8), D (0), Q (9), q (9), g (9), b (6). A non-digit that a person
would read as a digit is not a mistake of the score.

    python -m model.nondigits --seed 13 --count 300 --output tests/data/nondigits-test.json

writes the stored test set (seed 13, variant "test"); the tuning set is made in memory
by model/novelty.py with another seed and variant, never from the stored file.
"""
import argparse
import json

import numpy as np

AREA = 500.0
MAX_POINTS = 120  # per stroke: a pen digit has about 40; more only makes the files and replays long
LETTERS = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.25, 0.55), (0.75, 0.55)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.8, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.8, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.55), (1, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "T": [[(0, 0), (1, 0)], [(0.5, 0), (0.5, 1)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "L": [[(0, 0), (0, 1), (0.7, 1)]],
}


def _arc(cx, cy, rx, ry, start, stop, n=40):
    t = np.linspace(start, stop, n)
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


def _curved_letters():
    bowl = [(0, 0), (0.55, 0)] + _arc(0.55, 0.25, 0.4, 0.25, -np.pi / 2, np.pi / 2, 20) + [(0, 0.5)]
    return {
        "C": [_arc(0.5, 0.5, 0.5, 0.5, np.pi / 4, 7 * np.pi / 4)],
        "P": [[(0, 1), (0, 0)], bowl],
        "R": [[(0, 1), (0, 0)], bowl + [(0.9, 1)]],
        "U": [[(0, 0)] + _arc(0.5, 0.6, 0.5, 0.4, np.pi, 0, 20) + [(1, 0)]],
        "m": [[(0, 1), (0, 0.3)] + _arc(0.25, 0.35, 0.25, 0.3, np.pi, 2 * np.pi, 12) + [(0.5, 1)],
              [(0.5, 0.35)] + _arc(0.75, 0.35, 0.25, 0.3, np.pi, 2 * np.pi, 12) + [(1, 1)]],
        "e": [[(0, 0.55), (1, 0.55)] + _arc(0.5, 0.55, 0.5, 0.45, 0, -1.75 * np.pi, 40)],
    }


def _shape(kind, rng):
    """A shape's strokes in the unit square."""
    if kind == "circle-cross":
        cross = [[(0.15, 0.15), (0.85, 0.85)], [(0.85, 0.15), (0.15, 0.85)]]
        plus = [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]]
        return [_arc(0.5, 0.5, 0.5, 0.5, 0, 2 * np.pi, 60)] + (cross if rng.random() < 0.5 else plus)
    if kind == "star":
        points = int(rng.choice([5, 5, 6, 7]))
        step = 2 if points != 6 else 1
        radius = np.where(np.arange(2 * points) % 2 == 0, 0.5, 0.2) if step == 1 else np.full(points, 0.5)
        count = len(radius)
        angles = -np.pi / 2 + 2 * np.pi * np.arange(count + 1) * (step if step > 1 else 1) / count
        radius = np.append(radius, radius[0])
        return [list(zip(0.5 + radius * np.cos(angles), 0.5 + radius * np.sin(angles)))]
    if kind == "spiral":
        turns = rng.uniform(2, 4)
        t = np.linspace(0, turns * 2 * np.pi, int(60 * turns))
        r = 0.5 * t / t[-1]
        sign = rng.choice([-1, 1])
        return [list(zip(0.5 + r * np.cos(sign * t), 0.5 + r * np.sin(sign * t)))]
    if kind == "grid":
        lines = int(rng.integers(2, 5))
        at = np.linspace(0.1, 0.9, lines)
        return [[(0, a), (1, a)] for a in at] + [[(a, 0), (a, 1)] for a in at]
    if kind == "heart":
        t = np.linspace(0, 2 * np.pi, 80)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return [list(zip((x + 17) / 34, (y + 18) / 34))]
    if kind == "smiley":
        face = _arc(0.5, 0.5, 0.5, 0.5, 0, 2 * np.pi, 60)
        eyes = [[(0.33, 0.35), (0.34, 0.37)], [(0.66, 0.35), (0.67, 0.37)]]
        return [face] + eyes + [_arc(0.5, 0.55, 0.25, 0.2, 0.2, np.pi - 0.2, 20)]
    if kind == "arrow":
        return [[(0, 0.5), (1, 0.5)], [(0.7, 0.25), (1, 0.5), (0.7, 0.75)]]
    if kind == "box-cross":
        return [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], [(0, 0), (1, 1)], [(1, 0), (0, 1)]]
    if kind == "triangle":
        return [[(0.5, 0), (1, 1), (0, 1), (0.5, 0)]]
    if kind == "wave":
        t = np.linspace(0, 1, 80)
        cycles = rng.uniform(2, 4)
        return [list(zip(t, 0.5 + 0.25 * np.sin(2 * np.pi * cycles * t)))]
    raise ValueError(kind)


SHAPES = ("circle-cross", "star", "spiral", "grid", "heart", "smiley", "arrow", "box-cross", "triangle", "wave")


def _scribble(rng):
    """A random smooth tangle: a sum of sinusoids, one or two strokes."""
    strokes = []
    for _ in range(int(rng.integers(1, 3))):
        t = np.linspace(0, 1, int(rng.integers(80, 200)))
        xy = np.zeros((len(t), 2))
        for axis in range(2):
            for k in range(1, 6):
                xy[:, axis] += rng.normal(0, 1 / k) * np.sin(2 * np.pi * (rng.uniform(1, 4) * k * t + rng.random()))
        strokes.append(xy)
    allpts = np.concatenate(strokes)
    low, span = allpts.min(0), np.ptp(allpts, 0).max()
    return [((s - low) / span).tolist() for s in strokes]


def _filled(rng):
    """A box or blob coloured in by a zigzag: back and forth, lines closer than the pen."""
    lines = int(rng.integers(8, 20))
    aspect = rng.uniform(0.5, 1.5)
    round_blob = rng.random() < 0.4
    points = []
    for i, y in enumerate(np.linspace(0, 1, lines)):
        half = np.sqrt(max(0.0, 0.25 - (y - 0.5) ** 2)) if round_blob else 0.5
        xs = (0.5 - half, 0.5 + half) if i % 2 == 0 else (0.5 + half, 0.5 - half)
        points += [(xs[0] * aspect, y), (xs[1] * aspect, y)]
    return [points]


def _tap(rng):
    """A tap: one point, or a few within a unit or two (a finger's wobble)."""
    x, y = rng.uniform(50, 450, 2).round(1)
    if rng.random() < 0.6:
        return [[[x, y]]]
    # Two points would be a short line, which the preprocessing scales up into a "1".
    return [[[x + dx, y + dy] for dx, dy in rng.uniform(-1.5, 1.5, (int(rng.integers(4, 8)), 2))]]


def _place(strokes, rng, variant):
    """Unit-square strokes to the pen area: rotated, slanted, stretched, wobbled, resampled."""
    arrays = [np.asarray(s, float) for s in strokes if len(s)]
    tilt = 0.3 if variant == "test" else 0.25
    angle, shear = rng.uniform(-tilt, tilt), rng.uniform(-0.3, 0.3)
    sx, sy = np.exp(rng.uniform(-0.25, 0.25, 2))
    matrix = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])
    size = rng.uniform(80, 400)
    corner = rng.uniform(0, AREA - size, 2)
    wobble = rng.uniform(0, 0.02)
    spacing = rng.uniform(0.01, 0.04)
    out = []
    for a in arrays:
        a = _resample(a, spacing)
        a = (a - 0.5) @ matrix.T + 0.5
        a = a + rng.normal(0, wobble, a.shape)
        out.append(np.clip(corner + a * size, 0, AREA).round().astype(int).tolist())
    return out


def _resample(points, spacing):
    """Points every `spacing` along the polyline (a pen samples as it moves)."""
    if len(points) < 2:
        return points
    lengths = np.r_[0, np.cumsum(np.hypot(*np.diff(points, axis=0).T))]
    if lengths[-1] == 0:
        return points[:1]
    at = np.linspace(0, lengths[-1], min(MAX_POINTS, max(2, int(lengths[-1] / spacing) + 1)))
    return np.stack([np.interp(at, lengths, points[:, 0]), np.interp(at, lengths, points[:, 1])], 1)


def generate(count, seed, variant="tune"):
    """`count` non-digit samples: dicts with kind ("tap", "scribble", "filled", "letter",
    "shape"), name (the letter or shape) and strokes. `variant` "tune" or "test" draws the
    kinds in another proportion and with a little more tilt, so the two sets differ in
    more than the seed."""
    rng = np.random.default_rng(seed)
    letters = {**LETTERS, **_curved_letters()}
    weights = {"tap": 0.1, "scribble": 0.2, "filled": 0.15, "letter": 0.3, "shape": 0.25}
    if variant == "test":
        weights = {"tap": 0.1, "scribble": 0.15, "filled": 0.15, "letter": 0.3, "shape": 0.3}
    kinds = rng.choice(list(weights), size=count, p=list(weights.values()))
    samples = []
    for kind in kinds:
        if kind == "tap":
            samples.append({"kind": "tap", "name": "tap", "strokes": _tap(rng)})
            continue
        if kind == "letter":
            name = str(rng.choice(sorted(letters)))
            strokes = letters[name]
        elif kind == "shape":
            name = str(rng.choice(SHAPES))
            strokes = _shape(name, rng)
        else:
            name = str(kind)
            strokes = _scribble(rng) if kind == "scribble" else _filled(rng)
        samples.append({"kind": str(kind), "name": name, "strokes": _place(strokes, rng, variant)})
    return samples


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--variant", default="test", choices=("tune", "test"))
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    samples = generate(args.count, args.seed, args.variant)
    with open(args.output, "w") as handle:
        json.dump({
            "source": f"python -m model.nondigits --seed {args.seed} --count {args.count} --variant {args.variant}",
            "coordinates": "a 500x500 area, x right, y down (as the pen digits)",
            "fields": "kind (tap, scribble, filled, letter, shape), name, strokes: lists of [x, y] points",
            "samples": samples,
        }, handle, separators=(",", ":"))
    print(f"{len(samples)} non-digits → {args.output}")


if __name__ == "__main__":
    main()
