"""D2SAC: the diffusion actor trains a few steps, loads from its checkpoint and acts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from orch_scenarios import tiny_scenario_file

from aaas import load_scenario
from orchestrator.policies import Observation, make_policy
from orchestrator.training.evaluation import evaluate_policy
from orchestrator.training.sac_algo import SacParams
from orchestrator.training.trainer import VALIDATION_SEED, TrainConfig, train
from testbed.cli import main

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, float]:
    folder = tmp_path_factory.mktemp("d2sac")
    scenario = load_scenario(tiny_scenario_file(folder))
    cfg = TrainConfig(n_envs=4, updates=20, learning_starts=200, eval_every=10,
                      eval_episodes=3, batch_size=32, time_budget_s=None,
                      sac=SacParams(arch="diffusion", hidden=(16, 16)))
    result = train(scenario, cfg, out=folder / "d2.pt", log_csv=folder / "d2.csv")
    return folder / "d2.pt", tiny_scenario_file(folder), result.best_return


def test_tiny_training_writes_a_d2sac_checkpoint_that_acts_as_validated(
        tiny_run: tuple[Path, Path, float]) -> None:
    ckpt, scenario_file, best = tiny_run
    meta = json.loads(ckpt.with_suffix(".json").read_text())
    assert meta["arch"] == "diffusion" and meta["train"]["updates"] == 20
    scenario = load_scenario(scenario_file)
    policy = make_policy("d2sac", scenario, rng=np.random.default_rng(0), checkpoint=ckpt)
    assert policy.name == "d2sac"
    # the single-env live interface on the noise-free path scores what validation scored
    seeds = range(VALIDATION_SEED, VALIDATION_SEED + 3)
    ret = evaluate_policy(policy, scenario, seeds).summary()["return_mean"]
    assert ret == pytest.approx(best, rel=1e-6)


def test_diffusion_actor_samples_in_training_and_is_deterministic_in_eval() -> None:
    from orchestrator.policies.d2sac_net import DiffusionActor

    actor = DiffusionActor(4, 2, (8, 8))
    x = torch.rand(3, 2 * 4 + 2)
    actor.train()
    assert not torch.equal(actor(x), actor(x))  # fresh noise each pass
    actor.eval()
    assert torch.equal(actor(x), actor(x))
    out = actor(x)
    assert out.shape == (3, 4) and out.abs().max() <= actor.max_logit
    # the gradient reaches the denoiser through the whole reverse chain
    actor.train()
    actor(x).sum().backward()
    assert all(p.grad is not None for p in actor.denoiser.parameters())


@pytest.mark.parametrize("name", ["agod", "paper"])
def test_shipped_d2sac_checkpoint_loads_and_acts(name: str) -> None:
    scenario = load_scenario(name)
    policy = make_policy("d2sac", scenario, rng=np.random.default_rng(0))
    assert policy.meta["arch"] == "diffusion"  # type: ignore[attr-defined]
    online = np.zeros(20, dtype=bool)
    online[[2, 9]] = True
    obs = Observation(capacity_M=scenario.capacities, free_M=scenario.capacities.copy(),
                      online_M=online, steps=200, runtime_s=scenario.runtime(200))
    assert policy.select(obs) in (2, 9)
    full = Observation(capacity_M=scenario.capacities, free_M=scenario.capacities.copy(),
                       online_M=np.ones(20, dtype=bool), steps=200,
                       runtime_s=scenario.runtime(200))
    assert policy.select(full) == policy.select(full)


def test_aaas_train_algo_d2sac_runs_a_few_updates(tmp_path: Path) -> None:
    scenario = tiny_scenario_file(tmp_path)
    out = tmp_path / "cli-d2.pt"
    rc = main(["train", "--algo", "d2sac", "--scenario", str(scenario), "--updates", "4",
               "--n-envs", "4", "--eval-every", "4", "--out", str(out)])
    assert rc == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["arch"] == "diffusion" and meta["train"]["updates"] == 4
    assert out.with_suffix(".csv").read_text().count("\n") == 2  # header + one validation
