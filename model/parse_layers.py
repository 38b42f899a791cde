"""A Keras model read into its description (model/description.py), layer by layer. Two
ways in, which give equal descriptions:

- `describe_file(path)` reads a `.keras` file (a zip of config.json and
  model.weights.h5) with json and h5py only: no TensorFlow in the serving process;
- `describe(model)` takes a loaded Keras model.

A model outside what this supports (model/supported.py) raises `UnsupportedModel`, whose
message names the layer (or the input/output) and lists what is supported. How Keras'
saved config is walked into layers in order is model/keras_config.py; this module turns
each layer into steps with shapes and weights, and checks the input and the output.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .description import SHOWN_KINDS, Layer, NetworkDescription
from .explanations import explain
from .keras_config import layer_chain, weight_groups
from .supported import ACTIVATIONS, INPUT_SIZES, SUPPORTED_LAYERS, UnsupportedModel


def describe_file(path) -> NetworkDescription:
    """A `.keras` file's description, read with json and h5py only (no TensorFlow)."""
    import h5py

    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise UnsupportedModel(f"{path.name} is not a Keras 3 .keras file (a zip of config.json and model.weights.h5): load it in Keras and save it with model.save('{path.stem}.keras')")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "config.json" not in names or "model.weights.h5" not in names:
            raise UnsupportedModel(f"{path.name} lacks config.json or model.weights.h5 (sharded or other weight formats are not read)")
        config = json.loads(archive.read("config.json"))
        stored = archive.read("model.weights.h5")
    kind = config.get("class_name")
    if kind not in ("Sequential", "Functional", "Model"):
        raise UnsupportedModel(f"the model is a {kind}: only Sequential and functional models are read")
    layers = config["config"].get("layers", [])
    groups = weight_groups(layers)
    with h5py.File(io.BytesIO(stored), "r") as file:

        def weights(name):
            group = file.get(groups[name] + "/vars")
            if group is None:
                return []
            return [np.asarray(group[str(i)][()]) for i in range(len(group))]

        return _build(config["config"], "Sequential" if kind == "Sequential" else "Functional", weights)


def describe(model) -> NetworkDescription:
    """A loaded Keras model's description. Shapes are checked against Keras' own."""
    import keras

    if isinstance(model, keras.Sequential):
        kind = "Sequential"
    elif type(model).__name__ == "Functional":
        kind = "Functional"
    else:
        raise UnsupportedModel(f"the model is a subclassed {type(model).__name__}: only Sequential and functional models are read")
    config = model.get_config()
    if kind == "Sequential" and not any(entry.get("class_name") == "InputLayer" for entry in config.get("layers", [])):
        config = dict(config, build_input_shape=list(model.inputs[0].shape) if model.inputs else None)
    description = _build(config, kind, lambda name: model.get_layer(name).get_weights())
    for layer in description.layers:
        if layer.name == layer.source:  # a split activation has the shape of its conv
            expected = tuple(model.get_layer(layer.source).output.shape[1:])
            if expected != layer.shape:
                raise AssertionError(f"{layer.name}: shape {layer.shape}, Keras says {expected}")
    return description


def _check_class(entry):
    cls = entry["class_name"]
    if cls not in SUPPORTED_LAYERS:
        raise UnsupportedModel(f"layer '{entry['config'].get('name', '?')}' is a {cls}, which is not supported")


def _build(config, kind, get_weights) -> NetworkDescription:
    input_name, input_shape, chain, unreachable = layer_chain(config, kind)
    for entry in [e for e, _ in chain] + unreachable:  # unreachable ones too: say so, rather than ignore them
        _check_class(entry)
    image = _image_shape(input_name, input_shape)
    steps = _steps(chain, input_name, image, get_weights)
    _check_output(steps)
    return NetworkDescription(config.get("name", "model"), input_name, image, tuple(_layers(steps, input_name, input_shape)))


def _image_shape(input_name, input_shape) -> tuple:
    if len(input_shape) != 3 or any(d is None for d in input_shape):
        raise UnsupportedModel(f"the input '{input_name}' has shape {tuple(input_shape)}: an image (height, width, channels) is supported")
    h, w, c = (int(d) for d in input_shape)
    if c not in (1, 3):
        raise UnsupportedModel(f"the input '{input_name}' has {c} channels: 1 (grayscale) or 3 (RGB) are supported")
    low, high = INPUT_SIZES
    if not (low <= h <= high and low <= w <= high):
        raise UnsupportedModel(f"the input '{input_name}' is {h}x{w}: sizes from {low}x{low} to {high}x{high} are supported")
    return h, w, c


def _steps(chain, input_name, shape, get_weights) -> list:
    steps = []
    renamed = {input_name: input_name}  # a Keras layer's name → the step that holds its output
    for entry, previous in chain:
        parsed = _parse_layer(entry, renamed[previous], tuple(shape), get_weights)
        steps.extend(parsed)
        shape = parsed[-1]["shape"]
        renamed[entry["config"]["name"]] = parsed[-1]["name"]
    return steps


def _check_output(steps):
    if not steps:
        raise UnsupportedModel("the model has no layers")
    last = steps[-1]
    if len(last["shape"]) != 1 or _activation_of(last) != "softmax":
        raise UnsupportedModel(
            f"the output layer '{last['source']}' ({last['keras_class']}) gives "
            f"{'a softmax over ' if _activation_of(last) == 'softmax' else ''}shape {last['shape']}"
            f"{'' if _activation_of(last) == 'softmax' else ' without softmax'}: one softmax over a vector of classes is supported"
        )
    if last["shape"][0] < 2:
        raise UnsupportedModel(f"the output layer '{last['source']}' has {last['shape'][0]} class: two or more are supported")


def _layers(steps, input_name, input_shape) -> list:
    """The steps as Layers: which are shown, and where a hidden one points (the next shown one)."""
    layers, count = [], len(steps)
    for i, step in enumerate(steps):
        shown = step["kind"] in SHOWN_KINDS
        shows_as = step["name"] if shown else next(s["name"] for s in steps[i:] if s["kind"] in SHOWN_KINDS)
        is_output = i == count - 1
        in_shape = input_shape if step["inputs"][0] == input_name else next(s["shape"] for s in steps if s["name"] == step["inputs"][0])
        layers.append(
            Layer(
                name=step["name"],
                kind=step["kind"],
                source=step["source"],
                keras_class=step["keras_class"],
                params=step["params"],
                shape=tuple(step["shape"]),
                inputs=tuple(step["inputs"]),
                param_count=step["param_count"],
                shown=shown,
                shows_as=shows_as,
                explanation=explain(step["kind"], step["params"], tuple(in_shape), tuple(step["shape"]), is_output),
                is_output=is_output,
                weights=step["weights"],
            )
        )
    return layers


def _activation_of(step):
    return step["params"].get("activation")


def _pair(value, name, layer):
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise UnsupportedModel(f"layer '{layer}' has a {len(value)}-D {name}: 2-D is supported")
    return value


def _out_size(size, window, stride, padding):
    """Keras' output size and (before, after) padding along one axis."""
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + window - size, 0)
        return out, (total // 2, total - total // 2)
    return (size - window) // stride + 1, (0, 0)


def _activation_name(value, layer):
    if isinstance(value, dict):  # a serialised function
        value = value.get("config", value.get("class_name"))
    if value is None:
        value = "linear"
    if value not in ACTIVATIONS:
        raise UnsupportedModel(f"layer '{layer}' uses the activation {value!r}, which is not supported")
    return value


def _float32(arrays):
    return [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]


@dataclass
class _Entry:
    """One Keras layer being parsed: its class, config and name, the step it reads and that step's shape."""

    cls: str
    cfg: dict
    name: str
    input_step: str
    in_shape: tuple
    get_weights: Callable

    def step(self, kind, shape, params, param_count=0, weights=None, step_name=None, inputs=None) -> dict:
        """A step dict; by default named after the layer and reading input_step."""
        return {
            "name": step_name or self.name,
            "kind": kind,
            "source": self.name,
            "keras_class": self.cls,
            "params": params,
            "shape": tuple(int(d) for d in shape),
            "inputs": (inputs or self.input_step,),
            "param_count": int(param_count),
            "weights": weights or {},
        }

    def need_maps(self):
        """Raise unless the input is maps (height, width, channels)."""
        if len(self.in_shape) != 3:
            raise UnsupportedModel(f"layer '{self.name}' ({self.cls}) gets a vector of shape {self.in_shape}: it needs maps (height, width, channels)")

    def channels_last(self):
        """Raise unless the layer is channels_last."""
        if self.cfg.get("data_format", "channels_last") not in (None, "channels_last"):
            raise UnsupportedModel(f"layer '{self.name}' ({self.cls}) uses data_format={self.cfg['data_format']!r}: channels_last is supported")


def _conv2d(e: _Entry) -> list:
    """A conv step, and an activation step after it unless the activation is linear."""
    cfg, name, in_shape = e.cfg, e.name, e.in_shape
    e.need_maps()
    e.channels_last()
    kernel = _pair(cfg["kernel_size"], "kernel", name)
    strides = _pair(cfg.get("strides", 1), "stride", name)
    if _pair(cfg.get("dilation_rate", 1), "dilation", name) != (1, 1):
        raise UnsupportedModel(f"layer '{name}' (Conv2D) is dilated: dilation_rate 1 is supported")
    if cfg.get("groups", 1) != 1:
        raise UnsupportedModel(f"layer '{name}' (Conv2D) is grouped: groups=1 is supported")
    padding = cfg.get("padding", "valid").lower()
    if padding not in ("same", "valid"):
        raise UnsupportedModel(f"layer '{name}' (Conv2D) uses padding={padding!r}: 'same' or 'valid' is supported")
    (h, pad_h), (w, pad_w) = (_out_size(in_shape[i], kernel[i], strides[i], padding) for i in (0, 1))
    if h < 1 or w < 1:
        raise UnsupportedModel(f"layer '{name}' (Conv2D) gets {in_shape[0]}x{in_shape[1]} maps, smaller than its {kernel[0]}x{kernel[1]} kernel")
    filters, use_bias = int(cfg["filters"]), cfg.get("use_bias", True)
    arrays = _float32(e.get_weights(name))
    weights = {"kernel": arrays[0], "bias": arrays[1] if use_bias else np.zeros(filters, np.float32)}
    activation = _activation_name(cfg.get("activation"), name)
    params = {"filters": filters, "kernel": list(kernel), "strides": list(strides), "padding": padding, "pad": [*pad_h, *pad_w], "use_bias": bool(use_bias)}
    count = sum(a.size for a in arrays)
    steps = [e.step("conv", (h, w, filters), params, count, weights)]
    if activation != "linear":
        steps.append(e.step("activation", (h, w, filters), {"activation": activation, "fused": True}, step_name=f"{name}/{activation}", inputs=name))
    return steps


def _pooling2d(e: _Entry) -> list:
    """MaxPooling2D or AveragePooling2D: a maxpool or avgpool step."""
    cfg, name, in_shape = e.cfg, e.name, e.in_shape
    e.need_maps()
    e.channels_last()
    pool = _pair(cfg.get("pool_size", 2), "pool size", name)
    strides = _pair(cfg.get("strides") or pool, "stride", name)
    padding = cfg.get("padding", "valid").lower()
    (h, pad_h), (w, pad_w) = (_out_size(in_shape[i], pool[i], strides[i], padding) for i in (0, 1))
    if h < 1 or w < 1:
        raise UnsupportedModel(f"layer '{name}' ({e.cls}) gets {in_shape[0]}x{in_shape[1]} maps, smaller than its {pool[0]}x{pool[1]} window")
    kind = "maxpool" if e.cls == "MaxPooling2D" else "avgpool"
    params = {"pool": list(pool), "strides": list(strides), "padding": padding, "pad": [*pad_h, *pad_w]}
    return [e.step(kind, (h, w, in_shape[2]), params)]


def _batch_normalization(e: _Entry) -> list:
    """A batchnorm step; a missing gamma (scale=False) or beta (center=False) is filled in."""
    cfg, name, in_shape = e.cfg, e.name, e.in_shape
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if axis not in (-1, len(in_shape)):
        raise UnsupportedModel(f"layer '{name}' (BatchNormalization) normalises axis {axis}: the channel (last) axis is supported")
    if cfg.get("renorm"):
        raise UnsupportedModel(f"layer '{name}' (BatchNormalization) uses renorm, which is not supported")
    arrays = _float32(e.get_weights(name))
    size = in_shape[-1]
    values = list(arrays)
    gamma = values.pop(0) if cfg.get("scale", True) else np.ones(size, np.float32)
    beta = values.pop(0) if cfg.get("center", True) else np.zeros(size, np.float32)
    mean, variance = values
    weights = {"gamma": gamma, "beta": beta, "moving_mean": mean, "moving_variance": variance}
    params = {"epsilon": float(cfg.get("epsilon", 1e-3)), "scale": bool(cfg.get("scale", True)), "center": bool(cfg.get("center", True))}
    return [e.step("batchnorm", in_shape, params, sum(a.size for a in arrays), weights)]


def _activation(e: _Entry) -> list:
    """An Activation layer: an activation step."""
    return [e.step("activation", e.in_shape, {"activation": _activation_name(e.cfg.get("activation"), e.name)})]


def _relu(e: _Entry) -> list:
    """A plain ReLU layer: a relu activation step."""
    cfg = e.cfg
    if cfg.get("max_value") is not None or cfg.get("negative_slope", 0) or cfg.get("threshold", 0):
        raise UnsupportedModel(f"layer '{e.name}' (ReLU) has a max_value, negative_slope or threshold: plain ReLU is supported")
    return [e.step("activation", e.in_shape, {"activation": "relu"})]


def _softmax(e: _Entry) -> list:
    """A Softmax layer over the last axis: a softmax activation step."""
    axis = e.cfg.get("axis", -1)
    if axis not in (-1, [-1], len(e.in_shape)):
        raise UnsupportedModel(f"layer '{e.name}' (Softmax) works over axis {axis}: the last axis is supported")
    return [e.step("activation", e.in_shape, {"activation": "softmax"})]


def _dropout(e: _Entry) -> list:
    """A dropout step (a no-op when predicting)."""
    return [e.step("dropout", e.in_shape, {"rate": float(e.cfg.get("rate", 0.0))})]


def _flatten(e: _Entry) -> list:
    """A flatten step: the maps as one vector."""
    e.channels_last()
    return [e.step("flatten", (int(np.prod(e.in_shape)),), {})]


def _global_average_pooling2d(e: _Entry) -> list:
    """A gap step: each map's mean."""
    e.need_maps()
    e.channels_last()
    if e.cfg.get("keepdims"):
        raise UnsupportedModel(f"layer '{e.name}' (GlobalAveragePooling2D) keeps its dimensions: keepdims=False is supported")
    return [e.step("gap", (e.in_shape[2],), {})]


def _dense(e: _Entry) -> list:
    """A dense step; its activation is a param, not a step of its own."""
    cfg, name = e.cfg, e.name
    if len(e.in_shape) != 1:
        raise UnsupportedModel(f"layer '{name}' (Dense) gets maps of shape {e.in_shape}: put a Flatten or GlobalAveragePooling2D before it")
    units, use_bias = int(cfg["units"]), cfg.get("use_bias", True)
    arrays = _float32(e.get_weights(name))
    weights = {"kernel": arrays[0], "bias": arrays[1] if use_bias else np.zeros(units, np.float32)}
    activation = _activation_name(cfg.get("activation"), name)
    params = {"units": units, "activation": activation, "use_bias": bool(use_bias)}
    return [e.step("dense", (units,), params, sum(a.size for a in arrays), weights)]


_PARSERS = {
    "Conv2D": _conv2d,
    "MaxPooling2D": _pooling2d,
    "AveragePooling2D": _pooling2d,
    "BatchNormalization": _batch_normalization,
    "Activation": _activation,
    "ReLU": _relu,
    "Softmax": _softmax,
    "Dropout": _dropout,
    "Flatten": _flatten,
    "GlobalAveragePooling2D": _global_average_pooling2d,
    "Dense": _dense,
}


def _parse_layer(entry, input_step, in_shape, get_weights) -> list:
    """One Keras layer → one or two steps (dicts with the Layer fields but the explanation)."""
    cls, cfg = entry["class_name"], entry["config"]
    name = cfg["name"]
    parser = _PARSERS.get(cls)
    if parser is None:
        raise UnsupportedModel(f"layer '{name}' is a {cls}, which is not supported")  # pragma: no cover
    return parser(_Entry(cls, cfg, name, input_step, in_shape, get_weights))
