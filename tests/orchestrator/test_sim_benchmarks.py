"""The paper's four benchmarks land in the paper's order, on a small scenario."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from orch_scenarios import tiny_scenario_file

from aaas import load_scenario
from orchestrator.policies import make_policy
from orchestrator.training.evaluation import evaluate_policy


def test_benchmark_ordering_on_a_small_scenario(tmp_path: Path) -> None:
    scenario = load_scenario(tiny_scenario_file(tmp_path))
    seeds = range(100, 110)
    res = {}
    for name in ("random", "round_robin", "least_loaded", "upper_bound"):
        policy = make_policy(name, scenario, rng=np.random.default_rng(0))
        res[name] = evaluate_policy(policy, scenario, seeds).summary()
    ret = {n: s["return_mean"] for n, s in res.items()}
    assert ret["random"] < ret["round_robin"] < ret["least_loaded"] < ret["upper_bound"], ret
    for safe in ("least_loaded", "upper_bound"):
        assert res[safe]["crashes"] == 0
        assert res[safe]["crashed_rate"] == 0
        assert res[safe]["utility"] == res[safe]["return_mean"]
    for unsafe in ("random", "round_robin"):
        assert res[unsafe]["crashes"] > 0
        assert res[unsafe]["lost_utility"] > 0
