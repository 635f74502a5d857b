"""The paper's benchmark policies: random, round-robin, overloading avoidance, prophet."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aaas import CrashRule, QualityCurve, Scenario

from .base import Observation, Policy
from .registry import POLICIES

__all__ = ["LeastLoadedPolicy", "RandomPolicy", "RoundRobinPolicy", "UpperBoundPolicy"]


class RandomPolicy(Policy):
    """Any online ASP, uniformly at random."""

    name = "random"

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def select(self, obs: Observation) -> int:
        return int(self.rng.choice(obs.candidates()))


class RoundRobinPolicy(Policy):
    """The ASPs in turn, skipping offline ones."""

    name = "round_robin"

    def __init__(self) -> None:
        self._next = 0

    def reset(self) -> None:
        self._next = 0

    def select(self, obs: Observation) -> int:
        m = obs.n_asps
        for k in range(m):
            i = (self._next + k) % m
            if obs.online_M[i] or not obs.online_M.any():
                self._next = (i + 1) % m
                return i
        raise AssertionError("unreachable")  # pragma: no cover


class LeastLoadedPolicy(Policy):
    """Overloading avoidance: the online ASP with the most free capacity."""

    name = "least_loaded"

    def select(self, obs: Observation) -> int:
        cand = obs.candidates()
        return int(cand[np.argmax(obs.free_M[cand])])


class UpperBoundPolicy(Policy):
    """The prophet: knows every q_i; the best ASP among those with room for the task.

    When no online ASP has room, it falls back to the one with the most free
    capacity (every choice crashes then).
    """

    name = "upper_bound"

    def __init__(self, curves: Sequence[QualityCurve]) -> None:
        self.curves = list(curves)
        self._q_at: dict[int, np.ndarray] = {}
        """q_i(t) of every ASP, per t seen so far (the scenario has few distinct t)."""

    def select(self, obs: Observation) -> int:
        cand = obs.candidates()
        fits = cand[~CrashRule.crashes(obs.free_M[cand], obs.steps)]
        if fits.size == 0:
            return int(cand[np.argmax(obs.free_M[cand])])
        q = self._q_at.get(obs.steps)
        if q is None:
            q = self._q_at[obs.steps] = QualityCurve.table(self.curves, [obs.steps])[:, 0]
        return int(fits[np.argmax(q[fits])])


# The factories the registry builds them with (signature: registry.PolicyFactory).


@POLICIES.register("random")
def _random(scenario: Scenario, *, rng: np.random.Generator, checkpoint: Path | None) -> Policy:
    return RandomPolicy(rng)


@POLICIES.register("round_robin")
def _round_robin(scenario: Scenario, *, rng: np.random.Generator,
                 checkpoint: Path | None) -> Policy:
    return RoundRobinPolicy()


@POLICIES.register("least_loaded")
def _least_loaded(scenario: Scenario, *, rng: np.random.Generator,
                  checkpoint: Path | None) -> Policy:
    return LeastLoadedPolicy()


@POLICIES.register("upper_bound")
def _upper_bound(scenario: Scenario, *, rng: np.random.Generator,
                 checkpoint: Path | None) -> Policy:
    return UpperBoundPolicy([a.curve for a in scenario.asps])
