"""Is this a digit at all? A score of how unlike the training digits a drawing is, from
the network's own activations and two facts of its input.

A softmax always picks one of ten: a tap reads "0, 99%". The layers before it say more.
Four kinds of facts, each cheap on what the forward pass already has:
- for each hidden vector layer (dense1 and dense2 in the tutorial's network): the
  Mahalanobis distance of its activations to the nearest class mean, with one covariance
  shared by the classes (Lee et al. 2018), fitted on the digits the network learnt from;
  training digits of a class sit in a cloud there, a drawing far from every cloud does not;
- the energy of the logits, -log sum exp (Liu et al. 2020): low when some class's evidence
  is strong, high when none is, however the softmax then shares it out;
- the ink: how much of the 28x28 input is lit (a tap is a disc, a filled scribble a slab);
- the fill: the share of the ink's bounding box that is solid ink.
A linear combination of them (logistic regression, log distances) is the score; a drawing
is flagged when it is over a threshold. Everything is chosen on tuning data only: the
statistics on MNIST train and the pen digits of 25 training writers, the combination on
held-out training digits against generated non-digits (model/nondigits.py, seed
TUNE_SEED, variant "tune"), the threshold as the score that flags TARGET_FPR of the 5
held-out training writers' digits. The stored test set (tests/data/nondigits-test.json,
seed 13, variant "test"), writers 1-4 and MNIST test are only ever reported on.

The statistics are stored beside the model as `novelty.npz` (whitening matrices as
float16, whitened class means, weights, threshold: 0.6 MB for the tutorial's network). A model without the file gets no verdict (`load` is
None): its frames' flag stays 0.

    python -m model.novelty [--model F.keras]      # fit and store the statistics (minutes)
    python -m model.novelty --report [--model F]   # flagged rates: test non-digits, writers 1-4, MNIST test
"""
import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import DEFAULT_PEN_TEST, DEFAULT_PEN_TRAIN, load_mnist, load_pen_samples, render_pen_samples
from .forward import Forward
from .nondigits import generate
from .parse_layers import describe_file
from .preprocess import strokes_to_input

FILE = "novelty.npz"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = Path(__file__).resolve().parent / "mnist_cnn.keras"
STORED_TEST = REPO / "tests" / "data" / "nondigits-test.json"
TUNE_SEED = 7  # the stored test set is seed 13, variant "test"
TUNE_COUNT = 1500
TARGET_FPR = 0.01  # of the held-out training writers' digits
HOLDOUT_WRITERS = 5
MNIST_FIT = 20_000  # MNIST train images the class statistics are fitted on (the rest: tuning)
MNIST_TUNE = 5_000
MAX_UNITS = 1024  # a wider vector layer gets no distance (its covariance would cost too much a frame)


def feature_layers(description):
    """The shown hidden vector layers (Dense outputs before the last), whose class
    clouds the distances measure."""
    return tuple(
        layer.name for layer in description.shown
        if not layer.spatial and not layer.is_output and layer.shape[0] <= MAX_UNITS and layer.kind == "dense"
    )


def input_facts(images):
    """(n, 2): ink (lit pixels' sum / 100) and fill (share of the bounding box of pixels over
    0.1 that is over 0.5) of each input, first channel."""
    x = np.asarray(images, np.float32)
    x = x[..., 0] if x.ndim == 4 else x
    ink = x.reshape(len(x), -1).sum(1) / 100
    lit = x > 0.1
    rows, cols = lit.any(2), lit.any(1)
    height = rows.shape[1] - np.argmax(rows[:, ::-1], 1) - np.argmax(rows, 1)
    width = cols.shape[1] - np.argmax(cols[:, ::-1], 1) - np.argmax(cols, 1)
    fill = (x > 0.5).sum((1, 2)) / np.maximum(height * width, 1)
    return np.stack([ink, fill], 1)


@dataclass
class Novelty:
    layers: tuple  # the feature layers' names
    whiten: list  # per layer (d, d) float32: x @ whiten has unit covariance within a class
    means: list  # per layer (classes, d) float32: class means, whitened
    weights: np.ndarray = None  # per fact (log distances, energy, ink, fill)
    bias: float = 0.0
    threshold: float = 0.0  # a score over this is "unlike the training digits"

    def facts(self, outputs, images):
        """(n, facts) from a Forward's outputs (the feature layers and "logits") and the inputs."""
        columns = [np.log(_nearest(outputs[name], w, m))[:, None] for name, w, m in zip(self.layers, self.whiten, self.means)]
        logits = np.asarray(outputs["logits"], np.float64)
        top = logits.max(1)
        energy = -(top + np.log(np.exp(logits - top[:, None]).sum(1)))
        return np.concatenate(columns + [energy[:, None], input_facts(images)], 1)

    def scores(self, outputs, images):
        return self.facts(outputs, images) @ self.weights + self.bias

    def unlike(self, outputs, images):
        """(n,) bool: which drawings are unlike the training digits."""
        return self.scores(outputs, images) > self.threshold

    def save(self, path):
        arrays = {f"whiten{i}": w.astype(np.float16) for i, w in enumerate(self.whiten)} | {f"means{i}": m for i, m in enumerate(self.means)}
        np.savez(path, layers=np.array(self.layers), weights=self.weights, bias=self.bias, threshold=self.threshold, **arrays)


def _nearest(features, whiten, means):
    """(n,) squared Mahalanobis distance to the nearest class mean (floored: a log follows)."""
    z = np.asarray(features, np.float32) @ whiten
    d2 = (z * z).sum(1)[:, None] - 2 * z @ means.T + (means * means).sum(1)[None]
    return np.maximum(d2.min(1), 1e-6)


def load(model_path):
    """The statistics stored beside a model file, or None when there are none."""
    path = Path(model_path).with_name(FILE)
    if not path.is_file():
        return None
    with np.load(path) as data:
        layers = tuple(str(n) for n in data["layers"])
        return Novelty(
            layers,
            [data[f"whiten{i}"].astype(np.float32) for i in range(len(layers))],
            [data[f"means{i}"].astype(np.float32) for i in range(len(layers))],
            data["weights"].astype(np.float64), float(data["bias"]), float(data["threshold"]),
        )


def fits(novelty, description):
    """Whether stored statistics are for this network (its feature layers and their widths:
    a retrained model with other layers has stale statistics, and gets no verdict)."""
    return (
        novelty is not None
        and novelty.layers == feature_layers(description)
        and all(description.layer(n).shape[0] == w.shape[0] for n, w in zip(novelty.layers, novelty.whiten))
    )


# ---------------------------------------------------------------------------------------
# Fitting and measuring


def run(forward, images, layers, batch=2000):
    """The outputs `facts` reads, for many images, in batches."""
    parts = [forward.run(images[i : i + batch]) for i in range(0, len(images), batch)]
    return {name: np.concatenate([p[name] for p in parts]) for name in (*layers, "logits")}


def fit_statistics(features, labels, classes=10):
    """Class means and the shared covariance's whitening matrix (its inverse square root,
    by eigendecomposition; tiny eigenvalues are floored so dead ReLU units do not blow up)."""
    means = np.stack([features[labels == c].mean(0) for c in range(classes)])
    centred = features - means[labels]
    covariance = centred.T @ centred / len(features)
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, values.max() * 1e-6)
    # Stored as float16 (half the file: 512 x 512 is 0.5 MB so), and used as stored from here on.
    whiten = ((vectors / np.sqrt(values)) @ vectors.T).astype(np.float16).astype(np.float32)
    return whiten, (means @ whiten).astype(np.float32)


def logistic(inside, outside, steps=3000):
    """Weights and bias of a logistic regression of outside (1) against inside (0), the two
    sets weighted equally, on standardised facts; returned for the raw facts."""
    facts = np.concatenate([inside, outside])
    target = np.r_[np.zeros(len(inside)), np.ones(len(outside))]
    weight = np.r_[np.full(len(inside), 0.5 / len(inside)), np.full(len(outside), 0.5 / len(outside))]
    mu, sd = facts.mean(0), facts.std(0) + 1e-12
    a = (facts - mu) / sd
    w, b = np.zeros(a.shape[1]), 0.0
    for _ in range(steps):  # plain gradient descent: a handful of facts, a convex loss
        g = (1 / (1 + np.exp(-(a @ w + b))) - target) * weight
        w -= a.T @ g + 1e-4 * w
        b -= g.sum()
    return w / sd, b - float((w * mu / sd).sum())


def render(samples):
    return np.stack([strokes_to_input(s["strokes"]) for s in samples])


def fit(model_path, mnist=None):
    """Fit the statistics for a model; returns (Novelty, tuning figures)."""
    description = describe_file(model_path)
    layers = feature_layers(description)
    forward = Forward(description)
    (x_train, y_train), _ = load_mnist(mnist)
    order = np.random.default_rng(0).permutation(len(x_train))
    fit_at, tune_at = order[:MNIST_FIT], order[MNIST_FIT : MNIST_FIT + MNIST_TUNE]
    pen = load_pen_samples(DEFAULT_PEN_TRAIN)
    held = set(sorted({s["writer"] for s in pen})[-HOLDOUT_WRITERS:])
    pen_images, pen_labels = render_pen_samples([s for s in pen if s["writer"] not in held])
    images = np.concatenate([x_train[fit_at], pen_images])
    labels = np.concatenate([y_train[fit_at], pen_labels])
    outputs = run(forward, images, layers)
    statistics = [fit_statistics(outputs[name], labels) for name in layers]
    novelty = Novelty(layers, [w for w, _ in statistics], [m for _, m in statistics])
    held_images = render([s for s in pen if s["writer"] in held])
    others = render(generate(TUNE_COUNT, TUNE_SEED, "tune"))
    facts = {k: novelty.facts(run(forward, x, layers), x) for k, x in
             {"held": held_images, "mnist": x_train[tune_at], "others": others}.items()}
    novelty.weights, novelty.bias = logistic(np.concatenate([facts["held"], facts["mnist"]]), facts["others"])
    score = {k: f @ novelty.weights + novelty.bias for k, f in facts.items()}
    novelty.threshold = float(np.quantile(score["held"], 1 - TARGET_FPR))
    tuning = {
        "layers": list(layers),
        "weights": novelty.weights.round(4).tolist(),
        "threshold": novelty.threshold,
        "held_out_writers": sorted(held),
        "tune_false_positive_rate_held_writers": float((score["held"] > novelty.threshold).mean()),
        "tune_false_positive_rate_mnist_train": float((score["mnist"] > novelty.threshold).mean()),
        "tune_true_positive_rate": float((score["others"] > novelty.threshold).mean()),
    }
    return novelty, tuning


def rates(model_path, mnist=None, novelty=None):
    """The verdict's rates on data never tuned on: the stored non-digits (true positives:
    flagged), writers 1-4 and MNIST test (false positives), with the non-digits per kind."""
    description = describe_file(model_path)
    novelty = novelty or load(model_path)
    forward = Forward(description)

    def flagged(images):
        return novelty.unlike(run(forward, images, novelty.layers), images)

    others = json.loads(STORED_TEST.read_text())["samples"]
    hits = flagged(render(others))
    pen_images, _ = render_pen_samples(load_pen_samples(DEFAULT_PEN_TEST))
    _, (x_test, _) = load_mnist(mnist)
    kinds = sorted({s["kind"] for s in others})
    return {
        "true_positive_rate": float(hits.mean()),
        "true_positive_rate_by_kind": {k: float(hits[[s["kind"] == k for s in others]].mean()) for k in kinds},
        "missed": sorted(s["name"] for s, hit in zip(others, hits) if not hit),
        "false_positive_rate_writers_1_4": float(flagged(pen_images).mean()),
        "false_positive_rate_mnist_test": float(flagged(x_test).mean()),
        "non_digits": len(others),
        "pen_digits": len(pen_images),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fit (default) or report the novelty statistics of a model.")
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--mnist", default=None, help="mnist.npz (default: $MNIST_PATH, else ../shared/data/mnist.npz)")
    parser.add_argument("--report", action="store_true", help="print the rates of the stored statistics")
    args = parser.parse_args(argv)
    mnist = args.mnist or _default_mnist()
    if args.report:
        if load(args.model) is None:
            raise SystemExit(f"no {FILE} beside {args.model}: run python -m model.novelty --model {args.model}")
        print(json.dumps(rates(args.model, mnist), indent=1))
        return
    novelty, tuning = fit(args.model, mnist)
    novelty.save(Path(args.model).with_name(FILE))
    print(json.dumps(tuning, indent=1))


def _default_mnist():
    import os

    shared = DEFAULT_PEN_TRAIN.parent / "mnist.npz"
    return os.environ.get("MNIST_PATH") or (str(shared) if shared.exists() else None)


if __name__ == "__main__":
    sys.exit(main())
