"""``aaas user-agent``: emulated users (one process can host many, or one on a Pi)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

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
    from aaas.config import Scenario

log = logging.getLogger("aaas.user")


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "user-agent", help="run emulated users: send the workload, wait for the results",
        description="Run users of the scenario on the broker (default mqtt://127.0.0.1:1883). The "
        "whole population's Poisson workload is drawn from --seed; this process sends the tasks "
        "of its own users (--user-ids, or shard K of N), waits for the answers and prints its "
        "QoS summary (the demo's tasks, quality, latency_s, bytes and retries).",
    )
    add_broker(p)
    add_scenario(p)
    p.add_argument("--users", type=_user_count, default=None, metavar="N",
                   help="number of users in the population (default: the scenario's); as in "
                   "aaas demo, give every shard the same")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--user-ids", default=None, metavar="ID[,ID...]",
                     help="user ids to run (default: all of the population's)")
    who.add_argument("--shard", default=None, metavar="K/N",
                     help="run the K-th of N equal slices of the user ids (K from 0)")
    p.add_argument("--seed", type=int, default=0,
                   help="workload seed; give every shard the same (default: 0)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="emulated length of the workload (default: the scenario's horizon)")
    p.add_argument("--images", type=Path, default=None, metavar="DIR",
                   help="take images from DIR (default: procedural images)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", dest="json_path",
                   help="write the QoS summary as JSON")
    p.add_argument("--lost-after", type=float, default=60.0, metavar="SECONDS",
                   help="wall seconds past a task's expected end (2 runtimes + the queue "
                   "timeout) after which an unanswered task is lost (default: 60)")
    p.add_argument("--records", type=Path, default=None, metavar="PATH",
                   help="stream every settled task's record to PATH as JSON lines and keep "
                   "only totals in memory (for long runs; default: records stay in memory)")
    p.add_argument("--run-id", default=None, metavar="ID",
                   help="prefix of this run's task ids, which scopes the services' duplicate "
                   "detection to the run (default: random)")
    add_clock(p)
    add_metrics(p)
    add_delivery(p)
    p.set_defaults(run=_run)


def _user_count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        hint = "; name user ids with --user-ids" if not text.lstrip("-").isdigit() else ""
        raise argparse.ArgumentTypeError(f"expected a number of users, got {text!r}{hint}") \
            from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return n


def _select_users(all_users: list[str], args: argparse.Namespace) -> list[str]:
    from aaas import ConfigError

    if args.user_ids:
        chosen = [u.strip() for u in args.user_ids.split(",") if u.strip()]
        unknown = sorted(set(chosen) - set(all_users))
        if unknown:
            raise ConfigError(f"--user-ids: not users of the scenario: {', '.join(unknown[:5])}")
        return chosen
    if args.shard:
        try:
            k, n = (int(x) for x in args.shard.split("/"))
        except ValueError:
            raise ConfigError(f"--shard {args.shard!r}: expected K/N, e.g. 0/4") from None
        if not 0 <= k < n:
            raise ConfigError(f"--shard {args.shard!r}: need 0 <= K < N")
        return all_users[k::n]
    return all_users


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from monitoring import DeliveryMetrics, UserMetrics
    from testbed.options import delivery_settings
    from testbed.service import Service
    from testbed.users_run import drain_time_s, run_users
    from user_agent import ImageSource, UserAgent, scenario_arrivals

    svc = Service.from_args(args)
    scenario = _population(svc.scenario, args)
    users = _select_users(scenario.user_ids(), args)
    _check_run_id(args.run_id)
    arrivals = scenario_arrivals(scenario, np.random.default_rng([args.seed, 0]))
    chosen = set(users)
    mine = [a for a in arrivals if a.user_id in chosen]
    delivery = delivery_settings(args)
    images = ImageSource(size=scenario.limits.image_size,
                         rng=np.random.default_rng([args.seed, 1, len(users)]), folder=args.images,
                         noise=scenario.limits.image_noise, pool=scenario.limits.image_pool)

    async def serve(clock: EmulatedClock, stop: asyncio.Event) -> int:
        with _records_file(args.records) as records:
            async with UserAgent(scenario=scenario, user_ids=users, url=svc.url, clock=clock,
                                 images=images, metrics=UserMetrics(svc.registry),
                                 run_id=args.run_id, lost_after_s=args.lost_after,
                                 records_out=records, delivery=delivery,
                                 delivery_metrics=DeliveryMetrics(svc.registry)) as agent:
                await agent.wait_connected()
                log.info("%d users on %s; %d tasks to send over %.0f emulated s", len(users),
                         svc.url, len(mine), scenario.workload.horizon_s)
                await run_users(agent, mine, clock=clock, stop=stop, log=log,
                                drain_s=drain_time_s(scenario, delivery, clock))
                summary = agent.summary()
        _write_summary(summary.as_json(), args.json_path)
        return 0

    return svc.run(serve, identity=users[0] if users else None)


def _population(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """The scenario with --duration and --users applied (the population of ``aaas demo
    --users N``)."""
    from msgspec.structs import replace

    if args.duration is not None:
        scenario = replace(scenario, workload=replace(scenario.workload, horizon_s=args.duration))
    if args.users is not None:
        scenario = replace(scenario, workload=replace(scenario.workload, users=args.users))
    return scenario


def _check_run_id(run_id: str | None) -> None:
    if run_id is None:
        return
    from aaas import ConfigError
    from aaas.topics import validate_topic_value

    if len(run_id) > 64:
        raise ConfigError("--run-id: at most 64 characters")
    validate_topic_value("--run-id", run_id)


def _records_file(path: Path | None) -> contextlib.AbstractContextManager[TextIO | None]:
    """--records: the file settled records stream to, open while the users run."""
    return path.open("w") if path is not None else contextlib.nullcontext()


def _write_summary(out: dict[str, Any], path: Path | None) -> None:
    print(json.dumps(out, indent=2))
    if path is not None:
        path.write_text(json.dumps(out, indent=2) + "\n")
