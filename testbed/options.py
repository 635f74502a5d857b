"""Options every command shares, parsed once at the entry point."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from typing import Any

from rich.logging import RichHandler

from aaas.clock import EmulatedClock
from aaas.mqtt import BrokerURL

__all__ = [
    "Subparsers",
    "add_broker",
    "add_clock",
    "add_logging",
    "add_metrics",
    "add_policy",
    "add_scenario",
    "broker_or_default",
    "make_clock",
    "metrics_server",
    "resolve_clock",
    "setup_logging",
]


Subparsers = argparse._SubParsersAction  # [argparse.ArgumentParser], spelled in annotations


def _broker_url(text: str) -> BrokerURL:
    try:
        return BrokerURL.parse(text)
    except ValueError as exc:  # argparse would print only "invalid value"
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_broker(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    p.add_argument(
        "--broker", type=_broker_url, required=required,
        default=None if required else os.environ.get("AAAS_BROKER"),
        metavar="URL",
        help="MQTT broker, mqtt://[user[:password]@]host[:port] (env AAAS_BROKER)"
        + ("" if required else "; default: an embedded broker"),
    )


def add_policy(p: argparse.ArgumentParser) -> None:
    # The registry's names, entry points included (listed without importing them;
    # light: torch is imported only when sac is built).
    from orchestrator.policies import POLICIES

    p.add_argument("--policy", choices=POLICIES.names(), default="least_loaded",
                   help="ASP-selection policy (default: least_loaded)")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="the policy's weights, for policies that have some (sac; default: "
                   "the checkpoint shipped for the scenario)")


def add_scenario(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", default=os.environ.get("AAAS_SCENARIO", "paper"),
                   metavar="NAME|PATH",
                   help="scenario: a shipped name (paper, agod; see 'aaas scenario list') or a "
                   "TOML path (default: paper)")


def add_clock(p: argparse.ArgumentParser, default: float = 1.0) -> None:
    p.add_argument("--time-scale", type=float, default=default, metavar="X",
                   help=f"emulated seconds per wall second (default: {default:g})")
    p.add_argument("--clock-epoch", type=float, default=None, metavar="UNIX_S",
                   help="wall time (Unix s) at which emulated time was 0; give every process "
                   "of a testbed the same value (default: now)")
    p.add_argument("--follow-clock", action="store_true",
                   help="take the time scale and epoch from the orchestrator's retained clock "
                   "on the broker (aaas/v1/clock) instead of --time-scale/--clock-epoch")


def add_metrics(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                   help="serve Prometheus /metrics on this port (0: any free port; default: off)")
    p.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                   help="address for /metrics (default: 127.0.0.1)")


def add_logging(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-level", default=os.environ.get("AAAS_LOG_LEVEL", "INFO"),
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level (default: INFO)")


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(name)s: %(message)s", datefmt="[%X]",
                        handlers=[RichHandler(rich_tracebacks=True, show_path=False)])
    for noisy in ("amqtt", "transitions", "aaas.mqtt.paho"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


async def resolve_clock(args: argparse.Namespace, url: BrokerURL) -> EmulatedClock:
    """The testbed's clock (--follow-clock), or the one the options describe."""
    if getattr(args, "follow_clock", False):
        from aaas.clock_sync import fetch_clock

        return await fetch_clock(url)
    return make_clock(args)


def make_clock(args: argparse.Namespace) -> EmulatedClock:
    """The clock the options describe."""
    if args.clock_epoch is None:
        return EmulatedClock(scale=args.time_scale)
    return EmulatedClock(scale=args.time_scale, wall_epoch=args.clock_epoch)


def broker_or_default(args: argparse.Namespace) -> BrokerURL:
    """The --broker URL, or a local broker on the standard port."""
    return args.broker if args.broker is not None else BrokerURL()


def metrics_server(
    args: argparse.Namespace, registry: Any
) -> contextlib.AbstractContextManager[Any]:
    """A /metrics server for *registry* when --metrics-port was given."""
    if args.metrics_port is None:
        return contextlib.nullcontext()
    from monitoring import MetricsServer

    return MetricsServer(registry, host=args.metrics_host, port=args.metrics_port)
