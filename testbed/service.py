"""The start-up every long-running service command shares.

``aaas edge-node``, ``orchestrator``, ``user-agent``, ``link`` and ``broker`` all load
their scenario, take their broker (``--broker``, or the local default), make a fresh
metrics registry, and then, inside the event loop, take the testbed clock
(``--time-scale``/``--clock-epoch`` or ``--follow-clock``), serve ``/metrics``
(``--metrics-port``) and run until the first SIGINT/SIGTERM
(:func:`testbed.runner.run_until_stopped`). :class:`Service` does these steps, in this
order, for each of them; a command builds its service in the function it hands to
:meth:`Service.run`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from aaas.clock import EmulatedClock
from aaas.config import Scenario, load_scenario
from aaas.errors import ConfigError
from aaas.mqtt import BrokerURL

from .options import broker_or_default, metrics_server, resolve_clock
from .runner import run_until_stopped

__all__ = ["Serve", "Service"]

Serve = Callable[[EmulatedClock, asyncio.Event], Awaitable[int]]
"""A command's service: given the clock and the stop event, run until stop; the exit code."""


@dataclass(frozen=True, kw_only=True)
class Service:
    """A service command's settings, taken from its options once (:meth:`from_args`)."""

    args: argparse.Namespace
    url: BrokerURL
    """The broker the service connects to."""
    scenario_: Scenario | None = None
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    """The service's metrics (no global registry), served by ``--metrics-port``."""

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, url: BrokerURL | None = None) -> Service:
        """Load ``--scenario`` (when the command has it) and take ``--broker`` (or the local
        broker on the standard port), unless *url* names the broker (``aaas link``'s
        ``--upstream``)."""
        scenario = load_scenario(args.scenario) if hasattr(args, "scenario") else None
        if url is None:
            url = broker_or_default(args) if hasattr(args, "broker") else BrokerURL()
        return cls(args=args, url=url, scenario_=scenario)

    @property
    def scenario(self) -> Scenario:
        """The ``--scenario`` loaded."""
        if self.scenario_ is None:
            raise ConfigError("this command takes no --scenario")
        return self.scenario_

    def run(self, serve: Serve, *, identity: str | None = None) -> int:
        """Run *serve* until the first SIGINT/SIGTERM; its exit code.

        Before it, inside the event loop: the clock (``--follow-clock`` reads it from the
        broker as *identity*; a command without clock options runs in real time) and
        ``/metrics`` on the registry while it runs (``--metrics-port``).
        """

        async def main(stop: asyncio.Event) -> int:
            clock = EmulatedClock()
            if hasattr(self.args, "time_scale"):
                clock = await resolve_clock(self.args, self.url, identity=identity)
            metrics = (metrics_server(self.args, self.registry)
                       if hasattr(self.args, "metrics_port") else contextlib.nullcontext())
            with metrics:
                return await serve(clock, stop)

        return run_until_stopped(main)
