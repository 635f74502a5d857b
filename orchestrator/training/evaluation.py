"""Run policies on the same episodes and summarise them as the paper's Table V."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aaas import Scenario

from ..policies.base import Policy
from ..sim import AaasEnv, DomainStats, EpisodeStats

__all__ = ["PolicyResult", "evaluate_policy", "summarise"]

log = logging.getLogger("aaas.orchestrator.evaluate")


@dataclass(frozen=True, kw_only=True)
class PolicyResult:
    """One policy's episodes and their Table V summary."""

    name: str
    """The policy's name."""
    episodes: list[EpisodeStats]
    """One entry per evaluated episode, in seed order."""
    seconds: float
    """Wall time the evaluation took."""
    domains: tuple[str, ...] = ("generic",)
    """The scenario's content domains."""
    by_domain: list[DomainStats] | None = None
    """Per episode, its figures per domain."""

    def summary(self) -> dict[str, Any]:
        """The Table V means; with several domains, ``domains``: per domain the mean over
        episodes of its tasks, return, finished quality per task and match share."""
        out: dict[str, Any] = summarise(self.episodes)
        if len(self.domains) > 1 and self.by_domain:
            per = [d.rows(self.domains) for d in self.by_domain]
            out["domains"] = {name: {k: float(np.mean([p[name][k] for p in per]))
                                     for k in per[0][name]} for name in self.domains}
        return out


def summarise(episodes: Sequence[EpisodeStats]) -> dict[str, float]:
    """Mean (and std of the return) over episodes of the Table V columns."""
    rows = [e.summary() for e in episodes]
    ret = np.array([r["ret"] for r in rows])

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in rows]))

    return {
        "episodes": len(rows),
        "return_mean": float(ret.mean()),
        "return_std": float(ret.std()),
        "finished_rate": mean("finished_rate"),
        "crashed_rate": mean("crashed_rate"),
        "utility": mean("utility"),
        "lost_utility": mean("lost_utility"),
        "crashes": mean("crashes"),
        "crashed_tasks": mean("crashed_tasks"),
        "finished": mean("finished"),
        "tasks": mean("tasks"),
        "reward_per_finished": float(np.mean([r["ret"] / max(r["finished"], 1) for r in rows])),
        "repeats": mean("repeats"),
        "repeat_steps": mean("repeat_steps"),
    }


def evaluate_policy(policy: Policy, scenario: Scenario, seeds: Sequence[int]) -> PolicyResult:
    """Play one episode per seed through ``policy.select`` (the live interface)."""
    env = AaasEnv(scenario)
    out: list[EpisodeStats] = []
    by_domain: list[DomainStats] = []
    t0 = time.perf_counter()
    for seed in seeds:
        env.reset(seed=int(seed))
        policy.reset()
        done = False
        while not done:
            _, _, done, _, _ = env.step(policy.select(env.observation()))
        out.append(env.stats)
        by_domain.append(env.by_domain)
    return PolicyResult(name=policy.name, episodes=out, seconds=time.perf_counter() - t0,
                        domains=scenario.domains.names, by_domain=by_domain)
