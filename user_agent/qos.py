"""What the users record per task, and the summary of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from aaas import Outcome

__all__ = ["OUTCOMES", "ByteCounts", "LatencyStats", "QoSSummary", "QualityStats", "TaskCounts",
           "TaskRecord"]

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
    first_preview_s: float | None = None
    """Emulated seconds from sending to the first preview (WebRTC delivery, repaint)."""
    clean: np.ndarray | None = field(default=None, repr=False)
    """The original image (emulation only: for full-reference metrics)."""


class TaskCounts(msgspec.Struct, kw_only=True):
    """Tasks sent, and how each ended (one field per outcome of OUTCOMES)."""

    sent: int
    finished: int
    crashed: int
    rejected: int
    error: int
    lost: int


class QualityStats(msgspec.Struct, kw_only=True):
    mean: float | None
    """Mean quality of the finished tasks (None: none finished)."""


class LatencyStats(msgspec.Struct, kw_only=True):
    """Latency of the finished tasks, emulated seconds from send to result."""

    p50: float | None
    p95: float | None


class ByteCounts(msgspec.Struct, kw_only=True):
    """Payload bytes the users sent and received (not counting MQTT framing)."""

    up: int
    down: int


class QoSSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Counts and QoS over a run's tasks: the JSON summary of ``aaas user-agent``.

    ``aaas demo``'s summary is this plus its own sections (testbed.demo.DemoSummary),
    so the same figure has the same key in both; docs/cli.md lists them.
    """

    tasks: TaskCounts
    quality: QualityStats
    latency_s: LatencyStats
    bytes: ByteCounts
    retries: int
    """Resends by the users (a task retried twice counts 2)."""

    @classmethod
    def of(cls, records: list[TaskRecord]) -> QoSSummary:
        outcomes = dict.fromkeys(map(str, Outcome), 0)
        for r in records:
            outcomes[r.outcome or Outcome.LOST] += 1
        lat = np.array([r.latency_s for r in records
                        if r.outcome == Outcome.FINISHED and r.latency_s is not None])
        q = np.array([r.quality for r in records
                      if r.outcome == Outcome.FINISHED and r.quality is not None])
        return cls(
            # A new outcome without its field in TaskCounts fails here, not silently.
            tasks=TaskCounts(sent=len(records), **outcomes),
            quality=QualityStats(mean=float(q.mean()) if q.size else None),
            latency_s=LatencyStats(p50=float(np.percentile(lat, 50)) if lat.size else None,
                                   p95=float(np.percentile(lat, 95)) if lat.size else None),
            bytes=ByteCounts(up=sum(r.bytes_up for r in records),
                             down=sum(r.bytes_down for r in records)),
            retries=sum(r.attempts - 1 for r in records),
        )

    def as_json(self) -> dict[str, Any]:
        """The summary as JSON-ready builtins (nested dicts)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out
