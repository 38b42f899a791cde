import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from model.preprocess import (
    MAX_IMAGE_PIXELS,
    MAX_POINTS,
    EmptyDrawing,
    PreprocessError,
    check_shape,
    image_to_input,
    rasterise,
    strokes_to_input,
)
from tests.drawings import ONE, SEVEN, decompression_bomb, photo_of, png_bytes

ROWS = np.arange(28)


def centre_of_mass(image):
    total = image.sum()
    return (image.sum(axis=1) @ ROWS) / total, (image.sum(axis=0) @ ROWS) / total


def ink_box(image, level=0.05):
    rows = np.flatnonzero((image > level).any(axis=1))
    cols = np.flatnonzero((image > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_output_is_mnist_shaped(pen_test_samples):
    image = strokes_to_input(pen_test_samples[0]["strokes"])
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.9
    # White ink on black: the border is background.
    assert image[0].max() == 0 and image[:, 0].max() == 0


def test_centre_of_mass_within_half_a_pixel(pen_test_samples):
    for sample in pen_test_samples[:100]:
        cy, cx = centre_of_mass(strokes_to_input(sample["strokes"]))
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5, (sample["label"], cy, cx)


def test_longest_side_is_twenty_pixels(pen_test_samples):
    for sample in pen_test_samples[:50]:
        assert max(ink_box(strokes_to_input(sample["strokes"]), level=0.0)) in (19, 20, 21)


def test_a_one_stays_thin_and_tall():
    height, width = ink_box(strokes_to_input(ONE))
    assert height >= 19 and width <= 5


def test_single_dot_is_a_centred_blob():
    image = strokes_to_input([[[3.0, 4.0]]])
    cy, cx = centre_of_mass(image)
    assert image.max() > 0.9 and abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


@pytest.mark.parametrize("scale, shift", [(1e5, 1e8), (1.0, -5e8), (-1.0, 0.0), (1e-6, -3.0)])
def test_position_and_units_do_not_matter(scale, shift):
    base = strokes_to_input(SEVEN)
    moved = [[[x * abs(scale) + shift, y * abs(scale) + shift] for x, y in s] for s in SEVEN]
    if scale < 0:  # negative coordinates, same shape
        moved = [[[x - 1000, y - 1000] for x, y in s] for s in SEVEN]
    np.testing.assert_allclose(strokes_to_input(moved), base, atol=0.02)


@pytest.mark.parametrize("strokes", [[], [[]], [[], []]])
def test_empty_drawing_says_nothing_drawn(strokes):
    with pytest.raises(EmptyDrawing, match="nothing drawn"):
        strokes_to_input(strokes)


@pytest.mark.parametrize(
    "strokes, message",
    [
        ([[[1.0, float("nan")]]], "NaN"),
        ([[[float("inf"), 1.0]]], "finite"),
        ([[[1, "2"]]], "numbers"),
        ([[[1, None]]], "numbers"),
        ([[[True, False]]], "numbers"),
        ([[[1, 2, 3]]], r"pair \[x, y\]"),
        ([[[1, [2]]]], r"pair \[x, y\]"),
        ([[1, 2]], r"pair \[x, y\]"),
        ([["ab"]], r"pair \[x, y\]|numbers"),
        ("strokes", "list of strokes"),
        ({"x": 1}, "list of strokes"),
        ([5], r"stroke 0 must be a list"),
        ([[[1e300, 0]]], "coordinates beyond"),
        ([[[0, 0]] * (MAX_POINTS + 1)], "too many points"),
    ],
)
def test_bad_strokes_are_named(strokes, message):
    with pytest.raises(PreprocessError, match=message):
        strokes_to_input(strokes)


def test_raster_pen_width_follows_drawing_size():
    small = rasterise([[[0, 0], [0, 10]]])
    large = rasterise([[[0, 0], [0, 10_000]]])
    assert small.shape == large.shape


def test_photo_of_digit_on_paper_matches_drawing(pen_test_samples, network):
    hits = 0
    samples = pen_test_samples[:40]
    for i, sample in enumerate(samples):
        image = image_to_input(photo_of(sample["strokes"], seed=i))
        cy, cx = centre_of_mass(image)
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
        hits += int(network.predict(image[None]).argmax()) == sample["label"]
    assert hits >= 0.9 * len(samples)


def test_white_on_black_image_is_used_as_is():
    image = np.zeros((100, 100), np.uint8)
    image[20:80, 48:53] = 255
    height, width = ink_box(image_to_input(png_bytes(image)))
    assert height >= 19 and width <= 5


def test_blank_picture_is_nothing_drawn():
    with pytest.raises(EmptyDrawing):
        image_to_input(png_bytes(np.full((50, 50), 240)))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"not an image at all", "not an image"),
        (b"", "not an image"),
        (b"GIF89a" + bytes(50), "not an image|unsupported"),
        (decompression_bomb(), "too large"),
    ],
)
def test_bad_pictures_are_refused(data, message):
    with pytest.raises(PreprocessError, match=message):
        image_to_input(data)


def test_truncated_png_is_refused():
    with pytest.raises(PreprocessError):
        image_to_input(png_bytes(np.full((64, 64), 200))[:60])


@pytest.mark.parametrize("strokes", [[[[0, 0], [1e-310, 1e-315]]], [[[0, 0], [0, 1e-320]]], [[[5, 5], [5, 5 + 1e-12]]]])
def test_a_drawing_too_small_to_scale_is_a_dot(strokes):
    np.testing.assert_array_equal(strokes_to_input(strokes), strokes_to_input([[[3.0, 4.0]]]))


@pytest.mark.parametrize(
    "strokes, message",
    [
        ("strokes", "list of strokes"),
        ([(0, 0)], "stroke 0 must be a list"),
        ([[[0, 0]], 5], "stroke 1 must be a list"),
        ([[[[[0, 0]]]]], r"stroke 0: every point must be a pair"),  # nested deeper than a point
        ([[[0, 0], [1]]], r"pair \[x, y\]"),
        ([[[True, 0]]], "numbers"),
        ([[[0, "1"]]], "numbers"),
        ([[[0, None]]], "numbers"),
        ([[[0, 0]] * 6000, [[0, 0]] * 6000], "too many points"),
    ],
)
def test_check_shape_names_what_is_wrong(strokes, message):
    with pytest.raises(PreprocessError, match=message):
        check_shape(strokes)


def test_check_shape_passes_drawings_and_raises_the_callers_error(pen_test_samples):
    for sample in pen_test_samples[:50]:
        assert check_shape([[list(point) for point in stroke] for stroke in sample["strokes"]])
    assert check_shape([]) == [] and check_shape([[]]) == [[]]

    class Mine(ValueError):
        pass

    with pytest.raises(Mine, match="numbers"):
        check_shape([[[0, float]]], Mine)


def test_picture_size_limit_admits_a_phone_photo_and_refuses_more():
    phone = Image.new("L", (4032, 3024), 250)  # a 12 MP photo
    ImageDraw.Draw(phone).line([(2000, 800), (2000, 2200)], fill=20, width=120)
    buffer = io.BytesIO()
    phone.save(buffer, "PNG")
    height, width = ink_box(image_to_input(buffer.getvalue()))
    assert height >= 19 and width <= 8  # read as the tall stroke it shows
    with pytest.raises(PreprocessError, match=f"at most {MAX_IMAGE_PIXELS:,}"):
        image_to_input(png_bytes(np.zeros((4000, 4001))))  # 16,004,000 pixels
