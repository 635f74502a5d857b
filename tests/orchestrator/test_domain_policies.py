"""Content domains in the simulator and the policies: the quality of a placement is the
ASP's curve on the task's domain; the prophet knows the per-domain curves, the blind one
their average; the learned policies see the domain, not the curves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aaas import ConfigError, load_scenario
from orchestrator.policies import Observation, make_policy
from orchestrator.policies.features import FeatureSpec
from orchestrator.sim import AaasEnv, Episode
from testbed.cli import main

SC = load_scenario("paper-domains")


def _obs(domain: int, steps: int = 200) -> Observation:
    return Observation(capacity_M=SC.capacities, free_M=SC.capacities.copy(),
                       online_M=np.ones(len(SC.asps), dtype=bool), steps=steps,
                       runtime_s=SC.runtime(steps), domain=domain)


def test_the_reward_of_an_admission_is_the_curve_of_the_tasks_domain() -> None:
    env = AaasEnv(SC)
    steps = np.array([200, 200], dtype=np.int64)
    env.reset(options={"episode": Episode(arrival_s=np.array([0.0, 1.0]), steps=steps,
                                          runtime_s=SC.runtime.many(steps),
                                          domain=np.array([0, 1]))})
    _, r0, _, _, _ = env.step(0)  # asp-00 is a faces specialist
    _, r1, _, _, _ = env.step(0)
    a = SC.asps[0]
    assert a.specialty == "faces"
    assert r0 == pytest.approx(a.curve_for(0)(200)) and r1 == pytest.approx(a.curve_for(1)(200))
    assert r0 > 2 * r1
    rows = env.by_domain.rows(SC.domains.names)
    assert rows["faces"]["matched"] == 1 and rows["places"]["matched"] == 0


def test_the_prophet_picks_per_domain_and_the_blind_one_does_not() -> None:
    rng = np.random.default_rng(0)
    aware = make_policy("upper_bound", SC, rng=rng, checkpoint=None)
    blind = make_policy("upper_bound_blind", SC, rng=rng, checkpoint=None)
    picks = [aware.select(_obs(d)) for d in (0, 1)]
    for d, i in enumerate(picks):
        q = [a.curve_for(d)(200) for a in SC.asps]
        assert i == int(np.argmax(q)) and SC.asps[i].specialty == SC.domains.names[d]
    assert blind.select(_obs(0)) == blind.select(_obs(1))


def test_learned_features_show_the_domain_not_the_curves() -> None:
    spec = FeatureSpec.for_scenario(SC, "basic")
    m = len(SC.asps)
    assert spec.dim == (2 + 2) * m + 2
    x0 = spec.build(SC.capacities, SC.capacities, 200, SC.runtime(200), 0)
    x1 = spec.build(SC.capacities, SC.capacities, 200, SC.runtime(200), 1)
    assert (x0[2 * m:3 * m] == 1).all() and (x0[3 * m:4 * m] == 0).all()
    assert (x1[2 * m:3 * m] == 0).all() and (x1[3 * m:4 * m] == 1).all()
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="must not see"):
        FeatureSpec.for_scenario(SC, "quality")
    paper = FeatureSpec.for_scenario(load_scenario("paper"), "basic")
    assert paper.dim == 2 * m + 2 and "n_domains" not in paper.to_dict()


def test_evaluate_writes_per_domain_figures_and_the_match(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--scenario", "paper-domains", "--episodes", "2", "--no-bound",
                 "--policies", "least_loaded,upper_bound,upper_bound_blind",
                 "--json", str(out), "--plots", str(tmp_path / "figs")]) == 0
    data = json.loads(out.read_text())
    for name in ("least_loaded", "upper_bound", "upper_bound_blind"):
        assert set(data[name]["domains"]) == {"faces", "places"}
    aware, blind = data["upper_bound"], data["upper_bound_blind"]
    assert aware["return_mean"] > blind["return_mean"]
    for d in ("faces", "places"):
        assert aware["domains"][d]["match_share"] > blind["domains"][d]["match_share"]
        assert aware["domains"][d]["quality_per_task"] > blind["domains"][d]["quality_per_task"]
    assert (tmp_path / "figs" / "fig_domains.png").stat().st_size > 10_000


def test_one_domain_evaluation_has_no_domain_rows_and_no_blind_twin(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--scenario", "agod", "--episodes", "1", "--no-bound",
                 "--policies", "upper_bound", "--json", str(out)]) == 0
    assert "domains" not in json.loads(out.read_text())["upper_bound"]
