"""Outage: hold traffic while the instantaneous SNR is below the threshold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aaas import ConfigError

from ..channel import db_to_linear
from .base import Fault, register_fault

if TYPE_CHECKING:
    from ..transmission import Transmission
    from .air import Air

__all__ = ["Outage", "wait_for_signal"]


@register_fault
@dataclass(frozen=True, kw_only=True)
class Outage(Fault):
    """Hold a packet while the link is in outage; close the connection after a long one.

    The link is in outage while the instantaneous SNR is below :meth:`threshold`.
    A forced outage (set over the control topic) and every fading block in
    outage hold the packet until it ends; when the hold would pass ``close_s`` the
    connection is closed at ``start + close_s`` instead (``tx.closed = "outage"``).
    """

    name = "outage"

    snr_db: float = -5.0
    """Outage when the instantaneous SNR is below this."""
    min_rate_bps: float = 0.0
    """Outage also when the Shannon rate is below this."""
    close_s: float = 30.0
    """An outage longer than this (emulated s) closes the connection, as TCP would."""

    def __post_init__(self) -> None:
        if not self.close_s > 0:
            raise ConfigError(f"outage: close_s must be > 0, got {self.close_s}")
        if not self.min_rate_bps >= 0:
            raise ConfigError(f"outage: min_rate_bps must be >= 0, got {self.min_rate_bps}")

    def threshold(self, bandwidth_hz: float) -> float:
        """Linear SNR below which a channel of *bandwidth_hz* is in outage (SNR or rate)."""
        by_rate = 2.0 ** (self.min_rate_bps / bandwidth_hz) - 1.0
        return float(max(db_to_linear(self.snr_db), by_rate))

    def apply(self, tx: Transmission, air: Air) -> None:
        if tx.closed is not None:
            return
        threshold = self.threshold(air.bandwidth_hz)
        t, _, closed = wait_for_signal(air, tx.end_s, threshold, self.close_s)
        tx.hold_s = max(0.0, t - tx.end_s)
        tx.end_s = t
        if closed:
            tx.closed = "outage"


def wait_for_signal(air: Air, t: float, threshold: float,
                    close_s: float) -> tuple[float, float, bool]:
    """(time the link can send, SNR then, closed) for a packet ready at emulated *t*."""
    limit = t + close_s
    while True:
        if t < air.forced_until:
            t = air.forced_until
        if t > limit:
            return limit, 0.0, True
        snr = air.snr_at(t)
        if snr >= threshold:
            return t, snr, False
        if not air.fades and t >= air.forced_until:
            return limit, snr, True  # no fading: the outage never ends on its own
        t = air.block_end(t)
