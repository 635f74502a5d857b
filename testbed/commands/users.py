"""``aaas user-agent``: emulated users (one process can host many, or one on a Pi)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
from pathlib import Path

from testbed.options import (
    Subparsers,
    add_broker,
    add_clock,
    add_delivery,
    add_metrics,
    add_scenario,
)


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
    from msgspec.structs import replace
    from prometheus_client import CollectorRegistry

    from aaas import ConfigError, load_scenario
    from monitoring import DeliveryMetrics, UserMetrics
    from testbed.options import (
        broker_or_default,
        delivery_settings,
        metrics_server,
        resolve_clock,
    )
    from testbed.runner import run_until_stopped
    from testbed.users_run import drain_time_s, run_users
    from user_agent import ImageSource, UserAgent, poisson_arrivals

    scenario = load_scenario(args.scenario)
    if args.duration is not None:
        scenario = replace(scenario, workload=replace(scenario.workload, horizon_s=args.duration))
    if args.users is not None:  # the same population as `aaas demo --users N`
        scenario = replace(scenario, workload=replace(scenario.workload, users=args.users))
    users = _select_users(scenario.user_ids(), args)
    if args.run_id is not None:
        from aaas.topics import validate_topic_value

        if len(args.run_id) > 64:
            raise ConfigError("--run-id: at most 64 characters")
        validate_topic_value("--run-id", args.run_id)
    arrivals = poisson_arrivals(scenario.workload, scenario.user_ids(),
                                np.random.default_rng([args.seed, 0]))
    mine = [a for a in arrivals if a.user_id in set(users)]
    url, registry = broker_or_default(args), CollectorRegistry()
    delivery = delivery_settings(args)
    images = ImageSource(size=scenario.limits.image_size,
                         rng=np.random.default_rng([args.seed, 1, len(users)]), folder=args.images,
                         noise=scenario.limits.image_noise, pool=scenario.limits.image_pool)
    log = logging.getLogger("aaas.user")

    async def main(stop: asyncio.Event) -> int:
        clock = await resolve_clock(args, url, identity=users[0] if users else None)
        records = args.records.open("w") if args.records is not None else None
        with metrics_server(args, registry), contextlib.ExitStack() as files:
            if records is not None:
                files.enter_context(records)
            async with UserAgent(scenario=scenario, user_ids=users, url=url, clock=clock,
                                 images=images, metrics=UserMetrics(registry),
                                 run_id=args.run_id, lost_after_s=args.lost_after,
                                 records_out=records,
                                 delivery=delivery,
                                 delivery_metrics=DeliveryMetrics(registry)) as agent:
                await agent.wait_connected()
                log.info("%d users on %s; %d tasks to send over %.0f emulated s", len(users), url,
                         len(mine), scenario.workload.horizon_s)
                await run_users(agent, mine, clock=clock, stop=stop, log=log,
                                drain_s=drain_time_s(scenario, delivery, clock))
                summary = agent.summary()
        out = summary.as_json()
        print(json.dumps(out, indent=2))
        if args.json_path is not None:
            args.json_path.write_text(json.dumps(out, indent=2) + "\n")
        return 0

    return run_until_stopped(main)
