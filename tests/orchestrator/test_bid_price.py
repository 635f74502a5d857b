"""The learned bid-price policy: prophet at zero prices, trained by CEM, beats the prophet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from orch_scenarios import tiny_scenario_file

from aaas import ConfigError, load_scenario
from orchestrator.policies import BidPricePolicy, Observation, make_policy
from orchestrator.sim import FeatureSpec
from orchestrator.training.bid_price import BidPriceConfig, train_bid_price
from orchestrator.training.evaluation import evaluate_policy
from orchestrator.training.trainer import VALIDATION_SEED
from testbed.cli import main


def test_zero_prices_are_the_prophet(tmp_path: Path) -> None:
    scenario = load_scenario(tiny_scenario_file(tmp_path))
    spec = FeatureSpec.for_scenario(scenario, "quality")
    zero = BidPricePolicy(spec, np.zeros(9))
    prophet = make_policy("upper_bound", scenario, rng=np.random.default_rng(0))
    seeds = range(10_000, 10_003)
    a = evaluate_policy(zero, scenario, seeds).summary()
    b = evaluate_policy(prophet, scenario, seeds).summary()
    assert a["return_mean"] == b["return_mean"]


def test_cem_search_writes_a_checkpoint_the_policy_replays(tmp_path: Path) -> None:
    scenario = load_scenario(tiny_scenario_file(tmp_path))
    cfg = BidPriceConfig(iterations=2, population=4, elite=2, episodes=3, eval_episodes=3,
                         time_budget_s=None, init_g=0.3, init_std_g=0.2)
    res = train_bid_price(scenario, cfg, out=tmp_path / "bp.json", log_csv=tmp_path / "bp.csv")
    meta = json.loads((tmp_path / "bp.json").read_text())
    assert meta["format"] == "aaas-bid-price/1" and meta["features"]["version"] == 2
    assert len(meta["theta"]) == 9 and res.updates == 2
    assert (tmp_path / meta["log"]).read_text().count("\n") == 3
    policy = make_policy("bid_price", scenario, rng=np.random.default_rng(0),
                         checkpoint=tmp_path / "bp.json")
    seeds = range(VALIDATION_SEED, VALIDATION_SEED + 3)
    # the live interface (one Observation at a time) scores what the batch search validated
    ret = evaluate_policy(policy, scenario, seeds).summary()["return_mean"]
    assert ret == pytest.approx(res.best_return, rel=1e-9)


@pytest.mark.parametrize("name", ["agod", "paper"])
def test_shipped_bid_prices_beat_the_prophet_without_crashing(name: str) -> None:
    scenario = load_scenario(name)
    seeds = range(10_000, 10_005)
    bid = evaluate_policy(make_policy("bid_price", scenario, rng=np.random.default_rng(0)),
                          scenario, seeds).summary()
    ub = evaluate_policy(make_policy("upper_bound", scenario, rng=np.random.default_rng(0)),
                         scenario, seeds).summary()
    assert bid["crashes"] == 0
    assert bid["return_mean"] > ub["return_mean"], (bid["return_mean"], ub["return_mean"])


def test_offline_asps_are_never_chosen_and_bad_checkpoints_are_refused(tmp_path: Path) -> None:
    scenario = load_scenario("paper")
    policy = make_policy("bid_price", scenario, rng=np.random.default_rng(0))
    online = np.zeros(20, dtype=bool)
    online[[4, 13]] = True
    obs = Observation(capacity_M=scenario.capacities, free_M=scenario.capacities.copy(),
                      online_M=online, steps=150, runtime_s=scenario.runtime(150))
    assert policy.select(obs) in (4, 13)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "aaas-bid-price/1", "features": {}}')
    with pytest.raises(ConfigError, match="bad metadata"):
        BidPricePolicy.load(bad, scenario)
    shipped = (Path(__file__).resolve().parents[2] / "orchestrator" / "checkpoints"
               / "paper-bid_price.json")
    with pytest.raises(ConfigError, match="trained for 20 ASPs"):
        BidPricePolicy.load(shipped, load_scenario(tiny_scenario_file(tmp_path)))


def test_aaas_train_algo_bid_price(tmp_path: Path) -> None:
    scenario = tiny_scenario_file(tmp_path)
    out = tmp_path / "cli-bp.json"
    rc = main(["train", "--algo", "bid_price", "--scenario", str(scenario), "--updates", "1",
               "--out", str(out)])
    assert rc == 0
    assert json.loads(out.read_text())["train"]["iterations"] == 1
