"""The one policy interface, shared by the live orchestrator and the simulator.

A policy sees exactly what the live orchestrator can see: per ASP its capacity,
its free capacity and whether it is online, plus the task's steps, runtime and
content domain.
It returns the index of the ASP (in the scenario's order) to assign the task to.
The simulator builds the same :class:`Observation`, so a policy is compared on
equal terms in both.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

__all__ = ["Observation", "Policy"]


@dataclass(frozen=True, kw_only=True)
class Observation:
    """What a policy may look at when it picks an ASP for one task."""

    capacity_M: npt.NDArray[np.int64]
    """C_i of every ASP, in the scenario's order."""
    free_M: npt.NDArray[np.int64]
    """Free capacity of every ASP (capacity minus the steps of its running tasks)."""
    online_M: npt.NDArray[np.bool_]
    """Whether the ASP is reachable (always true in the simulator)."""
    steps: int
    """t of the task to place."""
    runtime_s: float
    """runtime(t) in emulated seconds."""
    domain: int = 0
    """The task's content domain: its index in the scenario's domains (0 with one)."""

    @property
    def n_asps(self) -> int:
        return int(self.capacity_M.shape[0])

    def candidates(self) -> npt.NDArray[np.int64]:
        """Indices of the online ASPs (all of them when none is online)."""
        idx = np.flatnonzero(self.online_M)
        return idx if idx.size else np.arange(self.n_asps)


class Policy(abc.ABC):
    """Picks an ASP for a task. Inference only: training lives elsewhere."""

    name: ClassVar[str]

    @abc.abstractmethod
    def select(self, obs: Observation) -> int:
        """Index of the chosen ASP."""

    def reset(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Forget per-episode state (called at the start of every episode)."""
