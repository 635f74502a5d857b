"""Analytic and Monte-Carlo BER, PER and outage side by side (the ``aaas channel`` tool).

The empirical BER sends real Gray-mapped symbols through the fading channel
and AWGN and counts bit errors; the empirical PER draws, per frame, one fading
block and the number of bit errors at that block's BER; the empirical outage is
the share of blocks below the threshold SNR.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from aaas import ConfigError

from .bit_errors import BITS_PER_SYMBOL, ber_array, check_modulation
from .fading import FadingModel, make_fading
from .frames import per_array
from .snr import db_to_linear

__all__ = ["ChannelReport", "channel_report", "simulate_ber"]

_MAX_SYMBOL_BITS = 4_000_000


@dataclass(frozen=True, kw_only=True)
class ChannelReport:
    """What ``aaas channel`` prints; ``as_json`` gives the dotted keys."""

    ber_analytic: float
    ber_empirical: float
    per_analytic: float
    per_empirical: float
    outage_analytic: float
    outage_empirical: float
    bits_simulated: int
    """Bits sent through the symbol-level simulation."""
    frames: int
    """Frames (fading blocks) drawn for the PER and outage estimates."""

    def as_json(self) -> dict[str, float | int]:
        return {k.replace("_analytic", ".analytic").replace("_empirical", ".empirical"): v
                for k, v in asdict(self).items()}


def _pam_bits_errors(bits: np.ndarray, levels: int, gain: np.ndarray, sigma: float,
                     rng: np.random.Generator) -> int:
    """Bit errors of Gray PAM on one real axis: bits shape (n, log2 levels), gain per symbol."""
    if levels == 2:
        s = 1.0 - 2.0 * bits[:, 0]
        y = np.sqrt(gain) * s + sigma * rng.standard_normal(len(s))
        return int(np.count_nonzero((y < 0) != (s < 0)))
    # Gray 4-PAM: b0 = sign bit, b1 = inner (0) / outer (1); levels ±1, ±3.
    sign = 1.0 - 2.0 * bits[:, 0]
    amp = 1.0 + 2.0 * bits[:, 1]
    y = (np.sqrt(gain) * sign * amp + sigma * rng.standard_normal(len(sign))) / np.sqrt(gain)
    b0 = (y < 0).astype(np.int8)
    b1 = (np.abs(y) > 2.0).astype(np.int8)
    return int(np.count_nonzero(b0 != bits[:, 0]) + np.count_nonzero(b1 != bits[:, 1]))


def simulate_ber(*, snr_db: float, modulation: str, fading: str | FadingModel, frame_bits: int,
                 frames: int, rng: np.random.Generator, rician_k: float | None = None,
                 max_bits: int = _MAX_SYMBOL_BITS) -> tuple[float, int]:
    """Empirical BER of real symbols; one fading block per frame. Returns (ber, bits).

    *fading*: a model or its name (*rician_k*, when given, sets a Rician model's K).
    """
    model = make_fading(fading, **({} if rician_k is None else {"k": rician_k}))
    m = BITS_PER_SYMBOL[check_modulation(modulation)]
    n_frames = max(1, min(frames, max_bits // max(frame_bits, 1)))
    bits_per_frame = max(m, frame_bits - frame_bits % m)
    snr = db_to_linear(snr_db)
    gains = np.repeat(model.draw(rng, n_frames), bits_per_frame // m)
    bits = rng.integers(0, 2, size=(len(gains), m), dtype=np.int8)
    if modulation == "bpsk":  # Es = 1 on one axis: sigma² = N0/2
        errors = _pam_bits_errors(bits, 2, gains, math.sqrt(0.5 / snr), rng)
    elif modulation == "qpsk":  # each axis ±1 carries Es/2: scale noise instead
        errors = sum(_pam_bits_errors(bits[:, i:i + 1], 2, gains, math.sqrt(1.0 / snr), rng)
                     for i in range(2))
    else:  # 16-QAM: Es = 10 with levels ±1, ±3 per axis
        sigma = math.sqrt(5.0 / snr)
        errors = sum(_pam_bits_errors(bits[:, 2 * i:2 * i + 2], 4, gains, sigma, rng)
                     for i in range(2))
    return errors / bits.size, int(bits.size)


def channel_report(*, snr_db: float, modulation: str, fading: str | FadingModel = "none",
                   frame_bytes: int = 1500, frames: int = 10_000, outage_snr_db: float = 0.0,
                   rician_k: float | None = None, rng: np.random.Generator) -> ChannelReport:
    """Analytic and Monte-Carlo figures for one channel setting.

    *fading*: a model or its name (*rician_k*, when given, sets a Rician model's K).
    """
    check_modulation(modulation)
    model = make_fading(fading, **({} if rician_k is None else {"k": rician_k}))
    if frames < 1 or frame_bytes < 1:
        raise ConfigError("frames and frame bytes must be >= 1")
    snr = db_to_linear(snr_db)
    bits = 8 * frame_bytes
    ber_a = model.expect(lambda x: ber_array(modulation, snr * x))
    per_a = model.expect(lambda x: per_array(ber_array(modulation, snr * x), bits))
    out_a = model.outage_probability(snr, db_to_linear(outage_snr_db))
    ber_e, n_bits = simulate_ber(snr_db=snr_db, modulation=modulation, fading=model,
                                 frame_bits=bits, frames=frames, rng=rng)
    gains = model.draw(rng, frames)
    frame_ber = ber_array(modulation, snr * gains)
    errors = rng.binomial(bits, frame_ber)
    return ChannelReport(
        ber_analytic=ber_a, ber_empirical=ber_e,
        per_analytic=per_a, per_empirical=float(np.mean(errors > 0)),
        outage_analytic=out_a,
        outage_empirical=float(np.mean(snr * gains < db_to_linear(outage_snr_db))),
        bits_simulated=n_bits, frames=frames,
    )
