"""The ``lookahead`` benchmark: a fluid LP over the expected arrivals, re-solved per task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from orch_scenarios import tiny_scenario_file

from aaas import load_scenario
from orchestrator.policies import OPT_IN, POLICIES, LookaheadPolicy, make_policy
from orchestrator.training import evaluate_policy
from testbed.cli import main


def test_registered_and_never_crashes(tmp_path: Path) -> None:
    assert "lookahead" in POLICIES.names()
    sc = load_scenario(tiny_scenario_file(tmp_path, horizon=120_000))
    policy = make_policy("lookahead", sc, rng=np.random.default_rng(0))
    assert isinstance(policy, LookaheadPolicy)
    result = evaluate_policy(policy, sc, [1, 2])
    prophet = evaluate_policy(make_policy("upper_bound", sc, rng=np.random.default_rng(0)),
                              sc, [1, 2])
    for stats in result.episodes:
        assert stats.crashes == 0 and stats.tasks > 0
    # it knows the curves as the prophet does: it is in the prophet's league
    assert result.summary()["return_mean"] > 0.9 * prophet.summary()["return_mean"]


def test_evaluate_runs_it_only_when_named(tmp_path: Path) -> None:
    assert "lookahead" in OPT_IN
    scenario = str(tiny_scenario_file(tmp_path, horizon=60_000))
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--scenario", scenario, "--episodes", "1", "--policies",
                 "upper_bound,lookahead", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"upper_bound", "lookahead", "_meta"}
    assert data["lookahead"]["crashes"] == 0
    assert 0 < data["lookahead"]["share_of_bound"] <= 1.0 + 1e-9
    assert data["upper_bound"]["share_of_upper_bound"] == 1.0
    assert data["_meta"]["bound"]["method"] == "LP relaxation"
