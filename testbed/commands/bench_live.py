"""``aaas bench live``: the live testbed's capacity over the offered task rate."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from ..brokers import BROKER_KINDS
from ..options import Subparsers, add_broker, add_scenario, add_spread

__all__ = ["DEFAULT_RATES", "register_live"]

DEFAULT_RATES = (50.0, 100.0, 200.0, 300.0, 400.0, 600.0)
"""Offered tasks per wall second (the default sweep)."""


def _rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(r) for r in text.split(",") if r)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of rates: {text!r}") \
            from None
    if not rates or min(rates) <= 0:
        raise argparse.ArgumentTypeError("rates must be > 0")
    return rates


def register_live(bsub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``bench live`` to the ``bench`` subcommands."""
    from orchestrator.policies import POLICIES

    p = bsub.add_parser("live", help="live tasks/s with zero loss, swept over the offered rate",
                        description="Run the demo's testbed at each offered task rate (the "
                        "scenario's workload sped up) and write per rate the tasks lost, the "
                        "CPU of each process and the emulation lag; max_zero_loss_tasks_per_s "
                        "is the highest rate that lost no task (docs/performance.md).")
    add_scenario(p)
    add_broker(p, default="as aaas demo: its own private Mosquitto child (amqtt where none is "
               "installed), not a broker at 127.0.0.1:1883", keywords=BROKER_KINDS)
    p.add_argument("--policy", choices=POLICIES.names(), default="least_loaded",
                   help="policy (default: least_loaded)")
    p.add_argument("--rates", type=_rates, default=DEFAULT_RATES, metavar="R1,R2,...",
                   help="offered tasks per wall second (default: "
                   f"{','.join(f'{r:g}' for r in DEFAULT_RATES)})")
    p.add_argument("--sustain", type=float, default=10.0, metavar="SECONDS",
                   help="wall seconds of arrivals per rate (default: 10)")
    p.add_argument("--users", type=int, default=None, metavar="N",
                   help="number of users (default: the scenario's)")
    p.add_argument("--link", action="store_true",
                   help="route the users through the emulated wireless link (default: straight "
                   "to the broker: the bench measures the messaging)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", dest="json_path",
                   help="write the sweep as JSON")
    add_spread(p)
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    import msgspec

    from aaas.config import load_scenario

    from ..bench_live import bench_live
    from ..demo import DemoOptions
    from ..runner import run_until_stopped

    scenario = load_scenario(args.scenario)
    out: dict[str, object] = {}

    async def main(stop: asyncio.Event) -> int:
        base = DemoOptions(scenario=scenario, policy=args.policy, broker=args.broker,
                           users=args.users, link=args.link, progress=False, stop=stop,
                           spread=args.spread,
                           spread_orchestrator=args.spread_orchestrator)
        out.update(msgspec.to_builtins(await bench_live(base, args.rates, args.sustain)))
        return 130 if stop.is_set() else 0

    code = run_until_stopped(main)
    if out:
        text = json.dumps(out, indent=2)
        if args.json_path is not None:
            args.json_path.parent.mkdir(parents=True, exist_ok=True)
            args.json_path.write_text(text + "\n")
        print(json.dumps({k: out[k] for k in ("broker", "max_zero_loss_tasks_per_s",
                                              "max_valid_tasks_per_s")}))
    return code
