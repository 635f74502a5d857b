"""``--time-scale auto``: the fastest time scale at which this machine keeps up.

It runs short probes of the run's own testbed (the same scenario, broker, link
and policy; a slice of the workload) from the fastest candidate scale down and
takes the first whose ``emulation`` section is valid (:mod:`aaas.lag`): every
process kept its lag behind the emulated clock within the limit. The probes
take a few seconds each; the faster ones fail fast.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the demo is imported when a probe runs: --help stays light
    from aaas.config import Scenario
    from edge_node.keep_up import KeepUp

    from .demo import DemoOptions

__all__ = ["AUTO_SCALES", "ScaleChoice", "choose_time_scale", "pick_time_scale",
           "time_scale_arg"]

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


@dataclass(frozen=True, kw_only=True)
class ScaleChoice:
    """The time scale a run takes, and why."""

    scale: float
    reason: str
    """One line for the log and the summary (``time_scale_reason``)."""
    real: list[KeepUp] = field(default_factory=list)
    """The real ASPs' measurements (empty: the scenario has none)."""


async def choose_time_scale(value: float | str, opts: DemoOptions) -> ScaleChoice:
    """*value* (a number, or ``auto``: probes, capped by the real ASPs) and why."""
    from .demo import scenario_for

    scenario = scenario_for(opts)
    real: list[KeepUp] = []
    if any(a.backend == "repaint" for a in scenario.asps):
        from edge_node.keep_up import measure_real_asps

        real = await asyncio.to_thread(measure_real_asps, scenario)
    cap = min((k.max_scale for k in real), default=math.inf)
    worst = min(real, key=lambda k: k.max_scale) if real else None
    if value != "auto":
        scale = float(value)
        if worst is not None and scale > cap:
            log.warning("--time-scale x%g is too fast for the real ASPs: %s. Expect a run that "
                        "does not keep up; --time-scale auto picks x%g", scale, worst.describe(),
                        round_down(cap))
            return ScaleChoice(scale=scale, real=real, reason=f"x{scale:g} given, above the "
                               f"real ASPs' x{round_down(cap):g} ({worst.describe()})")
        return ScaleChoice(scale=scale, real=real, reason=f"x{scale:g} given")
    probed = await pick_time_scale(opts, cap=cap if real else None)
    if worst is not None and probed >= cap:
        choice = ScaleChoice(scale=round_down(cap), real=real, reason=f"auto: capped by the "
                             f"real ASPs ({worst.describe()}); the probes kept up at "
                             f"x{probed:g} or faster")
    else:
        choice = ScaleChoice(scale=probed, real=real,
                             reason=f"auto: the fastest scale the probes kept up at"
                             f"{f' (the real ASPs keep up to x{cap:.0f})' if real else ''}")
    log.info("--time-scale %s", choice.reason)
    return choice


def round_down(scale: float) -> float:
    """*scale* rounded down to two significant digits (x743.2 -> x740)."""
    if not math.isfinite(scale) or scale <= 0:
        return scale
    unit = 10 ** (math.floor(math.log10(scale)) - 1)
    return float(math.floor(scale / unit) * unit)


def _modeled(scenario: Scenario) -> Scenario:
    """*scenario* with ``modeled`` ASPs in place of the real ones (for the probes)."""
    from msgspec.structs import replace as sreplace

    return sreplace(scenario, asps=tuple(a if a.backend == "modeled" else
                                         sreplace(a, backend="modeled") for a in scenario.asps))


async def pick_time_scale(opts: DemoOptions, scales: tuple[float, ...] = AUTO_SCALES, *,
                          cap: float | None = None) -> float:
    """The fastest of *scales* at which a probe of *opts*' testbed stays valid (real ASPs
    replaced by ``modeled`` ones). With *cap*, probing stops at the first valid scale at or
    above it (a slower scale is easier still)."""
    from msgspec.structs import replace as sreplace

    from .demo import run_demo, scenario_for

    scenario = _modeled(scenario_for(opts))
    wl = scenario.workload
    users = min(wl.users, PROBE_USERS)
    probe = replace(opts, scenario=sreplace(scenario, workload=sreplace(wl, users=users)),
                    users=None, duration_s=PROBE_TASKS / wl.arrival_rate, json_path=None,
                    json_records=False, json_samples=0, metrics_port=None, progress=False)
    for scale in scales:
        if probe.stop is not None and probe.stop.is_set():
            break
        summary = await run_demo(replace(probe, time_scale=scale))
        em = summary["emulation"]
        lost = summary["tasks"]["lost"]
        log.info("time-scale probe x%g: p99 lag %.2f%% of the runtimes, %d lost: %s", scale,
                 100 * em["lag_share"]["p99"], lost, "valid" if em["valid"] else "not valid")
        if em["valid"] and lost == 0:
            log.info("--time-scale auto: the probes keep up at x%g", scale)
            return scale
        if cap is not None and scale <= cap:
            log.warning("--time-scale auto: the probes did not keep up at x%g, at or below the "
                        "real ASPs' cap", scale)
    log.warning("--time-scale auto: no probe kept up; running at x%g", scales[-1])
    return scales[-1]
