"""Outage: hold traffic while the instantaneous SNR is below the threshold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from .base import Fault, register_fault

if TYPE_CHECKING:
    from ..direction import DirectionChannel
    from ..profile import LinkProfile
    from ..transmission import Transmission

__all__ = ["Outage", "wait_for_signal"]


@register_fault
@dataclass(frozen=True, kw_only=True)
class Outage(Fault):
    """Hold a packet while the link is in outage; close the connection after a long one.

    A forced outage (set over the control topic) and every fading block in
    outage hold the packet until it ends; when the hold would pass ``close_s`` the
    connection is closed at ``start + close_s`` instead (``tx.closed = "outage"``).
    """

    name = "outage"

    threshold: float = 10 ** (-5.0 / 10)
    """Linear SNR below which the link is in outage."""
    close_s: float = 30.0
    """An outage longer than this (emulated s) closes the connection."""

    @classmethod
    def from_profile(cls, profile: LinkProfile) -> Self:
        return cls(threshold=profile.outage_threshold(), close_s=profile.outage_close_s)

    def apply(self, tx: Transmission, ch: DirectionChannel) -> None:
        if tx.closed is not None:
            return
        t, _, closed = wait_for_signal(ch, tx.end_s, self.threshold, self.close_s)
        tx.hold_s = max(0.0, t - tx.end_s)
        tx.end_s = t
        if closed:
            tx.closed = "outage"


def wait_for_signal(ch: DirectionChannel, t: float, threshold: float,
                    close_s: float) -> tuple[float, float, bool]:
    """(time the link can send, SNR then, closed) for a packet ready at emulated *t*."""
    limit = t + close_s
    while True:
        if t < ch.forced_until:
            t = ch.forced_until
        if t > limit:
            return limit, 0.0, True
        snr = ch.mean_snr * ch.fading.gain_at(t)
        if snr >= threshold:
            return t, snr, False
        if not ch.fading.model.fades and t >= ch.forced_until:
            return limit, snr, True  # no fading: the outage never ends on its own
        t = ch.fading.block_end(t)
