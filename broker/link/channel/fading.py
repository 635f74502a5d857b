"""Block fading: Rayleigh and Rician power gains, constant over a coherence time.

The power gain ``x = |h|²`` has mean 1, so the instantaneous SNR is ``γ = γ̄ x``.
Closed forms where they exist (Rayleigh outage ``1 - exp(-γth/γ̄)``, Rayleigh
BER of BPSK/QPSK); other expectations integrate numerically over the gain's
density on a log grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from aaas import ConfigError

__all__ = ["FADING", "BlockFading", "check_fading", "draw_gain", "expect", "gain_pdf",
           "outage_probability"]

FADING = ("none", "rayleigh", "rician")

# Log grid of power gains for numerical expectations (mass below 1e-12 is negligible).
_LOG_X = np.linspace(math.log(1e-12), math.log(200.0), 40_001)
_X = np.exp(_LOG_X)


def check_fading(kind: str, rician_k: float = 0.0) -> str:
    if kind not in FADING:
        raise ConfigError(f"unknown fading {kind!r} (one of {FADING})")
    if kind == "rician" and not rician_k >= 0:
        raise ConfigError(f"Rician K factor must be >= 0, got {rician_k}")
    return kind


def draw_gain(kind: str, rng: np.random.Generator, size: int | None = None,
              *, rician_k: float = 6.0) -> np.ndarray | float:
    """Power gains (mean 1) of *size* independent blocks (a float when size is None)."""
    check_fading(kind, rician_k)
    n = 1 if size is None else size
    if kind == "none":
        out = np.ones(n)
    elif kind == "rayleigh":
        out = rng.exponential(1.0, n)
    else:
        los = math.sqrt(rician_k / (rician_k + 1.0))
        sigma = math.sqrt(1.0 / (2.0 * (rician_k + 1.0)))
        re = los + sigma * rng.standard_normal(n)
        im = sigma * rng.standard_normal(n)
        out = re * re + im * im
    return float(out[0]) if size is None else out


def gain_pdf(kind: str, x: np.ndarray, *, rician_k: float = 6.0) -> np.ndarray:
    """Density of the power gain (mean 1) for rayleigh or rician."""
    if kind == "rayleigh":
        return np.asarray(np.exp(-x), dtype=float)
    if kind == "rician":
        k = rician_k
        z = 2.0 * np.sqrt(k * (k + 1.0) * x)
        # I0(z) e^{-z} is bounded; fold e^{z} into the exponent to avoid overflow.
        i0e = np.i0(np.minimum(z, 700.0)) * np.exp(-np.minimum(z, 700.0))
        return (k + 1.0) * np.exp(-k - (k + 1.0) * x + z) * i0e
    raise ConfigError(f"no density for fading {kind!r}")


def expect(kind: str, fn: Callable[[np.ndarray], np.ndarray], *, rician_k: float = 6.0) -> float:
    """E[fn(x)] over the power gain x (fn vectorised); fn(1) when there is no fading."""
    check_fading(kind, rician_k)
    if kind == "none":
        return float(fn(np.ones(1))[0])
    weights = gain_pdf(kind, _X, rician_k=rician_k) * _X  # dx = x d(ln x)
    return float(np.trapezoid(fn(_X) * weights, _LOG_X))


def outage_probability(kind: str, mean_snr: float, threshold_snr: float,
                       *, rician_k: float = 6.0) -> float:
    """P(γ̄ x < γth): Rayleigh in closed form, Rician numerically, 0/1 without fading."""
    check_fading(kind, rician_k)
    if mean_snr == math.inf:
        return 0.0
    ratio = threshold_snr / mean_snr
    if kind == "none":
        return 1.0 if ratio > 1.0 else 0.0
    if kind == "rayleigh":
        return -math.expm1(-ratio)
    return expect(kind, lambda x: (x < ratio).astype(float), rician_k=rician_k)


@dataclass(kw_only=True)
class BlockFading:
    """The gain of one link, redrawn at every coherence-time boundary (emulated time)."""

    kind: str = "rayleigh"
    """none, rayleigh or rician."""
    coherence_s: float = 0.01
    """Emulated seconds a fading block lasts."""
    rician_k: float = 6.0
    """Rician K factor (linear): LOS power over scattered power."""
    rng: np.random.Generator
    """Seeded generator the gains are drawn from."""
    _block: int = field(default=-1, init=False)
    _gain: float = field(default=1.0, init=False)

    def __post_init__(self) -> None:
        check_fading(self.kind, self.rician_k)
        if not self.coherence_s > 0:
            raise ConfigError(f"coherence time must be > 0 s, got {self.coherence_s}")

    def gain_at(self, t: float) -> float:
        """The power gain during the block holding emulated time *t*."""
        if self.kind == "none":
            return 1.0
        block = math.floor(t / self.coherence_s)
        if block != self._block:
            self._block = block
            self._gain = float(draw_gain(self.kind, self.rng, rician_k=self.rician_k))
        return self._gain

    def block_end(self, t: float) -> float:
        """Emulated time at which the block holding *t* ends."""
        end = (math.floor(t / self.coherence_s) + 1) * self.coherence_s
        if end <= t:  # t/c rounded down across a boundary: that block has ended too
            end = (math.floor(t / self.coherence_s) + 2) * self.coherence_s
        return end
