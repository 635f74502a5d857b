"""The users' run that the demo and ``aaas user-agent`` share: send, stop, drain."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import numpy as np
import pytest

from aaas import BrokerURL, EmulatedClock
from aaas.datachannel import DeliverySettings
from monitoring import UserMetrics
from testbed.users_run import drain_time_s, run_users
from tests.helpers.stack import Stack, running_stack, small_scenario
from user_agent import Arrival, ImageSource, UserAgent


def test_the_drain_time_is_the_longest_tasks_deadline_plus_the_webrtc_grace() -> None:
    scenario = small_scenario()
    clock = EmulatedClock(scale=100.0)
    longest = scenario.answer_deadline_s(scenario.workload.steps_max)
    assert drain_time_s(scenario, DeliverySettings(), clock) == pytest.approx(longest)
    webrtc = DeliverySettings(mode="webrtc")
    assert drain_time_s(scenario, webrtc, clock) == pytest.approx(
        longest + webrtc.grace_wall_s() * 100.0)


TWO_USERS = small_scenario(asps=2, users=2)


@contextlib.asynccontextmanager
async def _two_users(url: BrokerURL, scale: float) -> AsyncIterator[tuple[Stack, UserAgent]]:
    async with running_stack(url, TWO_USERS, scale=scale) as stack, UserAgent(
            scenario=TWO_USERS, user_ids=["user-0000", "user-0001"], url=url, clock=stack.clock,
            metrics=UserMetrics(stack.registry),
            images=ImageSource(size=32, rng=np.random.default_rng(0))) as agent:
        await agent.wait_connected(10)
        yield stack, agent


def _arrivals(n: int, every_s: float) -> list[Arrival]:
    return [Arrival(index=i, at=i * every_s, user_id=f"user-000{i % 2}", steps=100)
            for i in range(n)]


async def test_every_arrival_is_sent_and_answered(broker_url: BrokerURL) -> None:
    async with _two_users(broker_url, 20_000) as (stack, agent):
        await run_users(agent, _arrivals(4, 100.0), clock=stack.clock, stop=asyncio.Event(),
                        progress=True,
                        drain_s=drain_time_s(TWO_USERS, DeliverySettings(), stack.clock))
        tasks = agent.summary().tasks
    assert tasks.sent == 4 and tasks.finished == 4
    assert agent.outstanding == 0


async def test_a_stop_ends_the_sending_and_what_was_sent_is_settled(
        broker_url: BrokerURL) -> None:
    async with _two_users(broker_url, 1_000) as (stack, agent):
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.5, stop.set)
        # one arrival now, the others hours later: only the stop ends this run quickly
        await asyncio.wait_for(run_users(agent, _arrivals(3, 3600.0), clock=stack.clock,
                                         stop=stop, drain_s=1e9), timeout=10)
        tasks = agent.summary().tasks
    assert tasks.sent == 1
    assert agent.outstanding == 0
