"""The demo's testbed, wired: every service of ``aaas demo`` started in order.

:func:`open_testbed` starts (in this order, and stops in reverse) the ``/metrics``
server (``--metrics-port``), the broker (:mod:`testbed.brokers`), the edge nodes (in
this process, or in a child of their own when the demo spreads: :mod:`testbed.spread`),
the orchestrator with the chosen policy, the emulated wireless link (or its child), the
link's UDP relay for WebRTC, and the users; it hands them over as a :class:`Testbed`.
The same services run as ``aaas edge-node``, ``aaas orchestrator``, ``aaas link`` and
``aaas user-agent`` processes on a testbed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from prometheus_client import CollectorRegistry

from aaas.clock import EmulatedClock
from aaas.config import Scenario
from aaas.lag import LagMeter
from aaas.mqtt import BrokerURL

from .brokers import RunningBroker, running_broker
from .spread import Child, Part, child, should_spread, wait_nodes_online

if TYPE_CHECKING:  # imported where they run: the demo's --help and errors stay light
    from link import LinkProxy, UdpRelay
    from monitoring import DeliveryMetrics
    from orchestrator import Orchestrator
    from orchestrator.policies import Policy
    from user_agent import UserAgent

    from .demo_options import DemoOptions

__all__ = ["Testbed", "open_testbed"]

log = logging.getLogger("aaas.demo")


@dataclass(frozen=True, kw_only=True)
class Testbed:
    """The demo's running services, as :func:`open_testbed` wired them."""

    scenario: Scenario
    clock: EmulatedClock
    registry: CollectorRegistry
    """The metrics of every service in this process."""
    broker: RunningBroker
    orch: Orchestrator | None
    """The orchestrator in this process; None when it runs in a child (spread)."""
    agent: UserAgent
    edge_lag: LagMeter
    """The edge nodes' lag behind the clock (a spread demo's edge child reports its own)."""
    link: LinkProxy | None
    """The link in this process; None with ``--no-link`` or when it runs in a child."""
    relay: UdpRelay | None
    """The link's relay for WebRTC datagrams (None without link or WebRTC)."""
    children: tuple[Child, ...]
    """The processes the testbed spread to (:mod:`testbed.spread`): edge nodes, orchestrator,
    link."""


@contextlib.asynccontextmanager
async def open_testbed(opts: DemoOptions, scenario: Scenario, *,
                       tasks: int) -> AsyncIterator[Testbed]:
    """The testbed of *opts* for *scenario* (whose workload has *tasks* tasks), running."""
    _import_services()
    clock, registry = EmulatedClock(scale=opts.time_scale), CollectorRegistry()
    async with contextlib.AsyncExitStack() as stack:
        _serve_metrics(stack, opts, registry, scenario.name)
        # The broker first: a missing extra or binary is named before anything is built.
        broker = await stack.enter_async_context(running_broker(opts.broker))
        spread = should_spread(spread=opts.spread,
                               tasks_per_s=scenario.workload.arrival_rate * opts.time_scale,
                               metrics_port=opts.metrics_port, delivery=opts.delivery,
                               link_tls=opts.link_tls)
        policy = None if spread and opts.spread_orchestrator else _policy(opts, scenario)
        _log_plan(opts, scenario, tasks, clock, policy.name if policy else opts.policy, broker)
        wire = _Wiring(opts=opts, scenario=scenario, url=broker.url, clock=clock,
                       registry=registry, stack=stack)
        if spread:
            log.info("spreading the testbed: edge nodes%s and link in processes of their own",
                     ", orchestrator" if policy is None else "")
        edge_child, edge_lag = await wire.edge_nodes(spread)
        orch_child, orch = await wire.orchestrator(policy)
        link_child, link, users_url = await wire.link(spread)
        relay = await wire.udp_relay(link)
        agent = await wire.users(users_url, relay)
        for meter in (agent.lag, edge_lag, *([orch.lag] if orch is not None else [])):
            meter.max_share = opts.max_lag_share
        yield Testbed(scenario=scenario, clock=clock, registry=registry, broker=broker,
                      orch=orch, agent=agent, edge_lag=edge_lag, link=link, relay=relay,
                      children=tuple(c for c in (edge_child, orch_child, link_child)
                                     if c is not None))


def _policy(opts: DemoOptions, scenario: Scenario) -> Policy:
    from orchestrator.policies import make_policy

    return make_policy(opts.policy, scenario, rng=np.random.default_rng([opts.seed, 2]),
                       checkpoint=opts.checkpoint)


def _import_services() -> None:
    """Import the services now: a missing extra is named before anything starts."""
    import edge_node  # noqa: F401
    import monitoring  # noqa: F401
    import orchestrator  # noqa: F401
    import user_agent  # noqa: F401


def _serve_metrics(stack: contextlib.AsyncExitStack, opts: DemoOptions,
                   registry: CollectorRegistry, scenario: str) -> None:
    """``/metrics`` for the whole run (``--metrics-port``), and its file_sd targets."""
    if opts.metrics_port is None:
        return
    from .options import serve_metrics

    server = stack.enter_context(serve_metrics(registry, host=opts.metrics_host,
                                               port=opts.metrics_port))
    if opts.prometheus_sd is None:
        return
    from monitoring import scrape_address, write_file_sd

    write_file_sd(opts.prometheus_sd, [scrape_address(opts.metrics_host, server.port)],
                  {"service": "demo", "scenario": scenario, "policy": opts.policy})
    log.info("Prometheus targets written to %s", opts.prometheus_sd)


def _log_plan(opts: DemoOptions, scenario: Scenario, tasks: int, clock: EmulatedClock,
              policy: str, broker: RunningBroker) -> None:
    wl = scenario.workload
    log.info("scenario %s: %d ASPs, %d users, %d tasks over %.0f emulated s (x%g: ~%.0f s "
             "wall), policy %s, %s", scenario.name, len(scenario.asps), wl.users, tasks,
             wl.horizon_s, opts.time_scale, clock.to_wall(wl.horizon_s), policy,
             broker.describe())


@dataclass(kw_only=True)
class _Wiring:
    """What every service of the testbed is built from; each method starts one on *stack*."""

    opts: DemoOptions
    scenario: Scenario
    url: BrokerURL
    clock: EmulatedClock
    registry: CollectorRegistry
    stack: contextlib.AsyncExitStack

    def __post_init__(self) -> None:
        from monitoring import DeliveryMetrics

        self.delivery_metrics: DeliveryMetrics = DeliveryMetrics(self.registry)

    async def edge_nodes(self, spread: bool) -> tuple[Child | None, LagMeter]:
        """Every ASP's edge node, here or in a child (spread); their lag meter here."""
        from edge_node import start_nodes
        from monitoring import EdgeMetrics

        lag = LagMeter("edge nodes", max_share=self.opts.max_lag_share,
                       logger=logging.getLogger("aaas.edge"))
        if spread:
            return await self.stack.enter_async_context(child(self._part("edge"))), lag
        s = self.scenario
        await self.stack.enter_async_context(start_nodes(
            scenario=s, specs=s.asps, url=self.url, clock=self.clock,
            metrics=EdgeMetrics(self.registry), lag=lag, delivery=self.opts.delivery,
            delivery_metrics=self.delivery_metrics))
        return None, lag

    async def orchestrator(self, policy: Policy | None) -> tuple[Child | None,
                                                                Orchestrator | None]:
        """The orchestrator with *policy* here, or (None: spread) with the demo's policy in a
        child; either way once every edge node is online."""
        if policy is None:
            return await self.stack.enter_async_context(child(self._part("orchestrator"))), None
        from monitoring import OrchestratorMetrics
        from orchestrator import Orchestrator

        orch = await self.stack.enter_async_context(Orchestrator(
            scenario=self.scenario, policy=policy, url=self.url, clock=self.clock,
            metrics=OrchestratorMetrics(self.registry)))
        await wait_nodes_online(orch, len(self.scenario.asps))
        return None, orch

    async def link(self, spread: bool) -> tuple[Child | None, LinkProxy | None, BrokerURL]:
        """The wireless link, here or in a child (spread), and the URL the users take."""
        if not self.opts.link:
            return None, None, self.url
        if spread:
            link_child = await self.stack.enter_async_context(child(self._part("link")))
            return link_child, None, link_child.ready
        from link import LinkProxy, load_link_profiles

        link = await self.stack.enter_async_context(LinkProxy(
            upstream=self.url, profiles=load_link_profiles(self.scenario), clock=self.clock,
            rng=np.random.default_rng([self.opts.seed, 3]), registry=self.registry,
            listen_tls=self.opts.link_tls))
        log.info("users reach the broker through the emulated wireless link at %s", link.url)
        return None, link, link.url

    async def udp_relay(self, link: LinkProxy | None) -> UdpRelay | None:
        """The link's relay for the users' WebRTC datagrams (None without link or WebRTC)."""
        if link is None or self.opts.delivery.mode == "mqtt":
            return None
        from link import UdpRelay

        relay = UdpRelay(user=link.user, clock=self.clock, registry=self.registry)
        self.stack.push_async_callback(relay.aclose)
        return relay

    async def users(self, url: BrokerURL, relay: UdpRelay | None) -> UserAgent:
        """Every user of the scenario, connecting to *url*."""
        from monitoring import UserMetrics
        from user_agent import ImageSource, UserAgent
        from user_agent.samples import ResultSamples

        s, seed = self.scenario, self.opts.seed
        images = ImageSource(size=s.limits.image_size, rng=np.random.default_rng([seed, 1]),
                             folder=self.opts.images, noise=s.limits.image_noise,
                             pool=s.limits.image_pool)
        return await self.stack.enter_async_context(UserAgent(
            scenario=s, user_ids=s.user_ids(), url=url, clock=self.clock, images=images,
            metrics=UserMetrics(self.registry), delivery=self.opts.delivery,
            delivery_metrics=self.delivery_metrics,
            rtc_path=relay.route if relay is not None else None,
            samples=(ResultSamples(per_node=self.opts.json_samples)
                     if self.opts.json_samples > 0 else None)))

    def _part(self, role: Literal["edge", "orchestrator", "link"]) -> Part:
        o = self.opts
        return Part(role=role, scenario=self.scenario, url=self.url, clock=self.clock,
                    seed=o.seed, max_lag_share=o.max_lag_share, delivery=o.delivery,
                    log_level=logging.getLogger("aaas").getEffectiveLevel(),
                    policy=o.policy, checkpoint=o.checkpoint)
