"""Bit error rate on AWGN at an instantaneous SNR (Es/N0 per symbol), Gray mapping.

* BPSK: Q(sqrt(2γ));
* QPSK: Q(sqrt(γ)) (each bit sees half the symbol energy);
* 16-QAM: (3 Q(a) + 2 Q(3a) - Q(5a)) / 4 with a = sqrt(γ/5) (exact for Gray mapping
  on the square constellation, each axis a Gray 4-PAM).
"""

from __future__ import annotations

import math

import numpy as np

from aaas import ConfigError

__all__ = ["BITS_PER_SYMBOL", "MODULATIONS", "ber", "ber_array", "check_modulation", "qfunc"]

BITS_PER_SYMBOL = {"bpsk": 1, "qpsk": 2, "16qam": 4}
MODULATIONS = tuple(BITS_PER_SYMBOL)

_erfc = np.vectorize(math.erfc, otypes=[float])


def check_modulation(modulation: str) -> str:
    if modulation not in BITS_PER_SYMBOL:
        raise ConfigError(f"unknown modulation {modulation!r} (one of {MODULATIONS})")
    return modulation


def qfunc(x: float) -> float:
    """Gaussian tail Q(x) = erfc(x / sqrt 2) / 2."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def ber(modulation: str, snr: float) -> float:
    """BER at a linear SNR (per symbol); 0 for an infinite SNR."""
    check_modulation(modulation)
    if snr == math.inf:
        return 0.0
    snr = max(snr, 0.0)
    if modulation == "bpsk":
        return qfunc(math.sqrt(2.0 * snr))
    if modulation == "qpsk":
        return qfunc(math.sqrt(snr))
    a = math.sqrt(snr / 5.0)
    return 0.25 * (3.0 * qfunc(a) + 2.0 * qfunc(3.0 * a) - qfunc(5.0 * a))


def ber_array(modulation: str, snr: np.ndarray) -> np.ndarray:
    """Vectorised :func:`ber` over linear SNRs."""
    check_modulation(modulation)
    s = np.minimum(np.maximum(np.asarray(snr, dtype=float), 0.0), 1e6)
    if modulation == "bpsk":
        return _q(np.sqrt(2.0 * s))
    if modulation == "qpsk":
        return _q(np.sqrt(s))
    a = np.sqrt(s / 5.0)
    return np.asarray(0.25 * (3.0 * _q(a) + 2.0 * _q(3.0 * a) - _q(5.0 * a)), dtype=float)


def _q(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * _erfc(x / math.sqrt(2.0)))
