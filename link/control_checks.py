"""Believe only what you can check: bounds on a link control message.

``LinkProfile`` already refuses unknown models and negative values; this adds the
bounds a control message must keep so that one message cannot take a user off the
air for the rest of a run: every number finite (``snr_db`` and ``rate_bps`` may be
infinite: a perfect channel), and no duration (an outage, a latency, a timeout)
longer than :data:`MAX_DURATION_S`. A failed check is an ``invalid`` control
message (``aaas_link_control_messages_total{outcome="invalid"}``) and changes
nothing. Who may send control messages at all is the broker ACL's business (the
``operator`` role only; ``docs/security.md``).
"""

from __future__ import annotations

import math
from typing import Any

from aaas import ErrorCode, LinkUpdate, ProtocolError

__all__ = ["MAX_DURATION_S", "check_update"]

MAX_DURATION_S = 86_400.0
"""The longest outage, latency or timeout (emulated seconds) a control message may set."""
_DURATIONS = ("latency_s", "rto_s", "coherence_s", "outage_close_s")
_MAY_BE_INFINITE = ("snr_db", "rate_bps")


def _numbers(value: Any, path: str) -> list[tuple[str, float]]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [(path, float(value))]
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in _numbers(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in _numbers(v, f"{path}[{i}]")]
    return []


def check_update(update: LinkUpdate) -> None:
    """Raise ProtocolError (``invalid``) when *update* breaks a bound (see the module doc)."""
    if update.outage_s is not None and not 0 <= update.outage_s <= MAX_DURATION_S:
        raise ProtocolError(ErrorCode.INVALID, f"outage_s={update.outage_s!r} is not within "
                            f"[0, {MAX_DURATION_S:g}] s")
    for name, value in update.profile.changes().items():
        for path, number in _numbers(value, name):
            if math.isnan(number) or (math.isinf(number) and name not in _MAY_BE_INFINITE):
                raise ProtocolError(ErrorCode.INVALID, f"{path}={number!r} is not finite")
            if name in _DURATIONS and number > MAX_DURATION_S:
                raise ProtocolError(ErrorCode.INVALID, f"{path}={number!r} s is longer than "
                                    f"{MAX_DURATION_S:g} s")
