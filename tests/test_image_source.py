"""The users' images: drawn from a pool made on first use, masks new for every task."""

from __future__ import annotations

import numpy as np
import pytest

from aaas import parse_scenario
from user_agent import ImageSource


def _draw(source: ImageSource, n: int) -> tuple[list[bytes], list[bytes]]:
    images, masks = [], []
    for _ in range(n):
        clean, mask = source.next()
        images.append(clean.tobytes())
        masks.append(mask.tobytes())
    return images, masks


def test_images_come_from_the_pool_and_masks_are_new() -> None:
    images, masks = _draw(ImageSource(size=16, rng=np.random.default_rng(1), pool=4), 60)
    assert len(set(images)) <= 4
    assert len(set(masks)) > 30
    # The same seed draws the same images and masks (a run is reproducible).
    assert (images, masks) == _draw(ImageSource(size=16, rng=np.random.default_rng(1),
                                                pool=4), 60)


def test_a_pooled_image_cannot_be_changed_by_its_user() -> None:
    source = ImageSource(size=16, rng=np.random.default_rng(2), pool=1)
    clean, _ = source.next()
    with pytest.raises(ValueError, match="read-only"):
        clean[0, 0] = 0
    damaged = clean.copy()  # what the user agent does
    damaged[:] = 0
    assert source.next()[0].any()


def test_no_pool_makes_a_new_image_every_time() -> None:
    images, _ = _draw(ImageSource(size=16, rng=np.random.default_rng(3), pool=0), 40)
    assert len(set(images)) == 40


def test_noise_is_new_for_every_task_even_from_the_pool() -> None:
    images, _ = _draw(ImageSource(size=16, rng=np.random.default_rng(4), pool=1, noise=8.0), 10)
    assert len(set(images)) == 10


def test_the_scenario_sets_the_pool_within_bounds() -> None:
    assert parse_scenario({"name": "p", "limits": {"image_pool": 0}}).limits.image_pool == 0
    assert parse_scenario({"name": "p"}).limits.image_pool == 256
    with pytest.raises(Exception, match="image_pool"):
        parse_scenario({"name": "p", "limits": {"image_pool": -1}})
