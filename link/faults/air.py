"""What a fault may read and do on the channel: the interface a fault is given.

After toxiproxy, where a toxic touches the stream only through the link it is
handed: a fault sees one direction of a user's link only as an :class:`Air`,
never the object behind it. :class:`~link.direction.DirectionChannel` is the
one implementation; the faults know nothing else of it, so this module imports
nothing of the link.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["Air"]


class Air(Protocol):
    """One direction of one user's channel, as a fault sees it (times in emulated seconds).

    Reading moves no state, except that a fading block's gain is drawn the first
    time it is asked for and :meth:`burst_losses` steps the Gilbert–Elliott chain;
    :meth:`occupy` is the one write.
    """

    @property
    def rng(self) -> np.random.Generator:
        """The direction's seeded generator: every draw of a fault comes from it."""
        ...

    @property
    def bandwidth_hz(self) -> float:
        """The channel bandwidth (what a required bit rate means in SNR)."""
        ...

    @property
    def forced_until(self) -> float:
        """A forced outage (control topic) holds the air until this time."""
        ...

    @property
    def fades(self) -> bool:
        """Whether the SNR changes from block to block (False: it never does)."""
        ...

    @property
    def bursty(self) -> bool:
        """Whether frames also meet Gilbert–Elliott burst losses (:meth:`burst_losses`)."""
        ...

    def snr_at(self, t: float) -> float:
        """The instantaneous linear SNR during the fading block holding *t*."""
        ...

    def block_left(self, t: float) -> float:
        """Time from *t* until the SNR may change (inf without fading)."""
        ...

    def block_end(self, t: float) -> float:
        """When the fading block holding *t* ends (always after *t*)."""
        ...

    def rate(self, snr: float) -> float:
        """Bit rate on the air at a linear SNR (inf: no air time)."""
        ...

    def ber(self, snr: float) -> float:
        """Bit error rate at a linear SNR."""
        ...

    def burst_losses(self, n: int) -> np.ndarray:
        """Step the Gilbert–Elliott chain over the next *n* frames: True where a frame is
        lost (all False, and nothing drawn, when the channel is not :attr:`bursty`)."""
        ...

    def occupy(self, until: float) -> None:
        """The air is busy until *until*: the next packet starts no earlier."""
        ...
