import numpy as np
import pytest

from model.fields import receptive_fields
from model.network import DEFAULT_MODEL_PATH
from model.parse_layers import describe_file

TUTORIAL = describe_file(DEFAULT_MODEL_PATH)
FIELDS = receptive_fields(TUTORIAL)


def receptive_field(layer, row, col):
    return FIELDS[layer].box(row, col)


def test_field_sizes_and_jumps_of_the_tutorials_network():
    """Read from its file (model/fields.py): 2x2 "same" convs pad after the input only, so
    a unit's field starts at its own position."""
    assert {name: (field.jump[0], field.size[0]) for name, field in FIELDS.items()} == {
        "conv1": (1, 2), "relu1": (1, 2), "pool1": (2, 3),
        "conv2": (2, 5), "relu2": (2, 5), "pool2": (4, 7),
    }
    assert all(field.start == (0, 0) and field.jump[0] == field.jump[1] for field in FIELDS.values())


def test_fields_are_clipped_at_the_bottom_right_edge():
    assert receptive_field("conv1", 27, 27) == (27, 27, 27, 27)
    assert receptive_field("pool2", 6, 6) == (24, 24, 27, 27)
    assert receptive_field("conv2", 3, 5) == (6, 10, 10, 14)


@pytest.mark.parametrize("layer, shape", [("conv1", 28), ("pool1", 14), ("conv2", 14), ("pool2", 7)])
def test_a_unit_changes_only_when_its_field_changes(network, layer, shape):
    """Perturb pixels outside a unit's field: the unit keeps its value; inside: it moves."""
    rng = np.random.default_rng(0)
    image = rng.random((28, 28)).astype(np.float32)
    for row, col in [(0, 0), (shape // 2, shape // 3), (shape - 1, shape - 1)]:
        top, left, bottom, right = receptive_field(layer, row, col)
        outside = image.copy()
        mask = np.ones((28, 28), bool)
        mask[top : bottom + 1, left : right + 1] = False
        outside[mask] = rng.random(mask.sum())
        inside = image.copy()
        inside[top : bottom + 1, left : right + 1] += 5.0
        base, moved_out, moved_in = (network.run(x[None])[layer][0, row, col] for x in (image, outside, inside))
        np.testing.assert_allclose(moved_out, base, atol=1e-5)
        assert np.abs(moved_in - base).max() > 1e-3
