"""A small testbed whose nodes and users deliver content over WebRTC (real aiortc peers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
from prometheus_client import CollectorRegistry

from aaas import BrokerURL, EmulatedClock, Scenario
from aaas.datachannel import DeliverySettings
from edge_node import start_nodes
from monitoring import DeliveryMetrics, EdgeMetrics, OrchestratorMetrics, UserMetrics
from orchestrator import Orchestrator
from orchestrator.policies import make_policy
from tests.helpers.stack import small_scenario
from user_agent import Arrival, ImageSource, UserAgent
from user_agent.delivery import PathHook


@dataclass
class RtcRun:
    agent: UserAgent
    metrics: DeliveryMetrics
    registry: CollectorRegistry


def rtc_scenario(users: int = 2) -> Scenario:
    return small_scenario(asps=2, users=users, limits={"image_size": 96})


@contextlib.asynccontextmanager
async def rtc_testbed(url: BrokerURL, *, node: DeliverySettings, user: DeliverySettings,
                      scenario: Scenario | None = None, scale: float = 10_000.0,
                      path: PathHook | None = None, wrap_url: BrokerURL | None = None,
                      clock: EmulatedClock | None = None) -> AsyncIterator[RtcRun]:
    """Nodes, orchestrator and users; the users connect to *wrap_url* (a link) if given."""
    scenario = scenario or rtc_scenario()
    registry = CollectorRegistry()
    metrics = DeliveryMetrics(registry)
    clock = clock or EmulatedClock(scale=scale)
    async with start_nodes(scenario=scenario, specs=scenario.asps, url=url, clock=clock,
                           metrics=EdgeMetrics(registry), delivery=node,
                           delivery_metrics=metrics), Orchestrator(
            scenario=scenario, policy=make_policy("round_robin", scenario,
                                                  rng=np.random.default_rng(0)),
            url=url, clock=clock, metrics=OrchestratorMetrics(registry)) as orch:
        for _ in range(400):
            if orch.cluster.online_count == len(scenario.asps):
                break
            await asyncio.sleep(0.05)
        async with UserAgent(scenario=scenario, user_ids=scenario.user_ids(),
                             url=wrap_url or url, clock=clock,
                             images=ImageSource(size=scenario.limits.image_size,
                                                rng=np.random.default_rng(5)),
                             metrics=UserMetrics(registry), delivery=user,
                             delivery_metrics=metrics, rtc_path=path) as agent:
            await agent.wait_connected(60)
            yield RtcRun(agent, metrics, registry)


async def send_and_drain(run: RtcRun, n: int, *, steps: int = 100,
                         timeout_s: float = 2e6) -> None:
    """Send *n* tasks (alternating users), then wait for every answer."""
    users = sorted(run.agent.sessions)
    for i in range(n):
        run.agent.send(Arrival(index=i, at=0.0, user_id=users[i % len(users)], steps=steps),
                       task_id=f"rtc{i:03d}")
    await run.agent.drain(timeout_s)
