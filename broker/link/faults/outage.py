"""Outage: hold traffic while the instantaneous SNR is below the threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..direction import DirectionChannel

__all__ = ["wait_for_signal"]


def wait_for_signal(ch: DirectionChannel, t: float) -> tuple[float, float, bool]:
    """(time the link can send, SNR then, closed) for a packet ready at emulated *t*.

    A forced outage (set over the control topic) and every fading block in
    outage hold the packet; when the hold would pass ``outage_close_s`` the
    connection is closed at ``t + outage_close_s`` instead (``closed`` True).
    """
    limit = t + ch.profile.outage_close_s
    while True:
        if t < ch.forced_until:
            t = ch.forced_until
        if t > limit:
            return limit, 0.0, True
        snr = ch.mean_snr * ch.fading.gain_at(t)
        if snr >= ch.threshold:
            return t, snr, False
        if ch.profile.fading == "none" and t >= ch.forced_until:
            return limit, snr, True  # no fading: the outage never ends on its own
        t = ch.fading.block_end(t)
