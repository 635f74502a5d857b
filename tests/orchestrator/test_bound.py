"""The hindsight optimum (``orchestrator.sim.bound``) on hand-built episodes.

The testbed (two ASPs, round numbers):

* ASP 0: C = 200, q0(t) = t/200 (1 at t = 200);
* ASP 1: C = 200, q1(t) = t/400 (0.5 at t = 200);
* runtime(t) = t seconds.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from orch_scenarios import tiny_scenario_file

from aaas import Scenario, parse_scenario
from aaas.config import scenario_dir
from orchestrator.policies import POLICIES, make_policy
from orchestrator.sim import AaasEnv, Episode, draw_episode
from orchestrator.sim.bound import hindsight_bound, interval_rows
from orchestrator.training import evaluate_policy
from testbed.cli import main


def two_asps() -> Scenario:
    data: dict[str, Any] = {
        "name": "bound-hand", "seed": 0,
        "asps": {"count": 2, "override": [
            {"index": 0, "capacity": 200, "ax": 0, "ay": 0, "bx": 200, "by": 1.0},
            {"index": 1, "capacity": 200, "ax": 0, "ay": 0, "bx": 200, "by": 0.5},
        ]},
        "runtime": {"a": 0.0, "b": 1.0, "c": 0.0, "unit_s": 1.0},
    }
    return parse_scenario(data)


def episode(scenario: Scenario, tasks: list[tuple[float, int]]) -> Episode:
    steps = np.array([t for _, t in tasks], dtype=np.int64)
    return Episode(arrival_s=np.array([a for a, _ in tasks], dtype=np.float64), steps=steps,
                   runtime_s=scenario.runtime.many(steps))


def play(scenario: Scenario, ep: Episode, actions: list[int] | np.ndarray) -> tuple[float, int]:
    """(return, crashes) of a fixed action sequence in the simulator."""
    env = AaasEnv(scenario)
    env.reset(options={"episode": ep})
    for a in actions:
        env.step(int(a))
    return env.stats.ret, env.stats.crashes


def test_the_prophet_is_beaten_by_hindsight() -> None:
    # A (t=100) at 0, B (t=200) at 10 while A runs. The prophet puts A on the better
    # ASP 0 (0.5) and B must go to ASP 1 (0.5): 1.0. Hindsight puts A on ASP 1 (0.25)
    # to keep ASP 0 whole for B (1.0): 1.25.
    sc = two_asps()
    ep = episode(sc, [(0.0, 100), (10.0, 200)])
    res = hindsight_bound(sc, ep)
    assert res.status == "optimal"
    assert res.optimum == pytest.approx(1.25)
    assert res.bound is not None and res.bound >= res.optimum - 1e-9
    assert res.assignment is not None and res.assignment.tolist() == [1, 0]
    env = AaasEnv(sc)
    env.reset(options={"episode": ep})
    policy = make_policy("upper_bound", sc, rng=np.random.default_rng(0))
    for _ in range(len(ep)):
        env.step(policy.select(env.observation()))
    assert env.stats.ret == pytest.approx(1.0)


def test_a_task_ending_at_an_arrival_frees_its_steps_first() -> None:
    # A (t=200) on [0, 200); B and D (t=200) arrive at 200 exactly. The simulator
    # releases A before placing B, so B and D take both ASPs: 1 + 1 + 0.5 = 2.5.
    # Were A still running at 200, no crash-free placement would exist.
    sc = two_asps()
    ep = episode(sc, [(0.0, 200), (200.0, 200), (200.0, 200)])
    res = hindsight_bound(sc, ep)
    assert res.status == "optimal"
    assert res.optimum == pytest.approx(2.5)
    assert res.assignment is not None
    ret, crashes = play(sc, ep, res.assignment)
    assert crashes == 0 and ret == pytest.approx(2.5)


def test_no_crash_free_placement_is_infeasible() -> None:
    sc = two_asps()
    ep = episode(sc, [(0.0, 200), (1.0, 200), (2.0, 200)])
    res = hindsight_bound(sc, ep)
    assert res.status == "infeasible" and res.bound is None
    # ... and dropping tasks is allowed in the utility bound: the two best fit
    skip = hindsight_bound(sc, ep, allow_skip=True)
    assert skip.status == "optimal" and skip.optimum == pytest.approx(1.5)


def test_rows_are_the_maximal_running_sets() -> None:
    sc = two_asps()
    # A [0,100), B [10,210), C [150,350): running sets {A}, {A,B}, {B,C};
    # {A} ⊆ {A,B} is implied (nothing ends between 0 and 10); {A,B} is kept (A ends
    # at 100 before C arrives); {B,C} is the last.
    ep = episode(sc, [(0.0, 100), (10.0, 200), (150.0, 200)])
    assert [r.tolist() for r in interval_rows(ep)] == [[0, 1], [1, 2]]


@pytest.mark.parametrize("seed", range(6))
def test_equals_brute_force_over_every_placement(seed: int) -> None:
    """On random tiny episodes the optimum equals the best crash-free sequence of
    actions found by playing every one of the 2^n through the simulator."""
    sc = two_asps()
    rng = np.random.default_rng(seed)
    n = 7
    arrivals = np.sort(rng.uniform(0, 400, n)).round()
    ep = episode(sc, [(float(a), int(t)) for a, t in
                      zip(arrivals, rng.choice(np.arange(100, 210, 10), n), strict=True)])
    best = None
    for actions in itertools.product(range(2), repeat=n):
        ret, crashes = play(sc, ep, list(actions))
        if crashes == 0 and (best is None or ret > best):
            best = ret
    res = hindsight_bound(sc, ep)
    if best is None:
        assert res.status == "infeasible"
    else:
        assert res.status == "optimal"
        assert res.optimum == pytest.approx(best, abs=1e-6)
        assert res.lp_bound is not None and res.lp_bound >= best - 1e-6


def dense_paper(tasks: float = 60.0) -> Scenario:
    """The paper's ASPs with a short, three times denser stream: capacity binds."""
    data = tomllib.loads((scenario_dir() / "paper.toml").read_text())
    data["workload"] = {**data.get("workload", {}), "arrival_rate": 0.003,
                        "horizon_s": tasks / 0.003}
    return parse_scenario(data, source="paper.toml")  # the name keeps sac's checkpoint


def test_no_policy_returns_more_than_the_bound() -> None:
    sc = dense_paper()
    seeds = [31, 32]
    bounds = []
    for s in seeds:
        ep = draw_episode(sc, np.random.default_rng(s))
        # the bound holds whether or not HiGHS closes the gap in time
        res = hindsight_bound(sc, ep, time_limit_s=5)
        assert res.bound is not None and res.assignment is not None
        ret, crashes = play(sc, ep, res.assignment)  # the schedule is real
        assert crashes == 0 and res.incumbent == pytest.approx(ret, abs=1e-6)
        bounds.append(res.bound)
    for k, name in enumerate(POLICIES.names()):
        policy = make_policy(name, sc, rng=np.random.default_rng([7, k]))
        result = evaluate_policy(policy, sc, seeds)
        for stats, bound in zip(result.episodes, bounds, strict=True):
            assert stats.ret <= bound + 1e-6, (name, stats.ret, bound)


def test_the_bound_command_writes_every_figure(tmp_path: Path) -> None:
    scenario = str(tiny_scenario_file(tmp_path, horizon=40_000))
    out = tmp_path / "bound.json"
    assert main(["bound", "--scenario", scenario, "--episodes", "2", "--time-limit", "10",
                 "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data["figures"]) == {"optimum", "bound", "lp_bound", "incumbent"}
    assert [e["seed"] for e in data["episodes"]] == [10_000, 10_001]
    for e in data["episodes"]:
        assert e["status"] in ("optimal", "time_limit")
        assert e["incumbent"] <= e["bound"] + 1e-6 <= e["lp_bound"] + 2e-6
    assert main(["bound", "--scenario", scenario, "--episodes", "1", "--lp-only",
                 "--json", str(out)]) == 0
    lp = json.loads(out.read_text())["episodes"][0]
    assert lp["status"] == "lp" and lp["optimum"] is None and lp["bound"] == lp["lp_bound"]
