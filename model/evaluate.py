"""Accuracy of the shipped model: `python -m model.evaluate [--pen FILE.json ...]`.

Runs the served NumPy network (no TensorFlow training code) and prints one JSON object,
with the recipe's cross-validation on unseen writers as metrics.json keeps it
(`python -m model.crossval`).
Works for any described model, on the generic forward pass (model.forward).
"""
import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow only reads the weights

from .data import DEFAULT_PEN_TEST, load_mnist, load_pen_samples, render_pen_samples
from .forward import Forward
from .network import DEFAULT_MODEL_PATH
from .parse_layers import describe_file


def load_network(path=DEFAULT_MODEL_PATH):
    """The NumPy network of a Keras file: `.run(images)` (layer outputs by name) and
    `.predict(images)` (probabilities)."""
    return Forward(describe_file(path))


def predict(network, images, batch_size=500):
    return np.concatenate(
        [network.predict(images[i : i + batch_size]).argmax(axis=1) for i in range(0, len(images), batch_size)]
    )


def classification_report(labels, predicted):
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return {
        "accuracy": float((labels == predicted).mean()),
        "count": int(len(labels)),
        "per_digit": {str(d): round(float(a), 4) for d, a in enumerate(per_class)},
        "confusion": confusion.tolist(),
    }


def evaluate_mnist(network, x_test, y_test):
    report = classification_report(y_test, predict(network, x_test))
    return {"mnist_test_accuracy": report["accuracy"], "mnist_test": report}


def evaluate_pen(network, samples):
    images, labels = render_pen_samples(samples)
    predicted = predict(network, images)
    report = classification_report(labels, predicted)
    by_writer = defaultdict(list)
    for sample, ok in zip(samples, predicted == labels):
        by_writer[str(sample.get("writer", "?"))].append(ok)
    report["per_writer"] = {w: round(float(np.mean(v)), 4) for w, v in sorted(by_writer.items())}
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH))
    parser.add_argument("--mnist", help="mnist.npz (default: $MNIST_PATH, else Keras' download)")
    parser.add_argument("--pen", nargs="*", help="pen digit files (default: writers 1-4, if present)")
    args = parser.parse_args(argv)
    network = load_network(args.model)
    (_, _), (x_test, y_test) = load_mnist(args.mnist)
    result = {"model": args.model, **evaluate_mnist(network, x_test, y_test)}
    pens = args.pen if args.pen is not None else [str(DEFAULT_PEN_TEST)] * DEFAULT_PEN_TEST.exists()
    result["pen_accuracy"] = {path: evaluate_pen(network, load_pen_samples(path)) for path in pens}
    # Cross-validation trains a network per fold (hours on 2 cores, minutes on a GPU), so it
    # is measured by `python -m model.crossval` and kept in metrics.json, not redone here.
    stored = Path(args.model).with_name("metrics.json")
    if stored.exists():
        result["crossval"] = json.loads(stored.read_text()).get("crossval")
    json.dump(result, sys.stdout, indent=1)
    print()
    return result


if __name__ == "__main__":
    main()
