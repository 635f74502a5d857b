"""Build a policy by name for a scenario."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aaas import ConfigError, Scenario

from .base import Policy
from .benchmarks import LeastLoadedPolicy, RandomPolicy, RoundRobinPolicy, UpperBoundPolicy

__all__ = ["POLICY_NAMES", "make_policy"]

POLICY_NAMES = ("random", "round_robin", "least_loaded", "upper_bound", "sac")


def make_policy(name: str, scenario: Scenario, *, rng: np.random.Generator,
                checkpoint: str | Path | None = None) -> Policy:
    """The policy *name* for *scenario*.

    ``sac`` loads *checkpoint*, by default the one shipped for the scenario's
    name in ``orchestrator/checkpoints/``.
    """
    if name == "random":
        return RandomPolicy(rng)
    if name == "round_robin":
        return RoundRobinPolicy()
    if name == "least_loaded":
        return LeastLoadedPolicy()
    if name == "upper_bound":
        return UpperBoundPolicy([a.curve for a in scenario.asps])
    if name == "sac":
        from .sac import SacPolicy, default_checkpoint  # torch: only when asked for

        return SacPolicy.load(checkpoint or default_checkpoint(scenario), scenario)
    raise ConfigError(f"unknown policy {name!r}; choose one of {', '.join(POLICY_NAMES)}")
