"""Fitting the paper's piecewise-linear quality model to measurements.

A metric m(t) measured at several step counts t is first turned into a
score s that rises with quality on a 0…1 scale,

    s = (m − worst) / (best − worst)

(``worst``/``best`` default to the metric's typical range, so a metric
where lower is better, such as BRISQUE or MDSI, gets worst > best). Then the
clamped line through the two knees (Ax, Ay) and (Bx, By),

    s(t) = Ay                          for t ≤ Ax
    s(t) = Ay + (By−Ay)(t−Ax)/(Bx−Ax)  for Ax ≤ t ≤ Bx
    s(t) = By                          for t ≥ Bx

is fitted by least squares: for fixed knees s is linear in (Ay, By), which
are solved exactly; the knees are searched on a grid, then refined. The
scenario's :class:`aaas.QualityCurve` with these four numbers is the quality
*gained* above the floor Ay (0 below Ax, By−Ay above Bx), as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aaas import ConfigError, QualityCurve

__all__ = ["CurveFit", "clamped_linear", "fit_clamped_linear", "fit_quality_curve", "normalise"]

FloatArray = npt.NDArray[np.float64]


def clamped_linear(t: npt.ArrayLike, ax: float, ay: float, bx: float, by: float) -> FloatArray:
    """s(t) of the two-knee model (see the module docstring)."""
    phi = np.clip((np.asarray(t, dtype=np.float64) - ax) / (bx - ax), 0.0, 1.0)
    return ay + (by - ay) * phi


def normalise(values: npt.ArrayLike, *, worst: float, best: float) -> FloatArray:
    """Map a metric onto a score that is 0 at *worst* and 1 at *best*."""
    if worst == best:
        raise ConfigError(f"normalisation range is empty (worst = best = {worst})")
    return (np.asarray(values, dtype=np.float64) - worst) / (best - worst)


def _solve_levels(t: FloatArray, s: FloatArray, ax: float, bx: float) -> tuple[float, float, float]:
    """Best (Ay, By) for fixed knees and the sum of squared errors."""
    phi = np.clip((t - ax) / (bx - ax), 0.0, 1.0)
    design = np.stack([1.0 - phi, phi], axis=1)
    (ay, by), *_ = np.linalg.lstsq(design, s, rcond=None)
    sse = float(np.sum((design @ np.array([ay, by]) - s) ** 2))
    return float(ay), float(by), sse


def fit_clamped_linear(steps: npt.ArrayLike, scores: npt.ArrayLike, *,
                       grid: int = 120) -> tuple[float, float, float, float, float]:
    """(Ax, Ay, Bx, By, rmse) of the clamped line through the points."""
    t = np.asarray(steps, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if t.shape != s.shape or t.ndim != 1:
        raise ConfigError("steps and scores must be 1-D arrays of the same length")
    if len(np.unique(t)) < 3:
        raise ConfigError("the fit needs measurements at 3 or more different step counts")
    lo, hi = float(t.min()), float(t.max())
    knots = np.linspace(lo, hi, grid)
    min_gap = (hi - lo) / grid
    best = (np.inf, lo, hi)
    for i, ax in enumerate(knots[:-1]):
        for bx in knots[i + 1:]:
            sse = _solve_levels(t, s, ax, bx)[2]
            if sse < best[0] - 1e-15:
                best = (sse, ax, bx)
    from scipy.optimize import minimize

    def loss(p: FloatArray) -> float:
        ax, bx = float(p[0]), float(p[1])
        if bx - ax < min_gap or ax < lo - 1e-9 or bx > hi + 1e-9:
            return float("inf")
        return _solve_levels(t, s, ax, bx)[2]

    res = minimize(loss, np.array(best[1:]), method="Nelder-Mead",
                   options={"xatol": 1e-3, "fatol": 1e-12, "maxiter": 2000})
    ax, bx = (float(v) for v in res.x) if res.fun <= best[0] else best[1:]
    ay, by, sse = _solve_levels(t, s, ax, bx)
    return ax, ay, bx, by, float(np.sqrt(sse / len(t)))


@dataclass(frozen=True, kw_only=True)
class CurveFit:
    """A fitted quality model and how the metric was mapped onto it."""

    curve: QualityCurve
    """The paper's 4-parameter model (Ax, Ay, Bx, By) of the normalised score."""
    worst: float
    """Metric value mapped to score 0."""
    best: float
    """Metric value mapped to score 1."""
    rmse: float
    """Root-mean-square error of the fit, in score units."""

    @property
    def rising(self) -> bool:
        """Whether the raw metric rises with quality."""
        return self.best > self.worst

    def override(self) -> dict[str, float]:
        """The keys a scenario's ``[[asps.override]]`` entry takes for the curve."""
        c = self.curve
        return {"ax": round(c.ax, 3), "ay": round(c.ay, 4), "bx": round(c.bx, 3),
                "by": round(c.by, 4)}

    def metric_at(self, steps: npt.ArrayLike) -> FloatArray:
        """The fitted curve back in the metric's own units."""
        c = self.curve
        s = clamped_linear(steps, c.ax, c.ay, c.bx, c.by)
        return self.worst + s * (self.best - self.worst)


def fit_quality_curve(steps: npt.ArrayLike, values: npt.ArrayLike, *, worst: float,
                      best: float) -> CurveFit:
    """Fit (Ax, Ay, Bx, By) to metric *values* measured at *steps*."""
    s = normalise(values, worst=worst, best=best)
    ax, ay, bx, by, rmse = fit_clamped_linear(steps, s)
    return CurveFit(curve=QualityCurve(ax=ax, ay=ay, bx=bx, by=by), worst=worst, best=best,
                    rmse=rmse)
