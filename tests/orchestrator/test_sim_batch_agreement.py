"""The batch simulator agrees with the single env step for step on the same seeds."""

from __future__ import annotations

import numpy as np
import pytest

from aaas import load_scenario
from orchestrator.sim import AaasEnv, BatchSim


@pytest.mark.parametrize("scenario_name", ["paper", "agod", "paper-domains"])
def test_batch_and_single_agree_step_for_step(scenario_name: str) -> None:
    scenario = load_scenario(scenario_name)
    n_envs = 3
    sim = BatchSim(scenario, n_envs, seed=42)
    envs = [AaasEnv(scenario) for _ in range(n_envs)]
    obs = np.stack([e.reset(seed=int(s))[0] for e, s in zip(envs, sim.env_seeds, strict=True)])
    np.testing.assert_allclose(sim.reset(), obs)
    rng = np.random.default_rng(0)
    episodes = 0
    for step in range(2500):  # more than two episodes per env, with resets in between
        # half the time the least-loaded ASP (admissions), else a random one (crashes)
        free = np.stack([e.free for e in envs])
        actions = np.where(rng.random(n_envs) < 0.6, free.argmax(1),
                           rng.integers(0, sim.n_asps, n_envs))
        res = sim.step(actions)
        ended = dict(res.finished)
        for j, env in enumerate(envs):
            o, r, done, _, info = env.step(int(actions[j]))
            assert r == pytest.approx(res.reward[j], abs=1e-9), (step, j)
            assert done == bool(res.done[j])
            if done:
                episodes += 1
                single, batch = info["episode"], ended[j].summary()
                assert single == pytest.approx(batch)
                o, _ = env.reset()
            np.testing.assert_allclose(o, res.obs[j], rtol=1e-6)
        np.testing.assert_array_equal(sim.free, np.stack([e.free for e in envs]))
    assert episodes >= 2 * n_envs


def test_same_seed_same_results() -> None:
    scenario = load_scenario("agod")
    runs = []
    for _ in range(2):
        sim = BatchSim(scenario, 4, seed=3)
        rng = np.random.default_rng(1)
        total = np.zeros(4)
        for _ in range(300):
            total += sim.step(rng.integers(0, sim.n_asps, 4)).reward
        runs.append(total)
    np.testing.assert_array_equal(runs[0], runs[1])
