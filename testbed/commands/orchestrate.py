"""``aaas orchestrator``: the live ASP selector."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from testbed.options import Subparsers, add_broker, add_clock, add_metrics, add_policy, add_scenario

if TYPE_CHECKING:
    from aaas.clock import EmulatedClock


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "orchestrator", help="run the orchestrator until Ctrl-C",
        description="Assign every task request to an edge node with the chosen policy, from the "
        "nodes' retained load reports plus the assignments they have not reported yet. "
        "Publishes the testbed clock (retained) on aaas/v1/clock.",
    )
    add_broker(p)
    add_scenario(p)
    add_policy(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the random policy (default: 0)")
    p.add_argument("--state", type=Path, default=None, metavar="PATH",
                   help="keep the open tasks in this SQLite file, so that an orchestrator "
                   "started again after a crash rebuilds them (default: in memory only)")
    p.add_argument("--on-node-loss", choices=["reassign", "fail"], default="reassign",
                   help="a node offline past --node-grace: place its running tasks again "
                   "(reassign) or report them crashed, node_offline (fail) (default: reassign)")
    p.add_argument("--node-grace", type=float, default=10.0, metavar="SECONDS",
                   help="wall seconds an offline node keeps its tasks, so a broker restart "
                   "is not a node death (default: 10)")
    add_clock(p)
    add_metrics(p)
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from monitoring import OrchestratorMetrics
    from orchestrator import Orchestrator
    from orchestrator.policies import make_policy
    from testbed.service import Service

    svc = Service.from_args(args)
    scenario = svc.scenario
    policy = make_policy(args.policy, scenario, rng=np.random.default_rng(args.seed),
                         checkpoint=args.checkpoint)
    log = logging.getLogger("aaas.orchestrator")

    async def serve(clock: EmulatedClock, stop: asyncio.Event) -> int:
        async with Orchestrator(scenario=scenario, policy=policy, url=svc.url, clock=clock,
                                metrics=OrchestratorMetrics(svc.registry), state_path=args.state,
                                on_node_loss=args.on_node_loss,
                                node_grace_s=args.node_grace) as orch:
            log.info("orchestrator on %s: scenario %s, policy %s", svc.url, scenario.name,
                     policy.name)
            await stop.wait()
            led = orch.ledger
            log.info("admitted %d, crashes %d, reward %.2f", led.admitted, led.crashes,
                     led.reward)
        return 0

    return svc.run(serve)
