"""``fit-quality``: measure a metric against the steps and fit the paper's models."""

from .curve import CurveFit, clamped_linear, fit_clamped_linear, fit_quality_curve, normalise
from .runtime import fit_runtime
from .sweeps import Case, Measurement, generated_cases, load_cases, sweep

__all__ = [
    "Case",
    "CurveFit",
    "Measurement",
    "clamped_linear",
    "fit_clamped_linear",
    "fit_quality_curve",
    "fit_runtime",
    "generated_cases",
    "load_cases",
    "normalise",
    "sweep",
]
