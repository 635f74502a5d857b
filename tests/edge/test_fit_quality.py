"""The fit recovers known quality and runtime parameters from synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aaas import ConfigError, QualityCurve, RuntimeModel, parse_scenario
from edge_node.fit import clamped_linear, fit_quality_curve, fit_runtime

TRUE = {"ax": 40.0, "ay": 0.2, "bx": 180.0, "by": 0.85}
STEPS = np.repeat(np.arange(10, 260, 10), 3)


def _scores(rng: np.random.Generator, noise: float = 0.01) -> np.ndarray:
    return clamped_linear(STEPS, **TRUE) + rng.normal(0, noise, STEPS.size)


def _check(fit_curve: QualityCurve) -> None:
    assert fit_curve.ax == pytest.approx(TRUE["ax"], abs=6)
    assert fit_curve.bx == pytest.approx(TRUE["bx"], abs=6)
    assert fit_curve.ay == pytest.approx(TRUE["ay"], abs=0.02)
    assert fit_curve.by == pytest.approx(TRUE["by"], abs=0.02)


def test_recovers_a_rising_metric() -> None:
    # a metric in [0, 1] that rises with quality (like DSS)
    values = _scores(np.random.default_rng(0))
    fit = fit_quality_curve(STEPS, values, worst=0.0, best=1.0)
    _check(fit.curve)
    assert fit.rising
    assert fit.rmse < 0.02


def test_recovers_a_falling_metric() -> None:
    # a metric that falls as quality rises (like BRISQUE): m = 100 − 100·s
    values = 100.0 - 100.0 * _scores(np.random.default_rng(1))
    fit = fit_quality_curve(STEPS, values, worst=100.0, best=0.0)
    _check(fit.curve)
    assert not fit.rising
    np.testing.assert_allclose(fit.metric_at([0, 300]), [80.0, 15.0], atol=2.5)


def test_fitted_override_loads_as_a_scenario_entry() -> None:
    fit = fit_quality_curve(STEPS, _scores(np.random.default_rng(2)), worst=0.0, best=1.0)
    entry = {"index": 0, "backend": "repaint", "model": "/models/x", **fit.override()}
    scenario = parse_scenario({"seed": 1, "asps": {"count": 2, "override": [entry]}})
    curve = scenario.asps[0].curve
    assert scenario.asps[0].backend == "repaint"
    assert curve(300) == pytest.approx(TRUE["by"] - TRUE["ay"], abs=0.03)
    assert curve(TRUE["ax"] - 10) == 0.0


def test_recovers_the_runtime_model() -> None:
    true = RuntimeModel(a=0.001, b=2.5, c=-14.0)
    t = np.arange(100, 260, 10)
    rng = np.random.default_rng(3)
    measured = true.many(t) * (1 + rng.normal(0, 0.002, t.size))
    fit = fit_runtime(t, measured, unit_s=60.0)
    np.testing.assert_allclose(fit.many(t), true.many(t), rtol=0.01)
    assert fit.b == pytest.approx(2.5, rel=0.1)


def test_too_few_step_counts_is_an_error() -> None:
    with pytest.raises(ConfigError, match="3 or more"):
        fit_quality_curve([10, 10, 20], [0.1, 0.2, 0.3], worst=0, best=1)
    with pytest.raises(ConfigError, match="3 or more"):
        fit_runtime([10, 20], [1.0, 2.0])
    with pytest.raises(ConfigError, match="empty"):
        fit_quality_curve([10, 20, 30], [0.1, 0.2, 0.3], worst=1, best=1)


def test_plot_is_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from edge_node.fit import Measurement
    from edge_node.fit.plot import plot_fit

    values = _scores(np.random.default_rng(4))
    fit = fit_quality_curve(STEPS, values, worst=0.0, best=1.0)
    ms = [Measurement(case="c", steps=int(t), value=float(v), runtime_s=float(t))
          for t, v in zip(STEPS, values, strict=True)]
    out = tmp_path / "fit.png"
    plot_fit(out, ms, fit, metric="dss", runtime=fit_runtime(STEPS, STEPS.astype(float)))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
