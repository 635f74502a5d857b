"""The link control topic's typed profile (aaas.LinkProfilePatch) mirrors what the link accepts."""

from __future__ import annotations

import dataclasses

from aaas import GilbertPatch, LinkProfilePatch, LinkUpdate, decode
from link import LinkProfile
from link.channel import GilbertParams
from link.profile import LEGACY_FADING_KEYS


def test_the_patch_has_a_field_for_every_link_profile_field_and_no_other() -> None:
    # When LinkProfile gains a key (a field, or a setting of a fault struct it holds:
    # LinkProfile.keys(), the flat keys of a [link] profile), the control topic must learn it too.
    assert set(LinkProfilePatch.__struct_fields__) == set(LinkProfile.keys()) | set(
        LEGACY_FADING_KEYS)
    assert set(GilbertPatch.__struct_fields__) == {f.name for f in
                                                   dataclasses.fields(GilbertParams)}


def test_a_decoded_update_applies_to_a_profile() -> None:
    raw = (b'{"v":1,"profile":{"snr_db":null,"distance_m":120,"fading":"Rician",'
           b'"mtu_bytes":500,"gilbert":{"loss_bad":0.4}}}')
    base = LinkProfile(snr_db=25.0)
    prof = base.replace(**decode(raw, LinkUpdate).profile.changes())
    assert (prof.snr_db, prof.distance_m, prof.fading, prof.arq.mtu_bytes) == (None, 120.0,
                                                                                "rician", 500)
    assert prof.gilbert == GilbertParams(loss_bad=0.4)
    assert prof.modulation == base.modulation


def test_an_update_takes_a_fading_model_as_a_table() -> None:
    raw = b'{"v":1,"profile":{"fading":{"model":"rician","k":8}}}'
    prof = LinkProfile().replace(**decode(raw, LinkUpdate).profile.changes())
    assert prof.fading.as_table() == {"model": "rician", "k": 8}
