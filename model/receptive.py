"""Which input pixels each unit of each feature layer sees: its receptive field."""
from .architecture import FEATURE_LAYERS, INPUT_SHAPE

# (kernel, stride) of every layer that changes the field; ReLU keeps it.
_FIELD_CHANGES = {"conv1": (2, 1), "pool1": (2, 2), "conv2": (2, 1), "pool2": (2, 2)}


def receptive_fields():
    """layer name → (jump, size): unit (r, c) sees input rows r*jump .. r*jump + size - 1,
    likewise for columns. Keras' "same" padding for an even kernel pads bottom and right
    only, so a field starts at the unit's own position."""
    jump, size, fields = 1, 1, {}
    for name in FEATURE_LAYERS:
        kernel, stride = _FIELD_CHANGES.get(name, (1, 1))
        size += (kernel - 1) * jump
        jump *= stride
        fields[name] = (jump, size)
    return fields


def receptive_field(layer, row, col):
    """(top, left, bottom, right) input pixels, inclusive, clipped to the 28x28 image."""
    jump, size = receptive_fields()[layer]
    last = INPUT_SHAPE[0] - 1
    return row * jump, col * jump, min(row * jump + size - 1, last), min(col * jump + size - 1, last)
