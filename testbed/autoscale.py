"""``--time-scale auto``: the fastest time scale at which this machine keeps up.

It runs short probes of the run's own testbed (the same scenario, broker, link
and policy; a slice of the workload) from the fastest candidate scale down and
takes the first whose ``emulation`` section is valid (:mod:`aaas.lag`): every
process kept its lag behind the emulated clock within the limit. The probes
take a few seconds each; the faster ones fail fast.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the demo is imported when a probe runs: --help stays light
    from .demo import DemoOptions

__all__ = ["AUTO_SCALES", "pick_time_scale", "time_scale_arg"]

log = logging.getLogger("aaas.demo")

AUTO_SCALES = (1e6, 3e5, 1e5, 3e4, 1e4, 3e3, 1e3)
"""Candidate scales, fastest first; the slowest is taken when none is valid."""

PROBE_TASKS = 60
"""Tasks per probe (drawn at the scenario's arrival rate)."""

PROBE_USERS = 100
"""At most this many users in a probe (connecting 1000 users alone takes seconds)."""


def time_scale_arg(text: str) -> float | str:
    """``--time-scale``'s type: a positive number or ``auto``."""
    import argparse

    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'auto': {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 (or 'auto'), got {text}")
    return value


async def pick_time_scale(opts: DemoOptions, scales: tuple[float, ...] = AUTO_SCALES) -> float:
    """The fastest of *scales* at which a probe of *opts*' testbed stays valid."""
    from msgspec.structs import replace as sreplace

    from .demo import run_demo, scenario_for

    scenario = scenario_for(opts)
    wl = scenario.workload
    users = min(wl.users, PROBE_USERS)
    probe = replace(opts, scenario=sreplace(scenario, workload=sreplace(wl, users=users)),
                    users=None, duration_s=PROBE_TASKS / wl.arrival_rate, json_path=None,
                    json_records=False, metrics_port=None, progress=False)
    for scale in scales:
        if probe.stop is not None and probe.stop.is_set():
            break
        summary = await run_demo(replace(probe, time_scale=scale))
        em = summary["emulation"]
        lost = summary["tasks"]["lost"]
        log.info("time-scale probe x%g: p99 lag %.2f%% of the runtimes, %d lost: %s", scale,
                 100 * em["lag_share"]["p99"], lost, "valid" if em["valid"] else "not valid")
        if em["valid"] and lost == 0:
            log.info("--time-scale auto: x%g", scale)
            return scale
    log.warning("--time-scale auto: no probe kept up; running at x%g", scales[-1])
    return scales[-1]
