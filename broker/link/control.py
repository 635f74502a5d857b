"""Changing a user's channel at run time over MQTT (toxiproxy's API, as a control topic).

Publish a :class:`LinkUpdate` (JSON) to ``aaas/v1/link/{user_id}/set``: the
fields given replace those of the user's profile from its next packet on
(nothing in flight is dropped), and ``outage_s`` holds both directions for that
many emulated seconds (a long one closes the connection, as TCP would).
"""

from __future__ import annotations

from typing import Any

import msgspec

from aaas import ROOT, SCHEMA_VERSION, TopicTemplate

__all__ = ["LINK_CONTROL", "LinkUpdate"]

LINK_CONTROL = TopicTemplate(f"{ROOT}/link/{{user_id}}/set")
"""Control topic of one user's link (QoS 1, not retained)."""


class LinkUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A change to one user's link."""

    v: int = SCHEMA_VERSION
    """Schema version of the payload."""
    profile: dict[str, Any] = {}
    """LinkProfile fields to change, e.g. {"distance_m": 300, "fading": "rician"}."""
    outage_s: float | None = None
    """Start an outage of this many emulated seconds now."""
    reset: bool = False
    """Go back to the user's profile from the scenario before applying ``profile``."""
