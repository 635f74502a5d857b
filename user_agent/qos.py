"""What the users record per task, and the summary of a run."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from aaas import Outcome

__all__ = ["OUTCOMES", "ByteCounts", "LatencyStats", "QoSSummary", "QualityStats",
           "SettledTotals", "TaskCounts", "TaskRecord"]

OUTCOMES = tuple(Outcome)
"""Every task sent ends in exactly one of these (:class:`aaas.Outcome`, in its order)."""


@dataclass(kw_only=True, slots=True)
class TaskRecord:
    """One task as its user saw it (slots: a long run keeps one per task)."""

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
    repeat: int = 0
    """0 for a first request; n for the n-th time its user asked again ([workload.repeats])."""
    repeat_of: str | None = None
    """The task id a repeat asks again for."""
    domain: str = "generic"
    """The content's domain."""


@dataclass
class SettledTotals:
    """What the summary needs of records no longer kept in memory (streamed to disk):
    counts, bytes, and the finished tasks' latency and quality (8 bytes each)."""

    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(map(str, Outcome), 0))
    latency: array[float] = field(default_factory=lambda: array("d"))
    quality: array[float] = field(default_factory=lambda: array("d"))
    up: int = 0
    down: int = 0
    retries: int = 0
    repeats: int = 0
    repeat_bytes: int = 0
    domains: dict[str, list[float]] = field(default_factory=dict)
    """Per content domain: [tasks, finished, quality summed over the finished]."""

    def add(self, r: TaskRecord) -> None:
        self.sent += 1
        _tally(self.domains, r)
        if r.repeat > 0:
            self.repeats += 1
            self.repeat_bytes += r.bytes_up + r.bytes_down
        self.outcomes[r.outcome or Outcome.LOST] += 1
        if r.outcome == Outcome.FINISHED:
            if r.latency_s is not None:
                self.latency.append(r.latency_s)
            if r.quality is not None:
                self.quality.append(r.quality)
        self.up += r.bytes_up
        self.down += r.bytes_down
        self.retries += r.attempts - 1


class TaskCounts(msgspec.Struct, kw_only=True):
    """Tasks sent, and how each ended (one field per outcome of OUTCOMES)."""

    sent: int
    finished: int
    crashed: int
    rejected: int
    error: int
    lost: int
    undeliverable: int = 0
    """Content that could not cross its user's channel by the task's deadline."""


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


class RepeatCounts(msgspec.Struct, kw_only=True):
    """Users who asked again ([workload.repeats]): the repeats sent and what they cost."""

    sent: int
    """Repeat requests (each is also a task in ``tasks``)."""
    bytes: int
    """Payload bytes of the repeats: their requests up plus their results down."""


class DomainQoS(msgspec.Struct, kw_only=True):
    """One content domain's tasks: how many, how many finished, their mean quality."""

    tasks: int
    finished: int
    quality_mean: float | None
    """Mean quality of the domain's finished tasks (None: none finished)."""


def _tally(acc: dict[str, list[float]], r: TaskRecord) -> None:
    row = acc.setdefault(r.domain, [0.0, 0.0, 0.0])
    row[0] += 1
    if r.outcome == Outcome.FINISHED and r.quality is not None:
        row[1] += 1
        row[2] += r.quality


def _by_domain(records: list[TaskRecord], base: SettledTotals) -> dict[str, DomainQoS]:
    acc = {d: list(row) for d, row in base.domains.items()}
    for r in records:
        _tally(acc, r)
    return {d: DomainQoS(tasks=int(n), finished=int(f), quality_mean=q / f if f else None)
            for d, (n, f, q) in sorted(acc.items())}


class QoSSummary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
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
    repeats: RepeatCounts | None = None
    """Only when users ask again (``[workload.repeats]``): absent from the JSON otherwise."""
    domains: dict[str, DomainQoS] | None = None
    """Only with several content domains (``[domains]``): tasks, finished and mean quality
    per domain; absent from the JSON otherwise."""

    @classmethod
    def of(cls, records: list[TaskRecord], settled: SettledTotals | None = None, *,
           repeats: bool = False, domains: bool = False) -> QoSSummary:
        """The summary of *records*, plus those already *settled* out of memory."""
        base = settled if settled is not None else SettledTotals()
        outcomes = dict(base.outcomes)
        for r in records:
            outcomes[r.outcome or Outcome.LOST] += 1
        lat = np.array([*base.latency, *(r.latency_s for r in records
                        if r.outcome == Outcome.FINISHED and r.latency_s is not None)])
        q = np.array([*base.quality, *(r.quality for r in records
                      if r.outcome == Outcome.FINISHED and r.quality is not None)])
        return cls(
            # A new outcome without its field in TaskCounts fails here, not silently.
            tasks=TaskCounts(sent=base.sent + len(records), **outcomes),
            quality=QualityStats(mean=float(q.mean()) if q.size else None),
            latency_s=LatencyStats(p50=float(np.percentile(lat, 50)) if lat.size else None,
                                   p95=float(np.percentile(lat, 95)) if lat.size else None),
            bytes=ByteCounts(up=base.up + sum(r.bytes_up for r in records),
                             down=base.down + sum(r.bytes_down for r in records)),
            retries=base.retries + sum(r.attempts - 1 for r in records),
            repeats=RepeatCounts(
                sent=base.repeats + sum(r.repeat > 0 for r in records),
                bytes=base.repeat_bytes + sum(r.bytes_up + r.bytes_down for r in records
                                              if r.repeat > 0)) if repeats else None,
            domains=_by_domain(records, base) if domains else None,
        )

    def as_json(self) -> dict[str, Any]:
        """The summary as JSON-ready builtins (nested dicts)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out
