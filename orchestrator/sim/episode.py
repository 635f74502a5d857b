"""One episode's workload: Poisson task arrivals over the horizon.

The ASPs are fixed by the scenario (physical servers); episodes differ only in
their task arrivals. An episode is drawn whole from one seeded Generator, so
the single and the batch simulator see exactly the same tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aaas import Scenario
from aaas.domains import task_domains, user_mixes

__all__ = ["Episode", "draw_episode"]


@dataclass(frozen=True, kw_only=True)
class Episode:
    """The tasks of one episode, in arrival order."""

    arrival_s: npt.NDArray[np.float64]
    """Arrival time of every task (sorted), emulated seconds."""
    steps: npt.NDArray[np.int64]
    """t of every task."""
    runtime_s: npt.NDArray[np.float64]
    """runtime(t) of every task, emulated seconds."""
    user: npt.NDArray[np.int64] | None = None
    """The user (index) of every task; drawn only when users ask again (repeats) or the
    scenario has several domains."""
    domain: npt.NDArray[np.int64] | None = None
    """The content domain (index into the scenario's domains) of every task; None: every
    task is of domain 0 (one-domain scenarios)."""

    def domains(self) -> npt.NDArray[np.int64]:
        """Every task's domain index (zeros when the episode has none)."""
        if self.domain is None:
            return np.zeros(len(self), dtype=np.int64)
        return self.domain

    def __len__(self) -> int:
        return int(self.arrival_s.shape[0])


def draw_episode(scenario: Scenario, rng: np.random.Generator) -> Episode:
    """A Poisson process of rate λ over [0, horizon): N ~ Poisson(λH), times uniform.

    An episode always has at least one task.
    """
    w = scenario.workload
    n = max(1, int(rng.poisson(w.arrival_rate * w.horizon_s)))
    arrival = np.sort(rng.uniform(0.0, w.horizon_s, n))
    steps = rng.choice(w.steps_choices, n).astype(np.int64)
    # drawn after everything else, and only with repeats or domains: other episodes are
    # unchanged
    several = not scenario.domains.single
    user = rng.integers(0, w.users, n) if w.repeats.enabled or several else None
    domain = task_domains(user_mixes(scenario), user, rng) if several and user is not None \
        else None
    return Episode(arrival_s=arrival, steps=steps, runtime_s=scenario.runtime.many(steps),
                   user=user, domain=domain)
