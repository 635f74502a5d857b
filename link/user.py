"""A user's link: its profile and one channel per direction, kept across reconnects."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from .direction import DirectionChannel
from .profile import LinkProfile

__all__ = ["UserLink"]


@dataclass(kw_only=True)
class UserLink:
    """Both directions of one user's channel."""

    user_id: str
    profile: LinkProfile
    seed: int
    """Base seed of the proxy; the user's generators depend only on it and the user id."""
    up: DirectionChannel = field(init=False)
    down: DirectionChannel = field(init=False)

    def __post_init__(self) -> None:
        key = zlib.crc32(self.user_id.encode())
        self.up = DirectionChannel(profile=self.profile, uplink=True,
                                   rng=np.random.default_rng([self.seed, key, 0]))
        self.down = DirectionChannel(profile=self.profile, uplink=False,
                                     rng=np.random.default_rng([self.seed, key, 1]))

    def perfect(self, now: float) -> bool:
        """Whether packets at emulated *now* pass untouched (perfect profile, no forced outage)."""
        return (self.profile.is_perfect and self.up.forced_until <= now
                and self.down.forced_until <= now)

    def reconfigure(self, profile: LinkProfile) -> None:
        """New channel from the next packet on; packets already on the air are not touched."""
        self.profile = profile
        self.up.reconfigure(profile)
        self.down.reconfigure(profile)

    def force_outage(self, until: float) -> None:
        """Hold both directions until emulated time *until*."""
        self.up.forced_until = max(self.up.forced_until, until)
        self.down.forced_until = max(self.down.forced_until, until)
