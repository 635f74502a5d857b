"""The workload: Poisson task arrivals over the episode, each from a user."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aaas import Scenario, Workload
from aaas.domains import task_domains, user_mixes

__all__ = ["Arrival", "poisson_arrivals", "scenario_arrivals"]


@dataclass(frozen=True, kw_only=True)
class Arrival:
    """One task to send."""

    index: int
    """Position in the episode's arrival order (0-based)."""
    at: float
    """Emulated time of the arrival, seconds from the start of the run."""
    user_id: str
    steps: int
    domain: str = "generic"
    """The content's domain (one of the scenario's)."""


def poisson_arrivals(workload: Workload, users: list[str], rng: np.random.Generator, *,
                     horizon_s: float | None = None, domains: tuple[str, ...] = ("generic",),
                     mixes: np.ndarray | None = None) -> list[Arrival]:
    """Arrivals of a Poisson process of rate λ over the horizon; each task's user
    is drawn uniformly from *users* and its steps from the workload's grid; with several
    *domains*, its domain from its user's row of *mixes* (drawn last, so one-domain
    arrivals are the same as without domains).

    The whole population's schedule is drawn, so shards of users (one process
    each) that filter it by user id together send exactly this workload.
    """
    horizon = workload.horizon_s if horizon_s is None else horizon_s
    expected = workload.arrival_rate * horizon
    n_draw = int(expected + 10 * np.sqrt(expected + 1) + 10)
    times = np.cumsum(rng.exponential(1.0 / workload.arrival_rate, size=n_draw))
    while times[-1] < horizon:  # astronomically rare; keep drawing
        more = times[-1] + np.cumsum(rng.exponential(1.0 / workload.arrival_rate, size=n_draw))
        times = np.concatenate([times, more])
    times = times[times < horizon]
    who = rng.integers(0, len(users), size=times.size)
    steps = rng.choice(workload.steps_choices, size=times.size)
    dom = (task_domains(mixes, who, rng) if len(domains) > 1 and mixes is not None
           else np.zeros(times.size, dtype=np.int64))
    return [Arrival(index=i, at=float(t), user_id=users[u], steps=int(s), domain=domains[d])
            for i, (t, u, s, d) in enumerate(zip(times, who, steps, dom, strict=True))]


def scenario_arrivals(scenario: Scenario, rng: np.random.Generator, *,
                      horizon_s: float | None = None) -> list[Arrival]:
    """The scenario's whole workload: :func:`poisson_arrivals` of all its users, each task
    of a domain drawn from its user's mix (:func:`aaas.domains.user_mixes`)."""
    return poisson_arrivals(scenario.workload, scenario.user_ids(), rng, horizon_s=horizon_s,
                            domains=scenario.domains.names, mixes=user_mixes(scenario))
