"""``aaas demo``: the whole testbed emulated in one process."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from ..options import (
    Subparsers,
    add_broker,
    add_delivery,
    add_metrics,
    add_policy,
    add_scenario,
)


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo", help="emulate a whole testbed end to end (broker, edge nodes, orchestrator, users)",
        description="Emulate the scenario's workload end to end over MQTT: the embedded broker "
        "(or --broker), one edge node per ASP, the orchestrator and every user, in one process. "
        "Prints a summary table; --json writes it.",
    )
    add_scenario(p)
    add_broker(p, default="start the embedded broker in this process (the 'broker' extra)")
    add_policy(p)
    p.add_argument("--time-scale", type=float, default=10_000.0, metavar="X",
                   help="emulated seconds per wall second (default: 10000: the paper's "
                   "288 h take ~100 s)")
    p.add_argument("--users", type=int, default=None, metavar="N",
                   help="number of users (default: the scenario's)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="emulated length of the workload (default: the scenario's horizon)")
    p.add_argument("--seed", type=int, default=0, help="workload seed (default: 0)")
    p.add_argument("--images", type=Path, default=None, metavar="DIR",
                   help="take the users' images from DIR (default: procedural images)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", dest="json_path",
                   help="write the summary as JSON")
    p.add_argument("--no-link", action="store_true",
                   help="connect the users straight to the broker, bypassing the emulated "
                   "wireless link")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_metrics(p)
    add_delivery(p)
    p.add_argument("--prometheus-sd", type=Path, default=None, metavar="PATH",
                   help="write a Prometheus file_sd targets JSON for the metrics endpoint "
                   "(needs --metrics-port; see monitoring/prometheus.yml)")
    p.add_argument("--metrics-linger", type=float, default=0.0, metavar="SECONDS",
                   help="keep serving /metrics this long after the run so Prometheus scrapes "
                   "the final values (use at least the scrape interval; default: 0)")
    p.add_argument("--json-records", action="store_true",
                   help="add every task's record to --json (for aaas report)")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from aaas.config import load_scenario

    from ..demo import DemoOptions, run_demo
    from ..options import delivery_settings
    from ..runner import run_until_stopped
    from ..summary import summary_table

    if args.users is not None and args.users < 1:
        raise SystemExit("aaas demo: --users must be >= 1")
    if args.time_scale <= 0:
        raise SystemExit("aaas demo: --time-scale must be > 0")
    if args.prometheus_sd is not None and args.metrics_port is None:
        raise SystemExit("aaas demo: --prometheus-sd needs --metrics-port")
    scenario = load_scenario(args.scenario)
    delivery = delivery_settings(args)
    result: dict[str, Any] = {}

    async def main(stop: asyncio.Event) -> int:
        opts = DemoOptions(scenario=scenario, policy=args.policy, checkpoint=args.checkpoint,
                           broker=args.broker, time_scale=args.time_scale, users=args.users,
                           duration_s=args.duration, seed=args.seed, images=args.images,
                           link=not args.no_link,
                           metrics_port=args.metrics_port, metrics_host=args.metrics_host,
                           json_path=args.json_path, prometheus_sd=args.prometheus_sd,
                           metrics_linger_s=args.metrics_linger, json_records=args.json_records,
                           progress=not args.no_progress, stop=stop, delivery=delivery)
        result.update(await run_demo(opts))
        return 130 if stop.is_set() else 0

    code = run_until_stopped(main)
    if result:
        Console().print(summary_table(result))
    return code
