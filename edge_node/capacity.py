"""An ASP's capacity and the paper's crash rule, free of any I/O.

The formulas (crash condition, progress, penalty, reward) are ``aaas.CrashRule``'s,
the same the simulators use; this module only keeps the books of one ASP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aaas import CrashRule

__all__ = ["Admission", "CapacityLedger", "Running"]


@dataclass(kw_only=True)
class Running:
    """A task holding capacity."""

    task_id: str
    user_id: str
    steps: int
    started_at: float
    runtime_s: float
    quality: float = 0.0
    """q_i(t): the ASP's quality for the task's steps (its reward on admission)."""
    reply_key: str | None = None
    """The request's reply key, echoed in every result of the task."""

    def progress(self, now: float) -> float:
        return CrashRule.progress(now, self.started_at, self.runtime_s)


@dataclass(frozen=True, kw_only=True)
class Admission:
    """The ledger's verdict on a new task."""

    admitted: bool
    lost: tuple[tuple[Running, float], ...] = ()
    """On a crash: every task that was running, with its progress."""
    penalty: float = 0.0
    reward: float = 0.0
    """The paper's reward of the assignment: q_i(t) if admitted, else −penalty."""


@dataclass(kw_only=True)
class CapacityLedger:
    """Who holds how much of capacity C, and what a crash costs."""

    capacity: int
    rule: CrashRule = field(default_factory=CrashRule)
    running: dict[str, Running] = field(default_factory=dict)
    crashes: int = 0

    @property
    def used(self) -> int:
        return sum(r.steps for r in self.running.values())

    @property
    def free(self) -> int:
        return self.capacity - self.used

    def offer(self, task: Running, now: float) -> Admission:
        """Admit *task*, or crash: free < t loses every running task, frees the
        capacity and does not admit the new task."""
        if not self.rule.crashes(self.free, task.steps):
            self.running[task.task_id] = task
            return Admission(admitted=True, reward=self.rule.reward(task.quality, 0.0))
        lost = tuple((r, r.progress(now)) for r in self.running.values())
        self.running.clear()
        self.crashes += 1
        penalty = self.rule.penalty(p for _, p in lost)
        return Admission(admitted=False, lost=lost, penalty=penalty,
                         reward=self.rule.reward(0.0, penalty))

    def finish(self, task_id: str) -> Running | None:
        return self.running.pop(task_id, None)
