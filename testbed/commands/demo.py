"""``aaas demo``: the whole testbed emulated end to end (in one process, or spread)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..brokers import BROKER_KINDS
from ..options import (
    Subparsers,
    add_broker,
    add_delivery,
    add_metrics,
    add_policy,
    add_scenario,
    add_spread,
)

if TYPE_CHECKING:
    from aaas.config import Scenario

    from ..demo import DemoOptions

log = logging.getLogger("aaas.demo")


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo", help="emulate a whole testbed end to end (broker, edge nodes, orchestrator, users)",
        description="Emulate the scenario's workload end to end over MQTT: a private Mosquitto "
        "broker (the embedded amqtt where Mosquitto is not installed, or --broker), one edge "
        "node per ASP, the orchestrator and every user, in one process. "
        "Prints a summary table; --json writes it.",
    )
    add_scenario(p)
    add_broker(p, default="start a private Mosquitto child process when mosquitto is installed, "
               "else the embedded amqtt broker in this process (the 'broker' extra)",
               keywords=BROKER_KINDS)
    add_policy(p, default=None, default_help="sac with the checkpoint shipped for the scenario; "
               "least_loaded for a scenario that ships none")
    add_time_scale(p)
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
    add_spread(p)
    add_delivery(p, previews=True)
    p.add_argument("--prometheus-sd", type=Path, default=None, metavar="PATH",
                   help="write a Prometheus file_sd targets JSON for the metrics endpoint "
                   "(needs --metrics-port; see monitoring/prometheus.yml)")
    p.add_argument("--metrics-linger", type=float, default=0.0, metavar="SECONDS",
                   help="keep serving /metrics this long after the run so Prometheus scrapes "
                   "the final values (use at least the scrape interval; default: 0)")
    p.add_argument("--json-records", action="store_true",
                   help="add every task's record to --json (for aaas report)")
    p.add_argument("--json-samples", type=int, default=0, metavar="N",
                   help="add up to N received results per ASP to --json: original, damaged "
                   "and restored image (aaas report shows them; default: 0)")
    p.add_argument("--secure", action="store_true",
                   help="run on a private TLS Mosquitto with one password per identity and the "
                   "ACL generated from the contract (docs/security.md)")
    p.add_argument("--security-dir", type=Path, default=None, metavar="DIR",
                   help="with --secure: the 'aaas security init' folder to use or extend "
                   "(default: a temporary one)")
    p.set_defaults(run=_run)


def add_time_scale(p: argparse.ArgumentParser) -> None:
    """The one-process testbed's ``--time-scale X|auto``."""
    from ..autoscale import time_scale_arg

    p.add_argument("--time-scale", type=time_scale_arg, default=10_000.0, metavar="X|auto",
                   help="emulated seconds per wall second (default: 10000: the paper's "
                   "288 h take ~100 s); auto: the fastest scale at which short probes of this "
                   "testbed keep up with the clock on this machine (docs/fidelity.md)")


async def resolve_time_scale(value: float | str, opts: DemoOptions) -> DemoOptions:
    """*opts* with *value*'s scale, or for ``auto`` the one
    :func:`testbed.autoscale.choose_time_scale` finds, and why."""
    from ..autoscale import choose_time_scale

    choice = await choose_time_scale(value, opts)
    return replace(opts, time_scale=choice.scale, time_scale_reason=choice.reason)


def default_policy(scenario: Scenario, checkpoint: str | None) -> str:
    """The demo's policy without --policy: the mission's SAC where its weights exist."""
    from orchestrator.policies import default_checkpoint

    if checkpoint is not None or default_checkpoint(scenario).is_file():
        return "sac"
    log.info("no SAC checkpoint ships for scenario %r: running least_loaded "
             "(--policy sac --checkpoint PATH to give one)", scenario.name)
    return "least_loaded"


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from aaas.config import load_scenario

    from ..demo import DemoOptions, run_demo
    from ..options import delivery_settings
    from ..runner import run_until_stopped
    from ..summary import summary_table

    if args.users is not None and args.users < 1:
        raise SystemExit("aaas demo: --users must be >= 1")
    if args.json_samples < 0:
        raise SystemExit("aaas demo: --json-samples must be >= 0")
    if args.prometheus_sd is not None and args.metrics_port is None:
        raise SystemExit("aaas demo: --prometheus-sd needs --metrics-port")
    if args.secure and args.broker is not None:
        raise SystemExit("aaas demo: --secure starts its own broker; leave out --broker")
    scenario = load_scenario(args.scenario)
    policy = args.policy or default_policy(scenario, args.checkpoint)
    delivery = delivery_settings(args)
    result: dict[str, Any] = {}

    async def main(stop: asyncio.Event) -> int:
        if args.secure:
            from msgspec.structs import replace as struct_replace

            from ..secure_demo import secure_broker

            users = scenario.workload if args.users is None else struct_replace(
                scenario.workload, users=args.users)
            with secure_broker(struct_replace(scenario, workload=users),
                               security_dir=args.security_dir) as (url, link_tls):
                return await _demo(stop, url, link_tls)
        return await _demo(stop, args.broker, None)

    async def _demo(stop: asyncio.Event, broker: Any, link_tls: Any) -> int:
        opts = DemoOptions(scenario=scenario, policy=policy, checkpoint=args.checkpoint,
                           broker=broker, link_tls=link_tls, time_scale=10_000.0,
                           users=args.users,
                           duration_s=args.duration, seed=args.seed, images=args.images,
                           link=not args.no_link,
                           metrics_port=args.metrics_port, metrics_host=args.metrics_host,
                           json_path=args.json_path, prometheus_sd=args.prometheus_sd,
                           metrics_linger_s=args.metrics_linger, json_records=args.json_records,
                           json_samples=args.json_samples,
                           progress=not args.no_progress, stop=stop, delivery=delivery,
                           spread=args.spread,
                           spread_orchestrator=args.spread_orchestrator)
        opts = await resolve_time_scale(args.time_scale, opts)
        result.update(await run_demo(opts))
        return 130 if stop.is_set() else 0

    code = run_until_stopped(main)
    if result:
        Console().print(summary_table(result))
    return code
