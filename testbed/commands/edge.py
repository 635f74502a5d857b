"""``aaas edge-node``: run one or more ASPs of a scenario as edge nodes."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import TYPE_CHECKING

from testbed.options import (
    Subparsers,
    add_broker,
    add_clock,
    add_delivery,
    add_metrics,
    add_scenario,
)

if TYPE_CHECKING:
    from aaas.clock import EmulatedClock


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "edge-node", help="run edge nodes (ASPs) until Ctrl-C",
        description="Run the scenario's ASPs (all, or those named by --nodes) as edge nodes on "
        "the broker (default mqtt://127.0.0.1:1883): each takes assignments, applies the crash "
        "rule, runs its backend and publishes results, events and its retained load.",
    )
    add_broker(p)
    add_scenario(p)
    p.add_argument("--nodes", default="all", metavar="ID[,ID...]",
                   help="ASP ids to run (default: all of the scenario's)")
    p.add_argument("--device", default=None, help="torch device for repaint nodes (default: auto)")
    p.add_argument("--keepalive", type=int, default=30, metavar="SECONDS",
                   help="MQTT keepalive: the broker declares the node offline (its last will) "
                   "after 1.5 times this without a packet (default: 30)")
    add_clock(p)
    add_metrics(p)
    add_delivery(p, previews=True)
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from aaas import ConfigError
    from edge_node import start_nodes
    from edge_node.backends import check_backends
    from monitoring import DeliveryMetrics, EdgeMetrics
    from testbed.options import delivery_settings
    from testbed.service import Service

    svc = Service.from_args(args)
    if args.nodes == "all":
        specs = list(svc.scenario.asps)
    else:
        specs = [svc.scenario.asp(n.strip()) for n in args.nodes.split(",") if n.strip()]
        if not specs:
            raise ConfigError("--nodes names no node")
    # unknown backend, or its modules not installed: one line naming the extra, before
    # anything connects (not a node that answers every task with backend_error)
    check_backends(s.backend for s in specs)
    delivery = delivery_settings(args)

    async def serve(clock: EmulatedClock, stop: asyncio.Event) -> int:
        async with start_nodes(scenario=svc.scenario, specs=specs, url=svc.url, clock=clock,
                               metrics=EdgeMetrics(svc.registry), device=args.device,
                               keepalive=args.keepalive, delivery=delivery,
                               delivery_metrics=DeliveryMetrics(svc.registry)):
            logging.getLogger("aaas.edge").info(
                "%d edge node(s) on %s: %s", len(specs), svc.url, ", ".join(s.id for s in specs))
            await stop.wait()
        return 0

    return svc.run(serve, identity=specs[0].id)
