"""The paper's models have one implementation: the scalar forms (live node, single
env) and the vectorised forms (batch simulator, prophet) give the same bits."""

from __future__ import annotations

import numpy as np
import pytest

from aaas import CrashRule, QualityCurve, load_scenario
from edge_node import Running
from orchestrator.policies import Observation, UpperBoundPolicy

CURVES = [QualityCurve(ax=50, ay=0.2, bx=200, by=0.8), QualityCurve(ax=0, ay=0, bx=200, by=1.0),
          QualityCurve(ax=97.3, ay=0.41, bx=151.9, by=0.52)]
STEPS = np.arange(0, 301)


def test_scalar_and_vectorised_quality_are_the_same_bits() -> None:
    table = QualityCurve.table(CURVES, STEPS)
    assert table.shape == (len(CURVES), len(STEPS))
    for curve, row in zip(CURVES, table, strict=True):
        assert row.tolist() == curve.many(STEPS).tolist() == [curve(int(t)) for t in STEPS]


def test_quality_piecewise_broadcasts_over_curves() -> None:
    p = QualityCurve.params(CURVES)
    assert p.shape == (4, len(CURVES))
    assert QualityCurve.piecewise(125, *p).tolist() == [c(125) for c in CURVES]
    assert QualityCurve.table([], STEPS).shape == (0, len(STEPS))


def test_crash_condition_on_ints_and_arrays() -> None:
    rule = CrashRule()
    assert rule.crashes(99, 100) is True
    assert rule.crashes(100, 100) is False
    free = np.array([0, 99, 100, 250], dtype=np.int64)
    assert rule.crashes(free, 100).tolist() == [True, True, False, False]
    assert rule.crashes(free, np.array([0, 100, 101, 250])).tolist() == [False, True, True, False]


def test_progress_is_clipped_and_a_task_of_no_duration_is_done() -> None:
    rule = CrashRule()
    assert rule.progress(50.0, 0.0, 100.0) == 0.5
    assert rule.progress(-10.0, 0.0, 100.0) == 0.0  # not started yet
    assert rule.progress(500.0, 0.0, 100.0) == 1.0  # overdue
    assert rule.progress(5.0, 0.0, 0.0) == 1.0
    assert rule.progress(5.0, 0.0, -1.0) == 1.0
    many = rule.progress_many(50.0, np.array([0.0, 25.0, 50.0, 0.0]),
                              np.array([100.0, 100.0, 100.0, 0.0]))
    assert many.tolist() == [0.5, 0.25, 0.0, 1.0]
    task = Running(task_id="a", user_id="u", steps=100, started_at=10.0, runtime_s=80.0)
    assert task.progress(30.0) == 0.25 == rule.progress(30.0, 10.0, 80.0)


def test_penalty_sums_from_the_base_in_order_whoever_computes_it() -> None:
    rule = CrashRule(base_penalty=2.0, lost_weight=2.0)
    rng = np.random.default_rng(0)
    progress = rng.random((50, 9))
    lost = rng.random((50, 9)) < 0.6
    many = rule.penalty_many(progress, lost)
    for row, mask, got in zip(progress, lost, many, strict=True):
        expected = 2.0
        for p in row[mask].tolist():  # base + x1 + x2 + ..., left to right
            expected += 2.0 * (1.0 - p)
        assert got == expected
        assert rule.penalty(row[mask].tolist()) == expected
        assert rule.penalty_many(row[mask]) == expected
    assert rule.penalty([]) == 2.0
    assert rule.penalty_many(np.zeros((3, 0))).tolist() == [2.0, 2.0, 2.0]
    assert CrashRule(base_penalty=1.0, lost_weight=3.0).penalty([0.5]) == 2.5


def test_reward_is_quality_minus_penalty_on_floats_and_arrays() -> None:
    rule = CrashRule()
    assert rule.reward(0.75, 0.0) == 0.75
    assert rule.reward(0.0, 4.5) == -4.5
    got = rule.reward(np.array([0.75, 0.0, 0.0]), np.array([0.0, 4.5, 0.0]))
    assert got.tolist() == [0.75, -4.5, 0.0]
    assert not np.signbit(got[2])  # an env with no task gets +0, not -0


@pytest.mark.parametrize("scenario_name", ["paper", "agod"])
def test_prophet_picks_the_best_curve_among_the_asps_with_room(scenario_name: str) -> None:
    sc = load_scenario(scenario_name)
    curves = [a.curve for a in sc.asps]
    policy = UpperBoundPolicy(curves)
    rng = np.random.default_rng(1)
    for _ in range(300):
        free = rng.integers(0, 400, len(curves))
        steps = int(rng.choice(sc.workload.steps_choices))
        obs = Observation(capacity_M=sc.capacities, free_M=free,
                          online_M=rng.random(len(curves)) < 0.8, steps=steps, runtime_s=1.0)
        cand = obs.candidates()
        fits = [int(i) for i in cand if free[i] >= steps]
        if fits:
            expected = max(fits, key=lambda i: (curves[i](steps), -i))
        else:
            expected = int(cand[np.argmax(free[cand])])
        assert policy.select(obs) == expected
