"""Rayleigh fading (no line of sight): the power gain is exponential, x ~ Exp(1)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .fading import FadingModel, register_fading_model

__all__ = ["Rayleigh"]


@register_fading_model
@dataclass(frozen=True, kw_only=True, eq=False)
class Rayleigh(FadingModel):
    """|h|² ~ Exp(1); outage 1 − exp(−γth/γ̄) in closed form."""

    name = "rayleigh"

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(1.0, n)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.exp(-x), dtype=float)

    def outage_below(self, ratio: float) -> float:
        return -math.expm1(-ratio)
