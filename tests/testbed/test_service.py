"""The start-up every service command shares: scenario, broker, registry, clock, /metrics."""

from __future__ import annotations

import argparse
import asyncio
import socket
import urllib.request

import pytest

from aaas import BrokerURL, ConfigError, EmulatedClock
from testbed.cli import build_parser
from testbed.service import Service


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_a_service_takes_its_scenario_broker_and_clock_from_its_options() -> None:
    args = _args("orchestrator", "--scenario", "agod", "--broker", "mqtt://10.0.0.7:1999",
                 "--time-scale", "250", "--clock-epoch", "1000")
    svc = Service.from_args(args)
    assert svc.scenario.name == "agod"
    assert (svc.url.host, svc.url.port) == ("10.0.0.7", 1999)
    seen: list[EmulatedClock] = []

    async def serve(clock: EmulatedClock, stop: asyncio.Event) -> int:
        seen.append(clock)
        return 3

    assert svc.run(serve) == 3
    assert seen[0].scale == 250 and seen[0].wall_epoch == 1000


def test_without_broker_a_service_connects_to_the_local_one() -> None:
    svc = Service.from_args(_args("edge-node"))
    assert svc.url == BrokerURL()
    assert svc.scenario.name == "paper"


def test_metrics_are_served_from_the_services_own_registry_while_it_runs() -> None:
    from prometheus_client import Counter

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    svc = Service.from_args(_args("user-agent", "--metrics-port", str(port)))
    Counter("aaas_test", "a test counter", registry=svc.registry).inc()

    async def serve(clock: EmulatedClock, stop: asyncio.Event) -> int:
        body = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read())
        return 0 if b"aaas_test_total 1.0" in body else 1

    assert svc.run(serve) == 0


def test_a_command_without_scenario_or_clock_options_runs_in_real_time() -> None:
    svc = Service.from_args(_args("broker", "--port", "0"))
    with pytest.raises(ConfigError, match="no --scenario"):
        _ = svc.scenario

    async def serve(clock: EmulatedClock, stop: asyncio.Event) -> int:
        return 0 if clock.scale == 1.0 else 1

    assert svc.run(serve) == 0
