"""The paper's models: the quality curve, the runtime of a task, the crash rule
and the reward of an assignment.

Du et al., "Enabling AI-Generated Content (AIGC) Services in Wireless Edge
Networks" (arXiv 2301.03220) and the companion TMC paper (arXiv 2303.13052).
Every number is a parameter; the defaults are the paper's.

Each formula is written once, on numpy arrays; the scalar forms call the
vectorised ones. The live edge node, both simulators (``AaasEnv`` and the
vectorised ``BatchSim``) and the upper-bound policy all use these, so they
cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import msgspec
import numpy as np
import numpy.typing as npt

from .errors import ConfigError

__all__ = ["CrashRule", "QualityCurve", "RuntimeModel"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


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

    @staticmethod
    def piecewise(steps: npt.ArrayLike, ax: npt.ArrayLike, ay: npt.ArrayLike,
                  bx: npt.ArrayLike, by: npt.ArrayLike) -> FloatArray:
        """q(t), the one implementation: t and the four parameters broadcast
        against each other (one curve at many t, or many curves at once)."""
        t = np.asarray(steps, dtype=np.float64)
        a_x, a_y = np.asarray(ax, dtype=np.float64), np.asarray(ay, dtype=np.float64)
        b_x, b_y = np.asarray(bx, dtype=np.float64), np.asarray(by, dtype=np.float64)
        slope = (b_y - a_y) / (b_x - a_x)
        q = np.where(t > b_x, b_y - a_y, slope * (t - a_x))
        out: FloatArray = np.where(t < a_x, 0.0, q)
        return out

    def __call__(self, steps: float) -> float:
        return float(self.many(steps))

    def many(self, steps: npt.ArrayLike) -> FloatArray:
        """Vectorised q(t)."""
        return self.piecewise(steps, self.ax, self.ay, self.bx, self.by)

    @staticmethod
    def params(curves: Sequence[QualityCurve]) -> FloatArray:
        """The curves' (Ax, Ay, Bx, By) as a (4, M) array, for :meth:`piecewise`."""
        return np.array([[c.ax for c in curves], [c.ay for c in curves],
                         [c.bx for c in curves], [c.by for c in curves]],
                        dtype=np.float64).reshape(4, len(curves))

    @classmethod
    def table(cls, curves: Sequence[QualityCurve], steps: npt.ArrayLike) -> FloatArray:
        """q_i(t) of every curve i (rows) at every t (columns), shape (M, T)."""
        t = np.asarray(steps, dtype=np.float64).reshape(1, -1)
        return cls.piecewise(t, *cls.params(curves)[:, :, None])


# RuntimeModel and CrashRule are the scenario's [runtime] and [crash] tables as they
# are: Structs that refuse unknown keys, so aaas.config decodes into them directly.
class RuntimeModel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
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


class CrashRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What happens when a task lands on an ASP without enough free capacity,
    and the reward of an assignment.

    * crash: free capacity < t; the ASP loses every running task, its capacity
      is freed, the arriving task is not admitted;
    * progress of a lost task = (now − start) / duration, clipped to [0, 1];
    * penalty = base + Σ over the lost tasks of lost_weight·(1 − progress);
    * reward = q_i(t) on admission, −penalty on a crash (:meth:`reward`).
    """

    base_penalty: float = 2.0
    lost_weight: float = 2.0

    # -- the crash condition ------------------------------------------------------
    # Plain operators, so that the same line serves one task (Python ints, as fast
    # as inline code in the single env) and a batch (numpy arrays).
    @overload
    @staticmethod
    def crashes(free: int, steps: int) -> bool: ...
    @overload
    @staticmethod
    def crashes(free: npt.NDArray[np.int64], steps: npt.ArrayLike) -> BoolArray: ...
    @staticmethod
    def crashes(free: Any, steps: Any) -> Any:
        """The crash rule: an ASP crashes when its free capacity is below t."""
        return free < steps

    # -- progress of a running task ----------------------------------------------------
    @staticmethod
    def progress_many(now: npt.ArrayLike, started_at: npt.ArrayLike,
                      duration_s: npt.ArrayLike) -> FloatArray:
        """(now − start)/duration clipped to [0, 1]; a task of no duration is done (1)."""
        d = np.asarray(duration_s, dtype=np.float64)
        elapsed = np.asarray(now, dtype=np.float64) - np.asarray(started_at, dtype=np.float64)
        positive = d > 0
        ratio = np.clip(elapsed / np.where(positive, d, 1.0), 0.0, 1.0)
        out: FloatArray = np.where(positive, ratio, 1.0)
        return out

    @classmethod
    def progress(cls, now: float, started_at: float, duration_s: float) -> float:
        return float(cls.progress_many(now, started_at, duration_s))

    # -- the penalty of a crash -----------------------------------------------------
    def penalty_many(self, progress: npt.ArrayLike,
                     lost: npt.ArrayLike | None = None) -> FloatArray:
        """Penalty of crashes: *progress* has the lost tasks on its last axis (where
        *lost* is given, only the entries where it is true count).

        The sum runs in order from the base (``base + x₁ + x₂ + …``), so a crash
        costs the same to the last bit whoever computes it.
        """
        p = np.asarray(progress, dtype=np.float64)
        if p.ndim == 0:
            p = p.reshape(1)
        terms = self.lost_weight * (1.0 - p)
        if lost is not None:
            terms = np.where(lost, terms, 0.0)
        base = np.full((*p.shape[:-1], 1), self.base_penalty)
        out: FloatArray = np.cumsum(np.concatenate([base, terms], axis=-1), axis=-1)[..., -1]
        return out

    def penalty(self, lost_progress: Iterable[float]) -> float:
        return float(self.penalty_many(np.fromiter(lost_progress, dtype=np.float64)))

    # -- the reward of an assignment ------------------------------------------------
    @overload
    @staticmethod
    def reward(quality: float, penalty: float) -> float: ...
    @overload
    @staticmethod
    def reward(quality: FloatArray, penalty: FloatArray) -> FloatArray: ...
    @staticmethod
    def reward(quality: Any, penalty: Any) -> Any:
        """The reward of an assignment: the quality it earns minus the penalty it
        causes. Admitted: q_i(t) − 0; crashed: 0 − penalty (the rejected task earns
        nothing). Works on floats and, elementwise, on arrays."""
        return quality - penalty
