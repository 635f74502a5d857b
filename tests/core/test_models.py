"""The paper's models against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from aaas import ConfigError, CrashRule, QualityCurve, RuntimeModel
from edge_node import CapacityLedger, Running

CURVE = QualityCurve(ax=50, ay=0.2, bx=200, by=0.8)  # slope 0.6/150 = 0.004


@pytest.mark.parametrize(
    ("t", "q"),
    [(0, 0.0), (49.9, 0.0), (50, 0.0), (100, 0.2), (125, 0.3), (200, 0.6), (201, 0.6),
     (1000, 0.6)],
)
def test_quality_curve_piecewise_linear(t: float, q: float) -> None:
    assert CURVE(t) == pytest.approx(q)
    assert CURVE.many([t])[0] == pytest.approx(q)


def test_quality_curve_rejects_bx_not_above_ax() -> None:
    with pytest.raises(ConfigError):
        QualityCurve(ax=100, ay=0, bx=100, by=1)


def test_runtime_model_matches_the_paper() -> None:
    rt = RuntimeModel()
    # (0.001*100^2 + 2.5*100 - 14) * 60 = (10 + 250 - 14) * 60
    assert rt(100) == pytest.approx(246 * 60)
    assert rt(250) == pytest.approx((62.5 + 625 - 14) * 60)
    assert np.allclose(rt.many([100, 250]), [rt(100), rt(250)])


def test_crash_penalty_is_two_plus_twice_the_remaining_work() -> None:
    rule = CrashRule()
    assert rule.penalty([]) == 2.0
    assert rule.penalty([0.25, 1.0, 0.0]) == pytest.approx(2 + 1.5 + 0 + 2)


def _task(tid: str, steps: int, start: float, runtime: float = 100.0) -> Running:
    return Running(task_id=tid, user_id="u", steps=steps, started_at=start, runtime_s=runtime)


def test_ledger_admits_until_free_capacity_is_below_t_then_crashes() -> None:
    ledger = CapacityLedger(capacity=500)
    assert ledger.offer(_task("a", 200, 0), 0).admitted
    assert ledger.offer(_task("b", 250, 10), 10).admitted
    assert ledger.free == 50
    assert ledger.offer(_task("c", 50, 20), 20).admitted  # free == t: still fits
    assert ledger.free == 0
    verdict = ledger.offer(_task("d", 10, 50), 50)
    assert not verdict.admitted
    progress = {r.task_id: p for r, p in verdict.lost}
    assert progress == pytest.approx({"a": 0.5, "b": 0.4, "c": 0.3})
    assert verdict.penalty == pytest.approx(2 + 2 * (0.5 + 0.6 + 0.7))
    # Every task is lost, the capacity is freed, the new task is not admitted.
    assert ledger.free == 500 and not ledger.running and ledger.crashes == 1


def test_ledger_finish_frees_capacity() -> None:
    ledger = CapacityLedger(capacity=300)
    ledger.offer(_task("a", 200, 0), 0)
    assert ledger.finish("a") is not None
    assert ledger.free == 300
    assert ledger.finish("a") is None
