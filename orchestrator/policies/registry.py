"""The policy registry: build a policy by name for a scenario.

Policies register a factory by name next to their implementation
(:mod:`.benchmarks`, :mod:`.sac`); packages outside this repository add theirs
through the ``aaas.policies`` entry point group (see docs/extending.md). The
command line's ``--policy`` choices are :data:`POLICIES`' names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from aaas import Scenario
from aaas.registry import Registry

from .base import Policy

__all__ = ["POLICIES", "PolicyFactory", "make_policy"]


class PolicyFactory(Protocol):
    """What a policy registers: ``factory(scenario, *, rng, checkpoint) -> Policy``.

    *scenario* is the testbed (its ASPs, workload, models); *rng* the seeded
    generator the policy must draw from if it is random; *checkpoint* the
    ``--checkpoint`` path the user gave (None: the policy's default, if it has one;
    a policy without weights ignores it). Raise :class:`aaas.ConfigError` for a
    scenario or checkpoint the policy cannot work with.
    """

    def __call__(self, scenario: Scenario, *, rng: np.random.Generator,
                 checkpoint: Path | None) -> Policy: ...


POLICIES: Registry[PolicyFactory] = Registry("policy", entry_point_group="aaas.policies",
                                             check=callable)


def make_policy(name: str, scenario: Scenario, *, rng: np.random.Generator,
                checkpoint: str | Path | None = None) -> Policy:
    """The policy *name* for *scenario* (:class:`aaas.ConfigError` if unknown).

    ``sac`` loads *checkpoint*, by default the one shipped for the scenario's
    name in ``orchestrator/checkpoints/``.
    """
    factory = POLICIES.get(name)
    return factory(scenario, rng=rng, checkpoint=Path(checkpoint) if checkpoint else None)
