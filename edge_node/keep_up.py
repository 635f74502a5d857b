"""How fast a real ASP computes, and the fastest time scale at which it keeps up.

A ``repaint`` ASP runs its tasks for real, one pipeline call (a batch of tasks with
the same steps) after another in one worker thread, while the paper's model lets it
hold up to C/t tasks of t steps at once, each for runtime(t) emulated seconds. It
keeps up with the emulated clock when, with its capacity full of t-step tasks admitted
together, the last of them is done within runtime(t):

    (C // t) · w(t) / r  ≤  runtime(t) / scale

with w(t) the UNet calls of a t-step task (its sampler's, ``RepaintBackend.unet_calls``)
and r the image-UNet calls per wall second it measured (batch 1: batching only helps).
Real ASPs that share the CPU share r; and a margin leaves room for the rest of the
testbed on the same cores. :func:`keep_up_scale` is the bound over the scenario's steps,
:func:`measure_real_asps` measures each real ASP of a scenario and gives its bound.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aaas import AspSpec, ConfigError, RuntimeModel, Scenario

__all__ = ["KEEP_UP_MARGIN", "KeepUp", "keep_up_scale", "measure_real_asps", "workload_steps"]

log = logging.getLogger("aaas.edge.keep_up")

KEEP_UP_MARGIN = 0.5
"""The share of runtime(t) a full ASP's real work may take at the chosen scale: the rest
is room for the other services on the same cores and for tasks arriving unevenly."""


@dataclass(frozen=True, kw_only=True)
class KeepUp:
    """One real ASP's measured speed and the fastest scale it keeps up with."""

    asp: str
    model: str
    calls_per_s: float
    """Image-UNet calls per wall second at batch 1, measured at start."""
    sharing: int
    """Real ASPs that share these cores (each gets 1/sharing of the rate when all run)."""
    steps: int
    """The steps t that bound the scale (the worst of the workload's)."""
    tasks: int
    """C // t: tasks of t steps the ASP holds at once."""
    unet_calls: int
    """w(t): UNet calls of one such task with the ASP's sampler."""
    max_scale: float

    def describe(self) -> str:
        return (f"{self.asp} ({self.model}): {self.calls_per_s:.0f} UNet calls/s"
                f"{f' shared by {self.sharing} real ASPs' if self.sharing > 1 else ''}; "
                f"{self.tasks} tasks of {self.steps} steps at once ({self.unet_calls} calls "
                f"each) keep up to x{self.max_scale:.0f}")


def workload_steps(scenario: Scenario) -> list[int]:
    """Every step count a task of *scenario* may ask for."""
    r = scenario.workload.steps
    if r.step is not None:
        return [int(v) for v in r.grid()]
    return list(range(int(r.min), int(r.max) + 1))


def keep_up_scale(*, capacity: int, steps: Iterable[int], runtime: RuntimeModel,
                  unet_calls: Callable[[int], int], calls_per_s: float, sharing: int = 1,
                  margin: float = KEEP_UP_MARGIN) -> tuple[float, int]:
    """The fastest scale at which a full ASP's tasks end in time, and the steps t that
    bound it (see the module docstring)."""
    if calls_per_s <= 0 or sharing < 1:
        raise ConfigError(f"calls_per_s must be > 0 and sharing >= 1, got {calls_per_s}, "
                          f"{sharing}")
    best, worst_t = float("inf"), 0
    for t in steps:
        tasks = capacity // t
        if tasks == 0:
            continue
        wall_s = sharing * tasks * unet_calls(t) / calls_per_s
        scale = margin * runtime(t) / wall_s
        if scale < best:
            best, worst_t = scale, t
    return best, worst_t


def measure_real_asps(scenario: Scenario, *, device: str | None = None) -> list[KeepUp]:
    """Load each ``repaint`` ASP's model as its node will (one torch thread on the CPU),
    time a few UNet calls, and bound the scale (blocking: seconds per model)."""
    real = [a for a in scenario.asps if a.backend == "repaint"]
    return [_measure(spec, scenario, device=device, sharing=len(real)) for spec in real]


def _measure(spec: AspSpec, scenario: Scenario, *, device: str | None,
             sharing: int) -> KeepUp:
    from aaas import EmulatedClock

    from .backends.repaint import load_repaint_backend
    from .backends.repaint_pipeline import pick_device, unet_call_rate

    if not spec.model:
        raise ConfigError(f"ASP {spec.id} uses the repaint backend but names no model")
    threads = 1 if pick_device(device) == "cpu" else None
    backend = load_repaint_backend(model=spec.model, clock=EmulatedClock(scale=1.0),
                                   device=device, threads=threads, metrics=())
    rate = unet_call_rate(backend.model)
    scale, t = keep_up_scale(capacity=spec.capacity, steps=workload_steps(scenario),
                             runtime=scenario.runtime, unet_calls=backend.unet_calls,
                             calls_per_s=rate, sharing=sharing)
    k = KeepUp(asp=spec.id, model=spec.model, calls_per_s=rate, sharing=sharing, steps=t,
               tasks=spec.capacity // t if t else 0,
               unet_calls=backend.unet_calls(t) if t else 0, max_scale=scale)
    log.info("real ASP %s", k.describe())
    return k
