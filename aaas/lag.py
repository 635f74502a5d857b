"""How far behind the emulated clock a process runs: its lag, and whether a run was faithful.

Every event of a run has an emulated time at which it should happen: a user sends
a task at its arrival time, the orchestrator places it and the node admits it the
moment it was sent (the simulator's model: placement takes no time), and the
task ends ``runtime(t)`` after its admission. When a process cannot keep up with
the time scale (CPU, the broker's message rate), the event happens later; that
lag, in emulated seconds and as a share of the task's runtime, is what decides
whether the live run still emulates the paper's model. A :class:`LagMeter` per
process collects it and warns (rate-limited) while it is too large;
:func:`emulation_report` turns the meters of a run into the summary's
``emulation`` section.

The share of the runtime is the scale-free measure: a lag of 1 % of a task's
runtime moves its admission and its release by that much against the other
tasks, which changes which tasks overlap on an ASP only rarely.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import msgspec
import numpy as np

__all__ = ["DEFAULT_MAX_LAG_SHARE", "LAG_KINDS", "EmulationReport", "LagMeter", "LagStats",
           "emulation_report"]

DEFAULT_MAX_LAG_SHARE = 0.01
"""A run is valid while the p99 lag stays within this share of the task runtimes."""

LAG_KINDS = ("send", "decide", "admit", "finish")
"""send: a user sends after the task's arrival time; decide: the orchestrator places it
after it was sent; admit: the node admits it after it was sent; finish: the node ends
it after ``admission + runtime(t)``."""

_MAX_SAMPLES = 1_000_000


class LagStats(msgspec.Struct, frozen=True, kw_only=True):
    """Percentiles of one lag measure."""

    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: np.ndarray, digits: int) -> LagStats:
        if values.size == 0:
            return cls(p50=0.0, p95=0.0, p99=0.0, max=0.0)
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return cls(p50=round(float(p50), digits), p95=round(float(p95), digits),
                   p99=round(float(p99), digits), max=round(float(values.max()), digits))


class EmulationReport(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The summary's ``emulation`` section: did the processes keep up with the clock?"""

    valid: bool
    """True when the p99 lag is within ``max_lag_share`` of the task runtimes."""
    time_scale: float
    max_lag_share: float
    """The threshold used."""
    samples: int
    lag_s: LagStats
    """Lag behind the emulated clock, emulated seconds (every kind of event together)."""
    lag_share: LagStats
    """Lag as a share of the runtime of the task concerned."""
    by_kind: dict[str, LagStats]
    """Lag share per kind of event (:data:`LAG_KINDS`)."""
    late: int
    """Events whose lag exceeded ``max_lag_share`` of their task's runtime."""
    reason: str | None = None
    """Why the run is not valid (left out when it is)."""


class LagMeter:
    """One process's lag samples; warns through *logger* while the lag is too large."""

    def __init__(self, process: str, *, max_share: float = DEFAULT_MAX_LAG_SHARE,
                 logger: logging.Logger | None = None, warn_every_s: float = 5.0) -> None:
        self.process = process
        self.max_share = max_share
        self.log = logger or logging.getLogger(f"aaas.lag.{process}")
        self.warn_every_s = warn_every_s
        self.kinds: list[str] = []
        self.lag_s: list[float] = []
        self.share: list[float] = []
        self._warned_at = -float("inf")
        self._late_since_warning = 0

    def observe(self, kind: str, lag_s: float, runtime_s: float) -> None:
        """Record that an event of *kind* happened *lag_s* emulated seconds late."""
        lag = max(0.0, lag_s)  # early is clock jitter between hosts, not a lag
        share = lag / runtime_s if runtime_s > 0 else 0.0
        if len(self.lag_s) < _MAX_SAMPLES:
            self.kinds.append(kind)
            self.lag_s.append(lag)
            self.share.append(share)
        if share > self.max_share:
            self._late_since_warning += 1
            now = time.monotonic()
            if now - self._warned_at >= self.warn_every_s:
                self.log.warning(
                    "emulation overrun: %s lags %.0f emulated s behind the clock (%.1f%% of "
                    "the task's runtime; %d late events since the last warning): this machine "
                    "cannot keep up with the time scale, lower it (--time-scale auto)",
                    self.process, lag, 100 * share, self._late_since_warning)
                self._warned_at = now
                self._late_since_warning = 0


def emulation_report(meters: Iterable[LagMeter], *, time_scale: float,
                     max_share: float = DEFAULT_MAX_LAG_SHARE) -> EmulationReport:
    """The ``emulation`` section of a run from the lag meters of its processes."""
    kinds: list[str] = []
    lag: list[float] = []
    share: list[float] = []
    for m in meters:
        kinds += m.kinds
        lag += m.lag_s
        share += m.share
    kinds_a, lag_a, share_a = np.array(kinds), np.array(lag), np.array(share)
    by_kind = {k: LagStats.of(share_a[kinds_a == k], 4) for k in LAG_KINDS if (kinds_a == k).any()}
    share_stats = LagStats.of(share_a, 4)
    late = int((share_a > max_share).sum())
    valid = share_stats.p99 <= max_share
    reason = None
    if not valid:
        worst = max(by_kind, key=lambda k: by_kind[k].p99)
        reason = (f"p99 lag is {share_stats.p99:.1%} of the task runtimes (limit "
                  f"{max_share:.1%}), worst at '{worst}' events: the processes could not keep "
                  f"up with x{time_scale:g}; lower --time-scale")
    return EmulationReport(valid=valid, time_scale=time_scale, max_lag_share=max_share,
                           samples=int(share_a.size), lag_s=LagStats.of(lag_a, 1),
                           lag_share=share_stats, by_kind=by_kind, late=late, reason=reason)
