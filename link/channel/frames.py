"""Frames and packet error rate: packets are cut at the MTU; PER = 1 - (1 - BER)^L."""

from __future__ import annotations

import math

import numpy as np

from aaas import ConfigError

__all__ = ["frame_sizes", "per", "per_array"]


def frame_sizes(nbytes: int, mtu: int) -> np.ndarray:
    """Byte sizes of the frames a packet of *nbytes* is cut into (at least one frame)."""
    if mtu < 1:
        raise ConfigError(f"MTU must be >= 1 byte, got {mtu}")
    if nbytes <= 0:
        return np.zeros(1, dtype=np.int64) + max(nbytes, 0)
    full, rest = divmod(nbytes, mtu)
    sizes = np.full(full + (1 if rest else 0), mtu, dtype=np.int64)
    if rest:
        sizes[-1] = rest
    return sizes


def per(ber: float, bits: int) -> float:
    """Probability that a frame of *bits* has at least one bit error."""
    if ber <= 0.0:
        return 0.0
    if ber >= 1.0:
        return 1.0
    return -math.expm1(bits * math.log1p(-ber))


def per_array(ber: np.ndarray | float, bits: np.ndarray | int) -> np.ndarray:
    """Vectorised :func:`per`."""
    b = np.clip(np.asarray(ber, dtype=float), 0.0, 1.0 - 1e-16)
    return np.asarray(-np.expm1(np.asarray(bits, dtype=float) * np.log1p(-b)), dtype=float)
