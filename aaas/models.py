"""The paper's models: the quality curve, the runtime of a task, the crash rule.

Du et al., "Enabling AI-Generated Content (AIGC) Services in Wireless Edge
Networks" (arXiv 2301.03220) and the companion TMC paper (arXiv 2303.13052).
Every number is a parameter; the defaults are the paper's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .errors import ConfigError

__all__ = ["CrashRule", "QualityCurve", "RuntimeModel"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class QualityCurve:
    """An ASP's quality as a function of the diffusion steps t.

    q(t) = 0 for t < Ax; (By−Ay)/(Bx−Ax)·(t−Ax) for Ax ≤ t ≤ Bx; By−Ay for t > Bx.
    """

    ax: float
    """Steps below which the content is worthless."""
    ay: float
    """Quality offset at Ax (the curve rises by By−Ay)."""
    bx: float
    """Steps above which more steps add nothing."""
    by: float
    """Quality level at Bx (before the Ay offset)."""

    def __post_init__(self) -> None:
        if not self.bx > self.ax:
            raise ConfigError(f"quality curve needs Bx > Ax, got Ax={self.ax}, Bx={self.bx}")

    @property
    def max_quality(self) -> float:
        return self.by - self.ay

    def __call__(self, steps: float) -> float:
        if steps < self.ax:
            return 0.0
        if steps > self.bx:
            return self.by - self.ay
        return (self.by - self.ay) / (self.bx - self.ax) * (steps - self.ax)

    def many(self, steps: npt.ArrayLike) -> FloatArray:
        """Vectorised q(t)."""
        t = np.asarray(steps, dtype=np.float64)
        slope = (self.by - self.ay) / (self.bx - self.ax)
        q = np.where(t > self.bx, self.by - self.ay, slope * (t - self.ax))
        return np.where(t < self.ax, 0.0, q)


@dataclass(frozen=True, kw_only=True)
class RuntimeModel:
    """runtime(t) = (a·t² + b·t + c) · unit_s emulated seconds."""

    a: float = 0.001
    b: float = 2.5
    c: float = -14.0
    unit_s: float = 60.0
    """The polynomial gives minutes; this turns them into seconds."""

    def __call__(self, steps: float) -> float:
        return float(self.many(steps))

    def many(self, steps: npt.ArrayLike) -> FloatArray:
        t = np.asarray(steps, dtype=np.float64)
        return np.maximum((self.a * t * t + self.b * t + self.c) * self.unit_s, 0.0)


@dataclass(frozen=True, kw_only=True)
class CrashRule:
    """Penalty when a task lands on an ASP without enough free capacity.

    penalty = base + Σ over the lost tasks of lost_weight·(1 − progress).
    """

    base_penalty: float = 2.0
    lost_weight: float = 2.0

    def penalty(self, lost_progress: Iterable[float]) -> float:
        return self.base_penalty + sum(self.lost_weight * (1.0 - p) for p in lost_progress)

    @staticmethod
    def crashes(free: int, steps: int) -> bool:
        """The crash rule: an ASP crashes when its free capacity is below t."""
        return free < steps
