"""The content domains' procedural image families: seeded, of the asked size, and
told apart by a plain statistic (so a person looking at them can tell them apart too)."""

import numpy as np
import pytest

from aaas.images import DOMAIN_IMAGES, domain_image


@pytest.mark.parametrize("domain", sorted(DOMAIN_IMAGES))
@pytest.mark.parametrize("size", [32, 64, 256])
def test_family_is_seeded_and_sized(domain: str, size: int) -> None:
    a = domain_image(domain, np.random.default_rng(7), size)
    b = domain_image(domain, np.random.default_rng(7), size)
    assert a.shape == (size, size, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, domain_image(domain, np.random.default_rng(8), size))


def test_families_differ_where_a_person_would_look() -> None:
    """Scenes have a blue sky on top and a green-brown field below; faces have a
    skin-toned centre; the generic family has neither."""
    def stats(domain: str) -> tuple[float, float]:
        imgs = [domain_image(domain, np.random.default_rng(i), 64).astype(float)
                for i in range(20)]
        sky_blue = np.mean([im[:8, :, 2].mean() - im[:8, :, 0].mean() for im in imgs])
        centre_warm = np.mean([im[28:40, 24:40, 0].mean() - im[28:40, 24:40, 2].mean()
                               for im in imgs])
        return float(sky_blue), float(centre_warm)
    places, faces = stats("places"), stats("faces")
    assert places[0] > 60 and places[0] > faces[0] + 40
    assert faces[1] > 30 and faces[1] > places[1] + 20


def test_unknown_domain_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="faces, generic, places"):
        domain_image("cats", np.random.default_rng(0))
