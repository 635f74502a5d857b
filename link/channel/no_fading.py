"""No fading (AWGN only): a constant power gain of 1."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .fading import FadingModel, register_fading_model

__all__ = ["NoFading"]


@register_fading_model
@dataclass(frozen=True, kw_only=True, eq=False)
class NoFading(FadingModel):
    """x = 1 always: the SNR is the mean SNR; no draws."""

    name = "none"
    fades = False

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.ones(n)

    def expect(self, fn: Callable[[np.ndarray], np.ndarray]) -> float:
        return float(fn(np.ones(1))[0])

    def outage_below(self, ratio: float) -> float:
        return 1.0 if ratio > 1.0 else 0.0
