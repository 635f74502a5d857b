"""``aaas demo``: a whole emulated testbed in one process, end to end over MQTT.

It starts (in this order, and stops in reverse) the broker (a private
Mosquitto child when installed, else the embedded amqtt, or ``--broker``;
see :mod:`testbed.brokers`), one edge node per ASP of the scenario, the
orchestrator with the chosen policy, and the users; it sends the scenario's
Poisson workload, waits for every answer, and summarises the run. The pieces
are the same services ``aaas edge-node``, ``aaas orchestrator`` and
``aaas user-agent`` run as separate processes on a testbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import numpy as np
from msgspec.structs import replace
from prometheus_client import CollectorRegistry

from aaas.clock import EmulatedClock
from aaas.config import Scenario
from aaas.datachannel import DeliverySettings
from aaas.errors import AaasError
from aaas.lag import DEFAULT_MAX_LAG_SHARE, EmulationReport, LagMeter, emulation_report
from aaas.mqtt import BrokerURL
from user_agent import QoSSummary

from .brokers import BrokerChoice, RunningBroker, running_broker
from .delivery import DeliveryTotals, delivery_totals
from .runner import freeze_heap
from .spread import Child, Part, child, should_spread
from .users_run import connect_users, drain_time_s, run_users

if TYPE_CHECKING:  # imported where they run: the demo's --help and errors stay light
    from link import LinkProxy, LinkStats, UdpRelay
    from orchestrator import Orchestrator
    from user_agent import UserAgent

__all__ = ["DemoOptions", "DemoSummary", "LinkTotals", "RewardTotals", "run_demo"]

log = logging.getLogger("aaas.demo")


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
    progress: bool = True
    max_lag_share: float = DEFAULT_MAX_LAG_SHARE
    """The run is valid while the p99 lag behind the clock stays within this share of the
    task runtimes (``emulation`` in the summary; see aaas.lag)."""
    stop: asyncio.Event | None = field(default=None, compare=False)
    link_tls: ssl.SSLContext | None = field(default=None, compare=False)
    """The link serves the users over TLS with this context (``--secure``)."""
    """Set to end the run early (Ctrl-C): what was sent is still accounted for."""
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    """How content travels (--delivery): inline over MQTT, or over WebRTC."""
    spread: bool | None = None
    """Run the edge nodes and the link in processes of their own (testbed.spread); None:
    when the workload's task rate needs it and nothing keeps the demo in one process."""


def _scenario_for(opts: DemoOptions) -> Scenario:
    s = opts.scenario
    wl = s.workload
    if opts.users is not None:
        wl = replace(wl, users=opts.users)
    if opts.duration_s is not None:
        wl = replace(wl, horizon_s=opts.duration_s)
    return replace(s, workload=wl)


@contextlib.asynccontextmanager
async def _link(opts: DemoOptions, scenario: Scenario, url: BrokerURL, clock: EmulatedClock,
                registry: CollectorRegistry) -> AsyncIterator[LinkProxy | None]:
    """The wireless link between the users and the broker (None with --no-link)."""
    if not opts.link:
        yield None
        return
    from link import LinkProxy, load_link_profiles

    async with LinkProxy(upstream=url, profiles=load_link_profiles(scenario), clock=clock,
                         rng=np.random.default_rng([opts.seed, 3]), registry=registry,
                         listen_tls=opts.link_tls) as link:
        log.info("users reach the broker through the emulated wireless link at %s", link.url)
        yield link


@contextlib.asynccontextmanager
async def _udp_relay(opts: DemoOptions, link: LinkProxy | None, clock: EmulatedClock,
                     registry: CollectorRegistry) -> AsyncIterator[UdpRelay | None]:
    """The link's relay for the users' WebRTC datagrams (None without link or WebRTC)."""
    if link is None or opts.delivery.mode == "mqtt":
        yield None
        return
    from link import UdpRelay

    relay = UdpRelay(user=link.user, clock=clock, registry=registry)
    try:
        yield relay
    finally:
        await relay.aclose()


class RewardTotals(msgspec.Struct, kw_only=True):
    total: float
    """The paper's reward summed over the run (crash penalties included)."""
    utility: float
    """Quality of the admitted tasks summed (the reward without penalties)."""


class LinkTotals(msgspec.Struct, kw_only=True):
    """What the emulated wireless link carried (bytes on air include resends)."""

    air_up: int
    air_down: int
    retx_bytes_up: int
    retx_bytes_down: int
    retransmissions: int
    outages: int
    outage_s: float
    closed_by_link: int
    corrupted_packets: int


class DemoSummary(QoSSummary, frozen=True, kw_only=True, omit_defaults=True):
    """``aaas demo``'s JSON summary: the user agent's QoS summary plus the testbed's sections."""

    scenario: str
    policy: str
    broker: str
    """Which broker ran: ``mosquitto`` (a private child), ``embedded`` (amqtt) or ``external``."""
    time_scale: float
    wall_s: float
    processes: int
    """Python processes the testbed ran in: 1, or 3 when spread (edge nodes and link in
    their own; testbed.spread). The broker's is not counted."""
    users: int
    asps: int
    crashes: int
    """Crash events of the edge nodes (the orchestrator's ledger)."""
    reward: RewardTotals
    emulation: EmulationReport | None = None
    """Whether the processes kept up with the emulated clock (aaas.lag)."""
    link: LinkTotals | None = None
    """None (left out) with --no-link."""
    delivery: DeliveryTotals | None = None
    """Bytes through the broker and over WebRTC, fallbacks (docs/performance.md)."""
    records: list[dict[str, Any]] | None = None
    """Every task's record, with --json-records (``aaas report`` plots them)."""


def _link_summary(stats: LinkStats) -> LinkTotals:
    return LinkTotals(
        air_up=stats.bytes_on_air_up,
        air_down=stats.bytes_on_air_down,
        retx_bytes_up=stats.bytes_retx_up,
        retx_bytes_down=stats.bytes_retx_down,
        retransmissions=stats.retransmissions,
        outages=stats.outages,
        outage_s=stats.outage_s,
        closed_by_link=stats.closed_by_link,
        corrupted_packets=stats.corrupted_packets,
    )


async def run_demo(opts: DemoOptions) -> dict[str, Any]:
    """Run the testbed; returns its :class:`DemoSummary` as JSON-ready builtins.

    The same summary is written to ``json_path`` when given.
    """
    from edge_node import start_nodes
    from monitoring import DeliveryMetrics, EdgeMetrics, OrchestratorMetrics, UserMetrics
    from orchestrator import Orchestrator
    from orchestrator.policies import make_policy
    from user_agent import ImageSource, UserAgent, poisson_arrivals

    from .options import serve_metrics

    scenario = _scenario_for(opts)
    registry = CollectorRegistry()
    clock = EmulatedClock(scale=opts.time_scale)
    wall0 = time.perf_counter()
    arrivals = poisson_arrivals(scenario.workload, scenario.user_ids(),
                                np.random.default_rng([opts.seed, 0]))
    images = ImageSource(size=scenario.limits.image_size, rng=np.random.default_rng([opts.seed, 1]),
                         folder=opts.images, noise=scenario.limits.image_noise,
                         pool=scenario.limits.image_pool)
    async with contextlib.AsyncExitStack() as stack:
        if opts.metrics_port is not None:
            server = stack.enter_context(serve_metrics(registry, host=opts.metrics_host,
                                                       port=opts.metrics_port))
            _write_sd(opts, server.port, scenario.name, opts.policy)
        # The broker first: a missing extra or binary is named before anything is built.
        broker = await stack.enter_async_context(running_broker(opts.broker))
        url = broker.url
        policy = make_policy(opts.policy, scenario, rng=np.random.default_rng([opts.seed, 2]),
                             checkpoint=opts.checkpoint)
        log.info("scenario %s: %d ASPs, %d users, %d tasks over %.0f emulated s (x%g: ~%.0f s "
                 "wall), policy %s, %s", scenario.name, len(scenario.asps),
                 scenario.workload.users, len(arrivals), scenario.workload.horizon_s,
                 opts.time_scale, clock.to_wall(scenario.workload.horizon_s), policy.name,
                 broker.describe())
        delivery_metrics = DeliveryMetrics(registry)
        edge_lag = LagMeter("edge nodes", max_share=opts.max_lag_share,
                            logger=logging.getLogger("aaas.edge"))
        children: list[Child] = []
        spread = should_spread(spread=opts.spread,
                               tasks_per_s=scenario.workload.arrival_rate * opts.time_scale,
                               metrics_port=opts.metrics_port, delivery=opts.delivery,
                               link_tls=opts.link_tls)
        if spread:
            log.info("spreading the testbed: edge nodes and link in processes of their own")
            children.append(await stack.enter_async_context(child(_part(
                "edge", opts, scenario, url, clock))))
        else:
            await stack.enter_async_context(start_nodes(
                scenario=scenario, specs=scenario.asps, url=url, clock=clock,
                metrics=EdgeMetrics(registry), lag=edge_lag, delivery=opts.delivery,
                delivery_metrics=delivery_metrics))
        orch = await stack.enter_async_context(Orchestrator(
            scenario=scenario, policy=policy, url=url, clock=clock,
            metrics=OrchestratorMetrics(registry)))
        await _wait_nodes_online(orch, len(scenario.asps))
        if spread and opts.link:
            children.append(await stack.enter_async_context(child(_part(
                "link", opts, scenario, url, clock))))
            link, users_url = None, children[-1].ready
        else:
            link = await stack.enter_async_context(_link(opts, scenario, url, clock, registry))
            users_url = link.url if link is not None else url
        relay = await stack.enter_async_context(_udp_relay(opts, link, clock, registry))
        agent = await stack.enter_async_context(UserAgent(
            scenario=scenario, user_ids=scenario.user_ids(),
            url=users_url, clock=clock, images=images,
            metrics=UserMetrics(registry), delivery=opts.delivery,
            delivery_metrics=delivery_metrics,
            rtc_path=relay.route if relay is not None else None))
        meters = (agent.lag, orch.lag, edge_lag)
        for m in meters:
            m.max_share = opts.max_lag_share
        stop = opts.stop or asyncio.Event()
        await connect_users(agent, stop=stop, progress=opts.progress, log=log)
        freeze_heap()
        await run_users(agent, arrivals, clock=clock, stop=stop, progress=opts.progress,
                        drain_s=drain_time_s(scenario, opts.delivery, clock), log=log)
        registries = [registry]
        link_stats = link.stats() if link is not None else None
        died: list[str] = []
        for c in children:  # what the children measured, while they still run
            try:
                report = await c.report()
            except AaasError as exc:  # the run went on without it: say so, keep the rest
                log.error("%s; its measurements are missing from the summary", exc)
                died.append(str(exc))
                continue
            registries.append(report.registry())
            if c.role == "edge":
                meters = (agent.lag, orch.lag, report.lag_meter("edge nodes",
                                                                opts.max_lag_share))
            else:
                link_stats = report.link_stats
        emulation = emulation_report(meters, time_scale=opts.time_scale,
                                     max_share=opts.max_lag_share)
        if died:
            emulation = replace(emulation, valid=False, reason="; ".join(died))
        if not emulation.valid:
            log.warning("this run did not keep up with its clock: %s", emulation.reason)
        summary = _summarise(agent, orch, scenario, opts, time.perf_counter() - wall0, broker,
                             emulation,
                             link=_link_summary(link_stats) if link_stats is not None else None,
                             records=_records(agent) if opts.json_records else None,
                             delivery=delivery_totals(registries, opts.delivery.mode, relay),
                             processes=1 + len(children)).as_json()
        if opts.metrics_port is not None and opts.metrics_linger_s > 0:
            log.info("serving the final metrics for %g s more", opts.metrics_linger_s)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), opts.metrics_linger_s)
    if opts.json_path is not None:
        opts.json_path.parent.mkdir(parents=True, exist_ok=True)
        opts.json_path.write_text(json.dumps(summary, indent=2) + "\n")
        log.info("summary written to %s", opts.json_path)
    return summary


def _part(role: Literal["edge", "link"], opts: DemoOptions, scenario: Scenario, url: BrokerURL,
          clock: EmulatedClock) -> Part:
    return Part(role=role, scenario=scenario, url=url, clock=clock, seed=opts.seed,
                max_lag_share=opts.max_lag_share, delivery=opts.delivery,
                log_level=logging.getLogger("aaas").getEffectiveLevel())


def _write_sd(opts: DemoOptions, port: int, scenario: str, policy: str) -> None:
    if opts.prometheus_sd is None:
        return
    from monitoring import scrape_address, write_file_sd

    write_file_sd(opts.prometheus_sd, [scrape_address(opts.metrics_host, port)],
                  {"service": "demo", "scenario": scenario, "policy": policy})
    log.info("Prometheus targets written to %s", opts.prometheus_sd)


def _records(agent: UserAgent) -> list[dict[str, Any]]:
    """Every task as its user saw it (times: emulated seconds)."""
    keys = ("task_id", "steps", "sent_at", "outcome", "latency_s", "quality", "node_id",
            "error", "attempts", "bytes_up", "bytes_down")
    return [{k: getattr(r, k) for k in keys} for r in agent.records.values()]


async def _wait_nodes_online(orch: Orchestrator, n: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while orch.cluster.online_count < n:
        if time.monotonic() > deadline:
            raise AaasError(f"only {orch.cluster.online_count} of {n} edge nodes came online "
                            f"within {timeout:.0f} s")
        await asyncio.sleep(0.05)
    log.info("all %d edge nodes online", n)


def _summarise(agent: UserAgent, orch: Orchestrator, scenario: Scenario, opts: DemoOptions,
               wall_s: float, broker: RunningBroker, emulation: EmulationReport, *,
               link: LinkTotals | None, records: list[dict[str, Any]] | None,
               delivery: DeliveryTotals | None = None, processes: int = 1) -> DemoSummary:
    qos: QoSSummary = agent.summary()
    return DemoSummary(
        **msgspec.structs.asdict(qos),
        scenario=scenario.name,
        policy=orch.policy.name,
        broker=broker.kind,
        time_scale=opts.time_scale,
        wall_s=round(wall_s, 2),
        users=scenario.workload.users,
        asps=len(scenario.asps),
        crashes=orch.ledger.crashes,
        reward=RewardTotals(total=orch.ledger.reward, utility=orch.ledger.utility),
        emulation=emulation,
        link=link,
        records=records,
        delivery=delivery,
        processes=processes,
    )
