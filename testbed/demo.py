"""``aaas demo``: a whole emulated testbed, end to end over MQTT.

:func:`run_demo` builds the testbed (:func:`testbed.wiring.open_testbed`: the broker
(a private Mosquitto child when installed, else the embedded amqtt, or ``--broker``;
see :mod:`testbed.brokers`), one edge node per ASP of the scenario, the orchestrator
with the chosen policy, the wireless link and the users), runs the scenario's Poisson
workload (:func:`testbed.users_run.run_users`: send, wait for every answer), collects
what the processes measured and summarises the run
(:func:`testbed.demo_summary.summarise`). The pieces are the same services
``aaas edge-node``, ``aaas orchestrator`` and ``aaas user-agent`` run as separate
processes on a testbed; at high task rates the edge nodes and the link run in processes
of their own (:mod:`testbed.spread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import numpy as np

from .demo_options import DemoOptions, scenario_for
from .demo_summary import DemoSummary, LinkTotals, RewardTotals, summarise
from .runner import freeze_heap
from .users_run import connect_users, drain_time_s, run_users
from .wiring import open_testbed

__all__ = ["DemoOptions", "DemoSummary", "LinkTotals", "RewardTotals", "run_demo",
           "scenario_for"]

log = logging.getLogger("aaas.demo")


async def run_demo(opts: DemoOptions) -> dict[str, Any]:
    """Run the testbed; returns its :class:`DemoSummary` as JSON-ready builtins.

    The same summary is written to ``json_path`` when given.
    """
    from user_agent import scenario_arrivals

    scenario = scenario_for(opts)
    started = time.perf_counter()
    arrivals = scenario_arrivals(scenario, np.random.default_rng([opts.seed, 0]))
    stop = opts.stop or asyncio.Event()
    async with open_testbed(opts, scenario, tasks=len(arrivals)) as bed:
        await connect_users(bed.agent, stop=stop, progress=opts.progress, log=log)
        freeze_heap()
        cpu_from = time.process_time()
        await run_users(bed.agent, arrivals, clock=bed.clock, stop=stop, progress=opts.progress,
                        drain_s=drain_time_s(scenario, opts.delivery, bed.clock), log=log)
        summary = (await summarise(bed, opts, started=started, cpu_from=cpu_from)).as_json()
        await _linger(opts, stop)
    if opts.json_path is not None:
        opts.json_path.parent.mkdir(parents=True, exist_ok=True)
        opts.json_path.write_text(json.dumps(summary, indent=2) + "\n")
        log.info("summary written to %s", opts.json_path)
    return summary


async def _linger(opts: DemoOptions, stop: asyncio.Event) -> None:
    """Keep serving /metrics a while after the run (``--metrics-linger``), or until stop."""
    if opts.metrics_port is None or opts.metrics_linger_s <= 0:
        return
    log.info("serving the final metrics for %g s more", opts.metrics_linger_s)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), opts.metrics_linger_s)
