"""Bit rate of a link, so a frame's air time follows its size."""

from __future__ import annotations

import math

from aaas import ConfigError

from .bit_errors import BITS_PER_SYMBOL, check_modulation

__all__ = ["RATE_MODELS", "bit_rate", "shannon_rate"]

RATE_MODELS = ("modulation", "shannon")


def shannon_rate(bandwidth_hz: float, snr: float) -> float:
    """B log2(1 + γ) bit/s at a linear SNR."""
    return bandwidth_hz * math.log2(1.0 + max(snr, 0.0))


def bit_rate(model: str, *, modulation: str, bandwidth_hz: float, snr: float) -> float:
    """``modulation``: B symbols/s × bits/symbol (Nyquist, no roll-off); ``shannon``: capacity."""
    if model == "modulation":
        return bandwidth_hz * BITS_PER_SYMBOL[check_modulation(modulation)]
    if model == "shannon":
        return shannon_rate(bandwidth_hz, snr)
    raise ConfigError(f"unknown rate model {model!r} (one of {RATE_MODELS})")
