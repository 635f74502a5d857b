"""Fitting the paper's runtime model runtime(t) = (a·t² + b·t + c)·unit_s."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aaas import ConfigError, RuntimeModel

__all__ = ["fit_runtime"]


def fit_runtime(steps: npt.ArrayLike, runtime_s: npt.ArrayLike, *,
                unit_s: float = 60.0) -> RuntimeModel:
    """Least-squares (a, b, c) of measured emulated runtimes (seconds)."""
    t = np.asarray(steps, dtype=np.float64)
    y = np.asarray(runtime_s, dtype=np.float64) / unit_s
    if t.shape != y.shape or t.ndim != 1:
        raise ConfigError("steps and runtimes must be 1-D arrays of the same length")
    if len(np.unique(t)) < 3:
        raise ConfigError("the runtime fit needs 3 or more different step counts")
    a, b, c = np.polyfit(t, y, 2)
    return RuntimeModel(a=float(a), b=float(b), c=float(c), unit_s=unit_s)
