"""An in-process testbed (edge nodes + orchestrator) on a given broker, for tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry

from aaas import BrokerURL, EmulatedClock, Scenario, parse_scenario
from edge_node import EdgeNode, start_nodes
from monitoring import EdgeMetrics, OrchestratorMetrics
from orchestrator import Orchestrator
from orchestrator.policies import make_policy


def small_scenario(*, asps: int = 3, capacity: int = 1000, users: int = 10,
                   horizon_s: float = 50_000, **extra: Any) -> Scenario:
    """A small testbed; capacities fixed so tests can reason about crashes."""
    return parse_scenario({
        "name": "small", "seed": 7,
        "asps": {"count": asps, "capacity": {"min": capacity, "max": capacity, "step": 100,
                                             "inclusive": True}},
        **({"workload": {"users": users, "horizon_s": horizon_s}} | extra),
    })


@dataclass
class Stack:
    url: BrokerURL
    clock: EmulatedClock
    registry: CollectorRegistry
    nodes: list[EdgeNode]
    orch: Orchestrator


@contextlib.asynccontextmanager
async def running_stack(url: BrokerURL, scenario: Scenario, *, policy: str = "least_loaded",
                        scale: float = 10_000.0) -> AsyncIterator[Stack]:
    registry = CollectorRegistry()
    clock = EmulatedClock(scale=scale)
    async with start_nodes(scenario=scenario, specs=scenario.asps, url=url, clock=clock,
                           metrics=EdgeMetrics(registry)) as nodes, Orchestrator(
            scenario=scenario, policy=make_policy(policy, scenario, rng=np.random.default_rng(0)),
            url=url, clock=clock, metrics=OrchestratorMetrics(registry)) as orch:
        for _ in range(200):
            if orch.cluster.online_count == len(scenario.asps):
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("edge nodes did not come online")
        yield Stack(url, clock, registry, nodes, orch)
