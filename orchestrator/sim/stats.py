"""Per-episode counters, shared by the single and the batch simulator."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from aaas import QualityCurve, Scenario

__all__ = ["EpisodeStats", "quality_table"]


def quality_table(scenario: Scenario) -> np.ndarray:
    """q_i(t) for every ASP i and every integer t in 0..steps_max, shape (M, t_max+1)."""
    t = np.arange(scenario.workload.steps_max + 1)
    return QualityCurve.table([a.curve for a in scenario.asps], t)


@dataclass(kw_only=True)
class EpisodeStats:
    """What one episode produced (the paper's Table V columns come from these)."""

    ret: float = 0.0
    """Sum of rewards: q on admission, minus the penalty on a crash."""
    tasks: int = 0
    """Tasks that arrived (admitted + rejected by a crash)."""
    admitted: int = 0
    """Tasks placed on an ASP with room for them."""
    crashes: int = 0
    """Crash events; each rejects the arriving task."""
    lost: int = 0
    """Admitted tasks killed by a crash of their ASP."""
    admitted_utility: float = 0.0
    """Sum of q over admitted tasks."""
    lost_utility: float = 0.0
    """Sum of q over admitted tasks that a crash killed."""
    repeats: int = 0
    """Tasks users asked for again (``[workload.repeats]``; counted in ``tasks`` too)."""
    repeat_steps: int = 0
    """Diffusion steps those repeats asked for (the work and traffic they cost)."""

    @property
    def finished(self) -> int:
        """Admitted tasks that were not lost (those running at the end do finish)."""
        return self.admitted - self.lost

    @property
    def crashed_tasks(self) -> int:
        """Tasks lost to crashes: the rejected arrivals plus the killed running tasks."""
        return self.crashes + self.lost

    @property
    def utility(self) -> float:
        """Obtained utility: q summed over finished tasks."""
        return self.admitted_utility - self.lost_utility

    def summary(self) -> dict[str, float]:
        n = max(self.tasks, 1)
        return {**asdict(self), "finished": self.finished, "crashed_tasks": self.crashed_tasks,
                "finished_rate": self.finished / n, "crashed_rate": self.crashed_tasks / n,
                "utility": self.utility}
