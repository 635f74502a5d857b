"""Air time: a frame of L bits takes L / rate seconds on the air."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["air_time_s", "frames_in_block"]


def air_time_s(bits: float, rate_bps: float) -> float:
    """Seconds on the air for *bits* at *rate_bps* (0 for an infinite rate)."""
    if rate_bps == math.inf:
        return 0.0
    if rate_bps <= 0:
        return math.inf
    return bits / rate_bps


def frames_in_block(sizes: np.ndarray, rate_bps: float, block_left_s: float) -> int:
    """How many of the frames (bytes) start within the time left in the fading block (>= 1)."""
    if rate_bps == math.inf or block_left_s == math.inf:
        return len(sizes)
    ends = np.cumsum(sizes) * 8.0 / rate_bps
    return max(1, int(np.searchsorted(ends, block_left_s, side="left")) + 1)
