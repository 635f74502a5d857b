"""What ``aaas demo`` can be told (:class:`DemoOptions`), and the scenario it then runs.

A module of its own so that the demo's parts (:mod:`testbed.wiring`,
:mod:`testbed.demo_summary`) and :mod:`testbed.demo`, which runs them, all take it
without importing each other in a circle.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from msgspec.structs import replace

from aaas.config import Scenario
from aaas.datachannel import DeliverySettings
from aaas.lag import DEFAULT_MAX_LAG_SHARE

from .brokers import BrokerChoice

__all__ = ["DemoOptions", "scenario_for"]


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    """Everything ``aaas demo`` can be told."""

    scenario: Scenario
    policy: str = "least_loaded"
    checkpoint: str | None = None
    """For ``sac``: the checkpoint (default: the one shipped for the scenario)."""
    broker: BrokerChoice = None
    """An external broker's URL, ``mosquitto`` or ``embedded`` (start that one), or None:
    a private Mosquitto when the binary is installed, else the embedded amqtt."""
    time_scale: float = 10_000.0
    users: int | None = None
    """Override the scenario's number of users."""
    duration_s: float | None = None
    """Override the scenario's horizon (emulated seconds)."""
    seed: int = 0
    """Seed of the workload (arrivals, steps, images) and of random policies."""
    images: Path | None = None
    link: bool = True
    """Route the users through the emulated wireless link (the scenario's [link] profiles)."""
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    json_path: Path | None = None
    prometheus_sd: Path | None = None
    """Write a Prometheus file_sd targets file for the metrics endpoint here."""
    metrics_linger_s: float = 0.0
    """Keep serving /metrics this many wall seconds after the run, so a scraper sees the end."""
    json_records: bool = False
    """Add every task's record to the JSON summary (``aaas report`` plots them)."""
    json_samples: int = 0
    """Add up to this many received results per ASP (original, damaged, restored PNGs)
    to the JSON summary (``aaas report`` shows them)."""
    time_scale_reason: str | None = None
    """Why the run has its time scale (testbed.autoscale.choose_time_scale), for the summary."""
    progress: bool = True
    max_lag_share: float = DEFAULT_MAX_LAG_SHARE
    """The run is valid while the p99 lag behind the clock stays within this share of the
    task runtimes (``emulation`` in the summary; see aaas.lag)."""
    stop: asyncio.Event | None = field(default=None, compare=False)
    """Set to end the run early (Ctrl-C): what was sent is still accounted for."""
    link_tls: ssl.SSLContext | None = field(default=None, compare=False)
    """The link serves the users over TLS with this context (``--secure``)."""
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    """How content travels (--delivery): inline over MQTT, or over WebRTC."""
    spread: bool | None = None
    """Run the edge nodes and the link in processes of their own (testbed.spread); None:
    when the workload's task rate needs it and nothing keeps the demo in one process."""
    spread_orchestrator: bool = False
    """When spread, run the orchestrator in a process of its own too (testbed.spread)."""


def scenario_for(opts: DemoOptions) -> Scenario:
    """*opts*' scenario with its ``--users`` and ``--duration`` applied."""
    s = opts.scenario
    wl = s.workload
    if opts.users is not None:
        wl = replace(wl, users=opts.users)
    if opts.duration_s is not None:
        wl = replace(wl, horizon_s=opts.duration_s)
    return replace(s, workload=wl)
