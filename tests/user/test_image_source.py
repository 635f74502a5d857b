"""The users' content: image and mask pairs drawn from a pool made on first use, encoded
once; noise (and, without a pool, everything) new for every task."""

from __future__ import annotations

import numpy as np
import pytest

from aaas import parse_scenario
from aaas.images import decode_image, decode_mask
from user_agent import ImageSource


def _draw(source: ImageSource, n: int) -> tuple[list[bytes], list[bytes]]:
    images, masks = [], []
    for _ in range(n):
        clean, mask = source.next()
        images.append(clean.tobytes())
        masks.append(mask.tobytes())
    return images, masks


def test_images_and_masks_come_from_the_pool_in_pairs() -> None:
    images, masks = _draw(ImageSource(size=16, rng=np.random.default_rng(1), pool=4), 60)
    assert len(set(images)) == 4
    assert len(set(zip(images, masks, strict=True))) == 4  # each image keeps its mask
    # The same seed draws the same pairs (a run is reproducible).
    assert (images, masks) == _draw(ImageSource(size=16, rng=np.random.default_rng(1),
                                                pool=4), 60)


def test_pooled_content_is_encoded_once_and_decodes_to_the_damaged_image() -> None:
    source = ImageSource(size=16, rng=np.random.default_rng(5), pool=3)
    drawn = [source.content() for _ in range(30)]
    assert len({id(png) for _, png, _ in drawn}) == 3  # the same bytes object: encoded once
    for clean, image_png, mask_png in drawn:
        mask = decode_mask(mask_png)
        damaged = clean.copy()
        damaged[mask] = 0
        np.testing.assert_array_equal(decode_image(image_png), damaged)
        assert mask.any() and not mask.all()
    # content() and next() draw the same pairs from the same seed.
    again = ImageSource(size=16, rng=np.random.default_rng(5), pool=3)
    for clean, _, mask_png in drawn[:10]:
        c, m = again.next()
        np.testing.assert_array_equal(c, clean)
        np.testing.assert_array_equal(m, decode_mask(mask_png))


def test_a_pooled_image_cannot_be_changed_by_its_user() -> None:
    source = ImageSource(size=16, rng=np.random.default_rng(2), pool=1)
    clean, _ = source.next()
    with pytest.raises(ValueError, match="read-only"):
        clean[0, 0] = 0
    damaged = clean.copy()  # what the user agent does
    damaged[:] = 0
    assert source.next()[0].any()


def test_no_pool_makes_a_new_image_and_mask_every_time() -> None:
    images, masks = _draw(ImageSource(size=16, rng=np.random.default_rng(3), pool=0), 40)
    assert len(set(images)) == 40
    assert len(set(masks)) > 20  # (a 16-pixel image has 81 places for the hole)
    source = ImageSource(size=16, rng=np.random.default_rng(3), pool=0)
    assert len({source.content()[1] for _ in range(40)}) == 40


def test_noise_is_new_for_every_task_even_from_the_pool() -> None:
    images, _ = _draw(ImageSource(size=16, rng=np.random.default_rng(4), pool=1, noise=8.0), 10)
    assert len(set(images)) == 10
    source = ImageSource(size=16, rng=np.random.default_rng(4), pool=1, noise=8.0)
    assert len({source.content()[1] for _ in range(10)}) == 10


def test_the_scenario_sets_the_pool_within_bounds() -> None:
    assert parse_scenario({"name": "p", "limits": {"image_pool": 0}}).limits.image_pool == 0
    assert parse_scenario({"name": "p"}).limits.image_pool == 256
    with pytest.raises(Exception, match="image_pool"):
        parse_scenario({"name": "p", "limits": {"image_pool": -1}})
