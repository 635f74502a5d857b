"""A handshake the network dropped is given up after the session's connect timeout."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
from prometheus_client import CollectorRegistry

from aaas import BrokerURL, EmulatedClock
from aaas.mqtt import MqttSession
from monitoring import UserMetrics
from tests.helpers.stack import small_scenario
from user_agent import ImageSource, UserAgent
from user_agent.agent import CONNECT_EMULATED_S, CONNECT_FLOOR_WALL_S


async def test_a_session_tries_again_when_no_connack_comes() -> None:
    """A server that takes the connection and never answers: what a user sees when the
    link drops its CONNACK. The session must try again after its connect timeout (it
    waited a fixed 10 wall seconds: a million emulated seconds at x10^5)."""
    accepted = 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        with contextlib.suppress(ConnectionError):
            await reader.read()  # never answers
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        session = MqttSession(url=BrokerURL(port=port), client_id="u", connect_timeout_s=0.3,
                              reconnect_min_s=0.05, reconnect_max_s=0.05)
        async with session:
            await asyncio.sleep(2.0)
        assert not session.connected
    assert accepted >= 3, accepted


def _user_agent(scale: float) -> UserAgent:
    return UserAgent(scenario=small_scenario(users=1), user_ids=["user-0000"], url=BrokerURL(),
                     clock=EmulatedClock(scale=scale), metrics=UserMetrics(CollectorRegistry()),
                     images=ImageSource(size=16, rng=np.random.default_rng(0)))


def test_a_user_waits_for_its_connack_on_its_own_clock() -> None:
    assert _user_agent(1.0).sessions["user-0000"].connect_timeout_s == CONNECT_EMULATED_S
    assert _user_agent(4.0).connect_timeout_s == CONNECT_EMULATED_S / 4
    for scale in (1e4, 1e5):  # the wall floor: a busy testbed answers slowly, not never
        assert _user_agent(scale).sessions["user-0000"].connect_timeout_s == CONNECT_FLOOR_WALL_S
