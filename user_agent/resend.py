"""How long a user waits for an answer before asking again.

A fixed wait turns an overload into a retry storm: when answers take longer than the
wait (a busy testbed at a high time scale), every task is sent twice, the extra
requests and assignments slow the services further and the lag grows until the run
is lost. The user agent therefore learns how long answers take, with the estimator
TCP uses for its retransmission timeout (RFC 6298: a smoothed latency plus four
times its mean deviation) and asks again only past that (and past 1.5 times the
task's modelled runtime), never sooner than its floor; the learned part is capped.

Samples are taken from a task's *first* send to its answer, even when the task was
sent again: that over-estimates a retried task's latency (the safe side for a resend
timer) and, unlike Karn's rule, keeps learning when every task has been retried.
Written by hand: a dozen lines, and no maintained library offers the estimator alone.
"""

from __future__ import annotations

import math

__all__ = ["ResendTimer"]


class ResendTimer:
    """Smoothed answer latency (wall seconds) and the wait before asking again."""

    ALPHA, BETA, K = 1 / 8, 1 / 4, 4  # RFC 6298, section 2

    def __init__(self, *, floor_s: float, ceiling_s: float) -> None:
        if not 0 < floor_s <= ceiling_s:
            raise ValueError(f"need 0 < floor_s ({floor_s}) <= ceiling_s ({ceiling_s})")
        self.floor_s, self.ceiling_s = floor_s, ceiling_s
        self.srtt: float | None = None
        self.rttvar = 0.0

    def answered(self, latency_s: float) -> None:
        """An answer came *latency_s* wall seconds after the task was first sent."""
        if not math.isfinite(latency_s) or latency_s < 0:
            return
        if self.srtt is None:
            self.srtt, self.rttvar = latency_s, latency_s / 2
        else:
            self.rttvar += self.BETA * (abs(self.srtt - latency_s) - self.rttvar)
            self.srtt += self.ALPHA * (latency_s - self.srtt)

    def wait_s(self, expected_s: float = 0.0) -> float:
        """Seconds to wait before asking again for a task expected to take *expected_s*."""
        learned = 0.0 if self.srtt is None else self.srtt + self.K * self.rttvar
        # The ceiling bounds only what was learned (an outage's late answers must not hold
        # resends back for minutes); a task that takes long by the model waits for it.
        return max(self.floor_s, 1.5 * expected_s, min(self.ceiling_s, learned))
