"""Rician fading (line of sight plus scatter): |√(K/(K+1)) + CN(0, 1/(K+1))|²."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from aaas import ConfigError

from .fading import FadingModel, register_fading_model

__all__ = ["Rician"]


@register_fading_model
@dataclass(frozen=True, kw_only=True, eq=False)
class Rician(FadingModel):
    """Power gain of a Rician channel with K factor *k*; outage numerically."""

    name = "rician"

    k: float = 6.0
    """K factor (linear): line-of-sight power over scattered power (0: Rayleigh)."""

    def __post_init__(self) -> None:
        if not self.k >= 0:
            raise ConfigError(f"Rician K factor must be >= 0, got {self.k}")

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        los = math.sqrt(self.k / (self.k + 1.0))
        sigma = math.sqrt(1.0 / (2.0 * (self.k + 1.0)))
        re = los + sigma * rng.standard_normal(n)
        im = sigma * rng.standard_normal(n)
        return np.asarray(re * re + im * im)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        k = self.k
        z = 2.0 * np.sqrt(k * (k + 1.0) * x)
        # I0(z) e^{-z} is bounded; fold e^{z} into the exponent to avoid overflow.
        i0e = np.i0(np.minimum(z, 700.0)) * np.exp(-np.minimum(z, 700.0))
        return np.asarray((k + 1.0) * np.exp(-k - (k + 1.0) * x + z) * i0e)
