"""One direction of one user's link: its fading, its air queue, and its chain of faults."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .channel import BlockFading, GilbertElliott, ber, bit_rate
from .faults import Fault
from .profile import LinkProfile, fault_chain
from .transmission import Transmission

__all__ = ["DirectionChannel", "Transmission"]


@dataclass(kw_only=True)
class DirectionChannel:
    """The channel state of one direction (uplink or downlink) of one user.

    Each packet runs through ``chain`` (the profile's faults, see
    :func:`~link.profile.fault_chain`); the faults keep no state, this does, and
    they reach it only as an :class:`~link.faults.Air`, which this implements.
    """

    profile: LinkProfile
    uplink: bool
    rng: np.random.Generator
    """Seeded generator of this direction (fading, bit errors, retries)."""
    busy_until: float = 0.0
    """Emulated time at which the air is free for the next packet."""
    forced_until: float = -1e300
    """A forced outage (control topic) lasts until this emulated time."""
    fading: BlockFading = field(init=False)
    gilbert: GilbertElliott | None = field(init=False)
    mean_snr: float = field(init=False)
    threshold: float = field(init=False)
    chain: tuple[Fault, ...] = field(init=False)
    """The faults each packet goes through, in order."""

    def __post_init__(self) -> None:
        self.reconfigure(self.profile)

    def reconfigure(self, profile: LinkProfile) -> None:
        """Take a new profile; the queue (busy_until) and any forced outage are kept."""
        self.profile = profile
        self.fading = BlockFading(kind=profile.fading, coherence_s=profile.coherence_s,
                                  rng=self.rng)
        self.gilbert = (None if profile.gilbert is None
                        else GilbertElliott(params=profile.gilbert, rng=self.rng))
        self.mean_snr = profile.mean_snr(self.uplink)
        self.threshold = profile.outage_threshold()
        self.chain = fault_chain(profile)

    # The Air the faults are given (link.faults.air).

    @property
    def bandwidth_hz(self) -> float:
        return self.profile.bandwidth_hz

    @property
    def fades(self) -> bool:
        return self.fading.model.fades

    @property
    def bursty(self) -> bool:
        return self.gilbert is not None

    def snr_at(self, t: float) -> float:
        """The instantaneous linear SNR during the fading block holding emulated *t*."""
        return self.mean_snr * self.fading.gain_at(t)

    def block_left(self, t: float) -> float:
        return self.fading.block_left(t)

    def block_end(self, t: float) -> float:
        return self.fading.block_end(t)

    def rate(self, snr: float) -> float:
        """Bit rate on the air at a linear SNR (the profile's rate model or fixed rate)."""
        p = self.profile
        if p.rate_bps is not None:
            return p.rate_bps
        return bit_rate(p.rate, modulation=p.modulation, bandwidth_hz=p.bandwidth_hz, snr=snr)

    def ber(self, snr: float) -> float:
        """Bit error rate of the profile's modulation at a linear SNR."""
        return ber(self.profile.modulation, snr)

    def burst_losses(self, n: int) -> np.ndarray:
        """Gilbert–Elliott losses of the next *n* frames (all False without the chain)."""
        if self.gilbert is None:
            return np.zeros(n, dtype=bool)
        return self.gilbert.losses(n)

    def occupy(self, until: float) -> None:
        """The air is busy until emulated *until*."""
        self.busy_until = max(self.busy_until, until)

    def transmit(self, packet: bytes, now: float, payload_from: int | None = None) -> Transmission:
        """Send *packet* (whole MQTT packet) that arrived at emulated *now*.

        *payload_from*: byte offset of a PUBLISH payload in *packet*; in corrupt
        mode only those bits may flip (other packets go by ARQ).
        """
        start = max(now, self.busy_until)
        tx = Transmission(packet=packet, start_s=start, end_s=start, payload_from=payload_from)
        for fault in self.chain:
            fault.apply(tx, self)
        return tx
