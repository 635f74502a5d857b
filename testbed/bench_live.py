"""``aaas bench live``: the live testbed's capacity, swept over the offered task rate.

Each step runs the demo's testbed (the scenario's ASPs and users, the default
broker) with the scenario's Poisson workload sped up so that tasks arrive at the
offered rate (time scale = rate / λ) for *sustain_s* wall seconds, and records
what came back: tasks sent, finished and lost, the emulation lag (aaas.lag), the
backlog (the p99 lag in wall seconds) and the CPU each process used (this Python
process, which hosts every service, and the broker's child process).
``max_zero_loss_tasks_per_s`` is the highest offered rate carried with no task lost.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import msgspec

from aaas.config import Scenario

from .demo import DemoOptions, run_demo

__all__ = ["DEFAULT_RATES", "LiveBench", "RateStep", "bench_live"]

log = logging.getLogger("aaas.bench")

DEFAULT_RATES = (50.0, 100.0, 200.0, 300.0, 400.0, 600.0)
"""Offered tasks per wall second (``aaas bench live``'s default sweep; the command's
module keeps its own copy so that ``aaas --help`` imports none of this)."""

MAX_BACKLOG_S = 1.0
"""A rate is carried when the p99 lag stays under this many wall seconds: beyond it the
queue grew over the sustained window, and a longer run would fall further behind."""


class RateStep(msgspec.Struct, kw_only=True):
    """One offered rate."""

    offered_tasks_per_s: float
    time_scale: float
    tasks: dict[str, int]
    sent_tasks_per_s: float
    """Tasks sent over the wall time of the sending phase."""
    lag_wall_p99_s: float
    """The p99 lag behind the emulated clock in wall seconds: a backlog that grew while
    the tasks arrived shows here (the testbed slows down rather than losing tasks)."""
    zero_loss: bool
    """Every task sent got its answer (none lost, none errored) and the testbed carried
    the rate: its p99 lag stayed within :data:`MAX_BACKLOG_S` wall seconds."""
    wall_s: float
    cpu: dict[str, float]
    """CPU seconds per wall second: ``testbed`` (this process: the broker if embedded, the
    users, and the orchestrator, nodes and link unless spread), ``broker`` (the
    Mosquitto child) and ``workers`` (a spread demo's edge-node, orchestrator and link
    processes, testbed.spread)."""
    cpu_ms_per_task: dict[str, float]
    """CPU milliseconds per task sent, by process, while the users ran and drained (the
    demo's ``cpu_s``: ``users``, and ``edge``, ``orchestrator``, ``link`` when they run
    in processes of their own) and ``broker`` (the Mosquitto child, whole step)."""
    emulation: dict[str, Any]


class LiveBench(msgspec.Struct, kw_only=True):
    scenario: str
    policy: str
    broker: str
    link: bool
    sustain_s: float
    max_zero_loss_tasks_per_s: float
    """The highest offered rate carried with no lost task (RateStep.zero_loss; 0 if none)."""
    max_valid_tasks_per_s: float
    """The highest offered rate whose emulation was also valid (aaas.lag)."""
    steps: list[RateStep]


def _cpu(proc: Any) -> float:  # a psutil.Process
    t = proc.cpu_times()
    return float(t.user + t.system)


async def _one_rate(base: DemoOptions, scenario: Scenario, rate: float,
                    sustain_s: float) -> RateStep:
    lam = scenario.workload.arrival_rate
    scale = rate / lam
    import psutil  # imported here: `aaas --help` must not need it

    opts = replace(base, time_scale=scale, duration_s=sustain_s * scale)
    me = psutil.Process()
    children: dict[int, tuple[str, float]] = {}

    # The broker child starts and ends inside run_demo: sample its CPU while it lives.
    import asyncio

    async def sample() -> None:
        while True:
            for c in me.children(recursive=True):
                try:  # the Mosquitto child, or a spread demo's Python children
                    role = "broker" if "mosquitto" in c.name() else "workers"
                    children[c.pid] = (role, _cpu(c))
                except psutil.Error:
                    continue
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    cpu0, wall0 = _cpu(me), time.perf_counter()
    try:
        summary = await run_demo(opts)
    finally:
        sampler.cancel()
    wall = time.perf_counter() - wall0
    cpu = _cpu(me) - cpu0
    tasks = summary["tasks"]
    per_task = {role: round(1000 * s / max(tasks["sent"], 1), 3)
                for role, s in summary.get("cpu_s", {}).items()}
    per_task["broker"] = round(1000 * sum(t for r, t in children.values() if r == "broker")
                               / max(tasks["sent"], 1), 3)
    em = summary["emulation"]
    backlog = em["lag_s"]["p99"] / scale
    step = RateStep(
        offered_tasks_per_s=rate, time_scale=scale, tasks=tasks,
        sent_tasks_per_s=round(tasks["sent"] / sustain_s, 1),
        lag_wall_p99_s=round(backlog, 3),
        zero_loss=tasks["lost"] == 0 and tasks["error"] == 0 and tasks["sent"] > 0
        and backlog <= MAX_BACKLOG_S,
        wall_s=round(wall, 2),
        cpu={"testbed": round(cpu / wall, 3),
             **{role: round(sum(t for r, t in children.values() if r == role) / wall, 3)
                for role in ("broker", "workers")}},
        cpu_ms_per_task=per_task, emulation=em)
    log.info("x%g (%g tasks/s): %d sent, %d finished, %d lost; CPU %s, ms per task %s; "
             "emulation %s (p99 lag %.1f%%)", scale, rate, tasks["sent"], tasks["finished"],
             tasks["lost"], step.cpu, per_task,
             "valid" if em["valid"] else "NOT valid", 100 * em["lag_share"]["p99"])
    return step


async def bench_live(base: DemoOptions, rates: tuple[float, ...] = DEFAULT_RATES,
                     sustain_s: float = 10.0) -> LiveBench:
    """Sweep *rates* (tasks/s) on *base*'s testbed; see the module doc."""
    from .demo import scenario_for

    scenario = scenario_for(replace(base, duration_s=None))
    steps: list[RateStep] = []
    broker = "?"
    for rate in sorted(rates):
        if base.stop is not None and base.stop.is_set():
            break
        steps.append(await _one_rate(base, scenario, rate, sustain_s))
    if steps:
        broker = _broker_kind(base)
    ok = [s.offered_tasks_per_s for s in steps if s.zero_loss]
    valid = [s.offered_tasks_per_s for s in steps if s.zero_loss and s.emulation["valid"]]
    return LiveBench(scenario=scenario.name, policy=base.policy, broker=broker, link=base.link,
                     sustain_s=sustain_s, max_zero_loss_tasks_per_s=max(ok, default=0.0),
                     max_valid_tasks_per_s=max(valid, default=0.0), steps=steps)


def _broker_kind(opts: DemoOptions) -> str:
    from .brokers import _kind

    return _kind(opts.broker)
