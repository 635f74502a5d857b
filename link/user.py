"""A user's link: its profile and one channel per direction, kept across reconnects."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from .direction import DirectionChannel
from .profile import LinkProfile

__all__ = ["CHANNEL_CLASSES", "UserLink", "channel_class"]

CHANNEL_CLASSES = ("near", "far", "deep_fade")
"""Users by their uplink's mean SNR (docs/link.md): ``near`` at 20 dB or more (a 10 MB
upload in a few seconds, ARQ costs little), ``far`` from 12 to 20 dB (tens of seconds,
two to four bytes on air per byte delivered), ``deep_fade`` below 12 dB (frames fail so
often that the link closes connections: minutes, many times the bytes)."""


def channel_class(mean_snr_db: float) -> str:
    """The class of a user whose uplink's mean SNR is *mean_snr_db*."""
    if mean_snr_db >= 20.0:
        return "near"
    return "far" if mean_snr_db >= 12.0 else "deep_fade"


@dataclass(kw_only=True)
class UserLink:
    """Both directions of one user's channel."""

    user_id: str
    profile: LinkProfile
    seed: int
    """Base seed of the proxy; the user's generators depend only on it and the user id."""
    up: DirectionChannel = field(init=False)
    down: DirectionChannel = field(init=False)
    channel_class: str = field(init=False)
    """near, far or deep_fade, by the uplink's mean SNR (CHANNEL_CLASSES)."""

    def __post_init__(self) -> None:
        key = zlib.crc32(self.user_id.encode())
        self.up = DirectionChannel(profile=self.profile, uplink=True,
                                   rng=np.random.default_rng([self.seed, key, 0]))
        self.down = DirectionChannel(profile=self.profile, uplink=False,
                                     rng=np.random.default_rng([self.seed, key, 1]))
        self._classify()

    def _classify(self) -> None:
        self.channel_class = channel_class(10.0 * float(np.log10(max(self.up.mean_snr, 1e-30))))

    def perfect(self, now: float) -> bool:
        """Whether packets at emulated *now* pass untouched (perfect profile, no forced outage)."""
        return (self.profile.is_perfect and self.up.forced_until <= now
                and self.down.forced_until <= now)

    def reconfigure(self, profile: LinkProfile) -> None:
        """New channel from the next packet on; packets already on the air are not touched."""
        self.profile = profile
        self.up.reconfigure(profile)
        self.down.reconfigure(profile)
        self._classify()

    def force_outage(self, until: float) -> None:
        """Hold both directions until emulated time *until*."""
        self.up.forced_until = max(self.up.forced_until, until)
        self.down.forced_until = max(self.down.forced_until, until)
