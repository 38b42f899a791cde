"""Which input pixels each unit of each spatial layer reads (its receptive field), derived
from the description: no layer is named here.

Along each axis a layer's unit i sees input pixels start + i·jump … start + i·jump + size − 1
(before clipping). A convolution or pool with window k, stride s and padding
p before it turns the field of its input (jump, size, start) into
(jump·s, size + (k − 1)·jump, start − p·jump); activations, batch normalisation and
dropout keep it. Keras' "same" padding puts the odd pixel at the bottom/right, so a 2×2
"same" conv starts at the unit's own position (start 0) and a 3×3 one a pixel before it.
`Field.box` gives a unit's exact pixels: it walks the layers back, clipping at each one,
since a window over an inner layer's padding reads nothing there.
"""
from __future__ import annotations

from dataclasses import dataclass

from .description import NetworkDescription


@dataclass(frozen=True)
class Field:
    jump: tuple  # (rows, columns): input pixels between neighbouring units
    size: tuple  # (rows, columns) of input pixels one unit sees, padding included
    start: tuple  # (row, column) of unit (0, 0)'s first pixel; negative inside the padding
    # Per axis, from the input up: (window, stride, padding before, input size) of every
    # layer that changes the field. `box` walks it back, clipping at each layer, so a
    # window that hangs over an inner layer's padding does not claim pixels nothing reads.
    path: tuple = ((), ())

    def box(self, row, col, input_shape=None):
        """(top, left, bottom, right) input pixels, inclusive, that unit (row, col) reads."""
        top, bottom = _walk_back(row, self.path[0])
        left, right = _walk_back(col, self.path[1])
        return top, left, bottom, right

    def to_json(self) -> dict:
        return {"jump": list(self.jump), "size": list(self.size), "start": list(self.start), "path": [[list(s) for s in axis] for axis in self.path]}


def _walk_back(index, path):
    low = high = index
    for window, stride, before, size in reversed(path):
        low = max(low * stride - before, 0)
        high = min(high * stride - before + window - 1, size - 1)
    return low, high


def receptive_fields(description: NetworkDescription) -> dict:
    """Layer name → Field, for every layer with maps (shown or not), in layer order."""
    fields = {description.input_name: Field((1, 1), (1, 1), (0, 0))}
    out = {}
    for layer in description.layers:
        if not layer.spatial:
            continue
        field = fields[layer.inputs[0]]
        if layer.kind in ("conv", "maxpool", "avgpool"):
            window = layer.params["kernel"] if layer.kind == "conv" else layer.params["pool"]
            strides, pad = layer.params["strides"], layer.params["pad"]
            before = (pad[0], pad[2])
            in_shape = description.shape_of(layer.inputs[0])
            field = Field(
                jump=tuple(field.jump[a] * strides[a] for a in (0, 1)),
                size=tuple(field.size[a] + (window[a] - 1) * field.jump[a] for a in (0, 1)),
                start=tuple(field.start[a] - before[a] * field.jump[a] for a in (0, 1)),
                path=tuple(field.path[a] + ((window[a], strides[a], before[a], in_shape[a]),) for a in (0, 1)),
            )
        fields[layer.name] = out[layer.name] = field
    return out


def receptive_field(description: NetworkDescription, layer: str, row: int, col: int, fields: dict = None):
    """(top, left, bottom, right) input pixels, inclusive, that unit (row, col) of `layer`
    reads (the image's and every inner layer's padding left out)."""
    fields = fields or receptive_fields(description)
    return fields[layer].box(row, col)
