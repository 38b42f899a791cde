"""What the page is told about one network, all from its description (model/description.py):
the layer table with each layer's receptive field, every conv layer's filters laid out as
small images, and the top patches from the file beside the model. No layer is named here."""
import math
from pathlib import Path

import numpy as np

from model import top_patches as top
from model.description import NetworkDescription
from model.fields import receptive_fields
from model.forward import batchnorm_affine  # the forward pass's own numbers; the page shows a unit's sum and derives batchnorm maps with them

from . import frames


def architecture(description: NetworkDescription) -> list:
    """Every layer (shown or not) as the page reads it: the description's own entry, its
    receptive field (maps only), and the names the frame gives it and the layer its maps
    are shown at (flatten and dropout have none of their own)."""
    fields = receptive_fields(description)
    short = dict(zip(description.shown_names, frames.frame_names(description.shown_names)))
    layers = []
    for layer in description.layers:
        entry = layer.to_json()
        entry["frame_name"] = short.get(layer.name)
        entry["shown_at"] = short[layer.shows_as]
        entry["field"] = fields[layer.name].to_json() if layer.name in fields else None
        entry["in_shape"] = list(description.shape_of(layer.inputs[0]))
        if layer.kind == "batchnorm":
            entry["scale"], entry["shift"] = batchnorm_affine(layer)
        layers.append(entry)
    return layers


def grid_columns(inputs: int) -> int:
    """Columns of the block grid a conv filter's input maps are laid out in: about 3:2 wide
    (24 input maps: 6 columns of 4 rows)."""
    return max(1, min(inputs, math.ceil(math.sqrt(1.5 * inputs))))


def kernels(description: NetworkDescription) -> dict:
    """Each conv layer's filters, by the layer's frame name, as small images with the bias.

    A filter has kh x kw weights for each of its C input maps, laid out as a grid of
    kh x kw blocks, `grid_columns(C)` blocks a row (input map c at block row c // columns,
    column c % columns). Values stay float32: written as the shortest decimal that reads
    back as the same float32, and the page rounds each back with Math.fround, so it has the
    very numbers the server computes with.
    """
    short = dict(zip(description.shown_names, frames.frame_names(description.shown_names)))
    out = {}
    for layer in description.layers:
        if layer.kind != "conv" or layer.name not in short:
            continue
        kernel, bias = layer.weights["kernel"], layer.weights["bias"]
        kh, kw, inputs, filters = kernel.shape
        cols = grid_columns(inputs)
        rows = math.ceil(inputs / cols)
        images = np.zeros((filters, kh * rows, kw * cols), np.float32)
        for c in range(inputs):
            r, q = divmod(c, cols)
            images[:, kh * r : kh * r + kh, kw * q : kw * q + kw] = kernel[:, :, c, :].transpose(2, 0, 1)
        p = layer.params
        out[short[layer.name]] = {
            "height": kh * rows,
            "width": kw * cols,
            "size": [kh, kw],
            "inputs": inputs,
            "columns": cols,
            "strides": p["strides"],
            "pad": p["pad"],  # top, bottom, left, right
            "source": short.get(layer.inputs[0]),  # None: the input (or a layer not shown)
            "values": np.ascontiguousarray(images.reshape(filters, -1)),  # exact: the page works sums out with them
            "bias": np.ascontiguousarray(bias, np.float32),
        }
    return out


def top_patch_file(model_path) -> dict:
    """layer → its parts, from the file `python -m model.top_patches` writes beside the
    model; none if it is missing. Read once, at start."""
    path = Path(model_path).with_name(top.DEFAULT_OUTPUT.name)
    return top.load(path) if path.exists() else {}


def top_patches(parts_by_layer) -> dict:
    """The 9 MNIST test patches that excite each conv layer's channels most, as grey levels
    0-255 (they are crops of MNIST's 8-bit images), from `top_patch_file`'s parts.
    With each patch, the unit (`unit_rows`, `unit_cols`) whose field it is; the whole digits
    the patches were cut from are asked for one channel at a time (webapp/top_digits.py)."""
    out = {}
    for name, parts in parts_by_layer.items():
        patches = parts["patches"]  # (channels, 9, rows, cols)
        grey = np.rint(np.clip(patches, 0, 1) * 255).astype(np.uint8)
        out[name] = {
            "size": int(patches.shape[-1]),
            "rows": int(patches.shape[-2]),
            "patches": np.ascontiguousarray(grey.reshape(*patches.shape[:2], -1)),
            "unit_rows": parts["rows"],  # the unit whose field each patch is
            "unit_cols": parts["cols"],
        }
        out[name]["in_digits"] = "digits" in parts  # the digits themselves: top_digits.py, per channel
    return out


def top_digits(parts_by_layer) -> dict:
    """layer → (channels, 9, h, w) uint8: the whole digits each channel's patches were cut from."""
    return {name: parts["digits"] for name, parts in parts_by_layer.items() if "digits" in parts}


def network_json(description: NetworkDescription) -> dict:
    """The page's static data about the network (`/network/<digest>.json`)."""
    return {
        "name": description.name,
        "input": {"name": description.input_name, "shape": list(description.input_shape)},
        "classes": description.classes,
        "param_count": description.param_count,
        "shown": list(frames.frame_names(description.shown_names)),
        "architecture": architecture(description),
        "kernels": kernels(description),
    }
