"""Discrete SAC: a tiny training run beats random; checkpoints load through make_policy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from orch_scenarios import tiny_scenario_file

from aaas import ConfigError, load_scenario
from orchestrator.policies import Observation, make_policy
from orchestrator.training.evaluation import evaluate_policy
from orchestrator.training.sac_algo import SacParams
from orchestrator.training.trainer import VALIDATION_SEED, TrainConfig, train

pytestmark = pytest.mark.torch

SEEDS = range(VALIDATION_SEED, VALIDATION_SEED + 4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sac")
    scenario = load_scenario(tiny_scenario_file(folder))
    cfg = TrainConfig(n_envs=8, updates=300, learning_starts=400, eval_every=100,
                      eval_episodes=4, batch_size=64, time_budget_s=None,
                      sac=SacParams(hidden=(32, 32)))
    result = train(scenario, cfg, out=folder / "tiny.pt", log_csv=folder / "tiny.csv")
    assert result.checkpoint == folder / "tiny.pt"
    return folder / "tiny.pt", tiny_scenario_file(folder)


def test_tiny_training_beats_random(trained: tuple[Path, Path]) -> None:
    ckpt, scenario_file = trained
    scenario = load_scenario(scenario_file)
    sac = make_policy("sac", scenario, rng=np.random.default_rng(0), checkpoint=ckpt)
    rnd = make_policy("random", scenario, rng=np.random.default_rng(0))
    sac_ret = evaluate_policy(sac, scenario, SEEDS).summary()["return_mean"]
    rnd_ret = evaluate_policy(rnd, scenario, SEEDS).summary()["return_mean"]
    assert sac_ret > rnd_ret + 10, (sac_ret, rnd_ret)
    # the metadata's best validation return is what the saved actor scores on those episodes
    meta = json.loads(ckpt.with_suffix(".json").read_text())
    assert sac_ret == pytest.approx(meta["train"]["best_eval_return"], rel=1e-6)


def test_checkpoint_metadata_and_log(trained: tuple[Path, Path]) -> None:
    ckpt, _ = trained
    meta = json.loads(ckpt.with_suffix(".json").read_text())
    assert meta["format"] == "aaas-sac/1"
    assert meta["scenario"] == "tiny"
    assert meta["n_asps"] == 8
    assert meta["obs_dim"] == 2 * 8 + 2
    assert meta["features"]["layout"] == "basic"
    assert {"torch", "numpy"} <= set(meta["versions"])
    rows = (ckpt.parent / meta["log"]).read_text().splitlines()
    assert rows[0].startswith("update,env_steps,seconds,eval_return")
    assert len(rows) == 1 + 3


def test_sac_policy_uses_only_the_observation(trained: tuple[Path, Path]) -> None:
    ckpt, scenario_file = trained
    scenario = load_scenario(scenario_file)
    policy = make_policy("sac", scenario, rng=np.random.default_rng(0), checkpoint=ckpt)
    cap = scenario.capacities
    online = np.ones(8, dtype=bool)
    online[:7] = False  # only the last ASP is online: it must be chosen
    obs = Observation(capacity_M=cap, free_M=cap.copy(), online_M=online, steps=150,
                      runtime_s=scenario.runtime(150))
    assert policy.select(obs) == 7


def test_checkpoint_for_another_asp_count_is_refused(trained: tuple[Path, Path]) -> None:
    ckpt, _ = trained
    with pytest.raises(ConfigError, match="trained for 8 ASPs"):
        make_policy("sac", load_scenario("paper"), rng=np.random.default_rng(0), checkpoint=ckpt)
    with pytest.raises(ConfigError, match="needs both"):
        make_policy("sac", load_scenario("paper"), rng=np.random.default_rng(0),
                    checkpoint=ckpt.parent / "missing.pt")


def test_the_shipped_checkpoints_load_for_their_scenarios() -> None:
    for name in ("paper", "agod"):
        scenario = load_scenario(name)
        policy = make_policy("sac", scenario, rng=np.random.default_rng(0))
        obs = Observation(capacity_M=scenario.capacities, free_M=scenario.capacities.copy(),
                          online_M=np.ones(20, dtype=bool), steps=200,
                          runtime_s=scenario.runtime(200))
        assert 0 <= policy.select(obs) < 20
