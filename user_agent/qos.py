"""What the users record per task, and the summary of a run."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aaas import Outcome

__all__ = ["OUTCOMES", "QoSSummary", "TaskRecord"]

OUTCOMES = tuple(Outcome)
"""Every task sent ends in exactly one of these (:class:`aaas.Outcome`, in its order)."""


@dataclass(kw_only=True)
class TaskRecord:
    """One task as its user saw it."""

    task_id: str
    user_id: str
    steps: int
    sent_at: float
    attempts: int = 1
    outcome: Outcome | None = None
    """None while outstanding, then its outcome."""
    latency_s: float | None = None
    quality: float | None = None
    node_id: str | None = None
    error: str | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    clean: np.ndarray | None = field(default=None, repr=False)
    """The original image (emulation only: for full-reference metrics)."""


@dataclass(frozen=True, kw_only=True)
class QoSSummary:
    """Counts and QoS over a run's tasks."""

    sent: int
    outcomes: dict[str, int]
    quality_mean: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    bytes_up: int
    bytes_down: int
    retries: int

    @classmethod
    def of(cls, records: list[TaskRecord]) -> QoSSummary:
        outcomes = dict.fromkeys(map(str, Outcome), 0)
        for r in records:
            outcomes[r.outcome or Outcome.LOST] += 1
        lat = np.array([r.latency_s for r in records
                        if r.outcome is Outcome.FINISHED and r.latency_s is not None])
        q = np.array([r.quality for r in records
                      if r.outcome is Outcome.FINISHED and r.quality is not None])
        return cls(
            sent=len(records),
            outcomes=outcomes,
            quality_mean=float(q.mean()) if q.size else None,
            latency_p50_s=float(np.percentile(lat, 50)) if lat.size else None,
            latency_p95_s=float(np.percentile(lat, 95)) if lat.size else None,
            bytes_up=sum(r.bytes_up for r in records),
            bytes_down=sum(r.bytes_down for r in records),
            retries=sum(r.attempts - 1 for r in records),
        )
