"""Per-episode counters, shared by the single and the batch simulator."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from aaas import QualityCurve, Scenario

__all__ = ["DomainStats", "EpisodeStats", "quality_table"]


def quality_table(scenario: Scenario) -> np.ndarray:
    """q_{d,i}(t) for every domain d, ASP i and integer t in 0..steps_max, shape
    (D, M, t_max+1)."""
    t = np.arange(scenario.workload.steps_max + 1)
    return np.stack([QualityCurve.table([a.curve_for(d) for a in scenario.asps], t)
                     for d in range(len(scenario.domains.names))])


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


DOMAIN_COLUMNS = ("tasks", "admitted", "rejected", "killed", "ret", "utility", "matched")


@dataclass(kw_only=True)
class DomainStats:
    """Per content domain (rows) of one episode: the :data:`DOMAIN_COLUMNS`.

    ``ret`` is the reward the domain's tasks earned (q on admission, −penalty when the
    task was rejected by a crash); ``utility`` the quality of its finished tasks;
    ``matched`` the tasks placed on a specialist of their own domain.
    """

    table: np.ndarray

    @classmethod
    def zeros(cls, n_domains: int) -> DomainStats:
        return cls(table=np.zeros((n_domains, len(DOMAIN_COLUMNS))))

    def arrived(self, d: int, *, matched: bool) -> None:
        self.table[d, 0] += 1
        self.table[d, 6] += matched

    def admitted(self, d: int, q: float) -> None:
        self.table[d, 1] += 1
        self.table[d, 4] += q
        self.table[d, 5] += q

    def rejected(self, d: int, reward: float) -> None:
        self.table[d, 2] += 1
        self.table[d, 4] += reward

    def killed(self, d: int, q: float) -> None:
        self.table[d, 3] += 1
        self.table[d, 5] -= q

    def rows(self, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
        """Per domain name: the columns, plus the mean quality per task and the match share."""
        out: dict[str, dict[str, float]] = {}
        for name, row in zip(names, self.table.tolist(), strict=True):
            cols = dict(zip(DOMAIN_COLUMNS, row, strict=True))
            n = max(cols["tasks"], 1.0)
            out[name] = {**cols, "quality_per_task": cols["utility"] / n,
                         "match_share": cols["matched"] / n}
        return out
