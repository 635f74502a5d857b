"""The workload: Poisson task arrivals over the episode, each from a user."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aaas import Workload

__all__ = ["Arrival", "poisson_arrivals"]


@dataclass(frozen=True, kw_only=True)
class Arrival:
    """One task to send."""

    index: int
    """Position in the episode's arrival order (0-based)."""
    at: float
    """Emulated time of the arrival, seconds from the start of the run."""
    user_id: str
    steps: int


def poisson_arrivals(workload: Workload, users: list[str], rng: np.random.Generator, *,
                     horizon_s: float | None = None) -> list[Arrival]:
    """Arrivals of a Poisson process of rate λ over the horizon; each task's user
    is drawn uniformly from *users* and its steps from the workload's grid.

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
    return [Arrival(index=i, at=float(t), user_id=users[u], steps=int(s))
            for i, (t, u, s) in enumerate(zip(times, who, steps, strict=True))]
