"""Simulator throughput: environment steps per second, single and batched."""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from aaas import Scenario

from ..sim import AaasEnv, BatchSim

__all__ = ["bench_sim"]


def _single(scenario: Scenario, steps: int, rng: np.random.Generator) -> float:
    env = AaasEnv(scenario)
    env.reset(seed=int(rng.integers(1 << 31)))
    actions = rng.integers(0, env.n_asps, steps).tolist()
    t0 = time.perf_counter()
    for a in actions:
        _, _, done, _, _ = env.step(a)
        if done:
            env.reset()
    return steps / (time.perf_counter() - t0)


def _batch(scenario: Scenario, n_envs: int, steps: int, rng: np.random.Generator) -> float:
    sim = BatchSim(scenario, n_envs, seed=int(rng.integers(1 << 31)))
    actions = rng.integers(0, sim.n_asps, (steps, n_envs))
    t0 = time.perf_counter()
    for a in actions:
        sim.step(a)
    return steps * n_envs / (time.perf_counter() - t0)


def bench_sim(scenario: Scenario, *, n_envs: int = 4096, single_steps: int = 50_000,
              batch_steps: int = 100, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Medians over *repeats* runs of uniformly random actions (episodes auto-reset)."""
    rng = np.random.default_rng(seed)
    single = [_single(scenario, single_steps, rng) for _ in range(repeats)]
    batch = [_batch(scenario, n_envs, batch_steps, rng) for _ in range(repeats)]
    return {
        "scenario": scenario.name,
        "single_env_steps_per_s": statistics.median(single),
        "batch_env_steps_per_s": statistics.median(batch),
        "n_envs": n_envs,
        "repeats": repeats,
        "single_runs": [round(x) for x in single],
        "batch_runs": [round(x) for x in batch],
    }
