"""The modeled backend inpaints only around the hole: the same pixels as the whole image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from aaas.images import random_mask, synthetic_image
from edge_node.backends import classical_inpaint


def _whole_image(image: np.ndarray, mask: np.ndarray, radius: int) -> np.ndarray:
    out = cv2.inpaint(np.ascontiguousarray(image), mask.astype(np.uint8) * 255, radius,
                      cv2.INPAINT_TELEA)
    out[~mask] = image[~mask]
    return np.asarray(out, dtype=np.uint8)


@pytest.mark.parametrize("radius", [1, 3, 5])
def test_cropped_inpainting_gives_the_whole_images_pixels(radius: int) -> None:
    rng = np.random.default_rng(radius)
    for i in range(120):
        size = int(rng.choice([16, 32, 64, 100]))
        image = synthetic_image(rng, size)
        if i % 3 == 0:  # scattered holes, touching the borders
            mask = rng.random((size, size)) < float(rng.uniform(0.01, 0.2))
        else:  # the users' rectangles, anywhere (corners and edges included)
            mask = random_mask(rng, size, fraction=float(rng.uniform(0.02, 0.6)))
        np.testing.assert_array_equal(classical_inpaint(image, mask, radius),
                                      _whole_image(image, mask, radius), err_msg=f"case {i}")


def test_no_hole_leaves_the_image_as_it_is() -> None:
    image = synthetic_image(np.random.default_rng(0), 32)
    out = classical_inpaint(image, np.zeros((32, 32), dtype=bool))
    np.testing.assert_array_equal(out, image)
    assert out is not image
