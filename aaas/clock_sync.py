"""Adopt the testbed's clock from the broker (retained on aaas/v1/clock)."""

from __future__ import annotations

import asyncio

import aiomqtt

from .clock import EmulatedClock
from .contract import TOPICS, decode
from .errors import AaasError, ProtocolError
from .mqtt import BrokerURL

__all__ = ["fetch_clock"]


async def fetch_clock(url: BrokerURL, *, timeout: float = 30.0) -> EmulatedClock:
    """The clock the orchestrator publishes, retained; AaasError if none comes in time."""
    topic = TOPICS.clock.topic.format()
    try:
        async with asyncio.timeout(timeout), aiomqtt.Client(
                url.host, url.port, username=url.username, password=url.password,
                protocol=aiomqtt.ProtocolVersion.V311) as client:
            await client.subscribe(topic, 1)
            async for message in client.messages:
                raw = message.payload
                if isinstance(raw, bytes | bytearray) and raw:
                    try:
                        spec = decode(bytes(raw), TOPICS.clock.payload)
                        return EmulatedClock.from_spec(spec)
                    except ProtocolError:
                        continue  # not a clock we can use; wait for a good one
    except TimeoutError:
        pass
    except aiomqtt.MqttError as exc:
        raise AaasError(f"cannot read the testbed clock from {url}: {exc}") from None
    raise AaasError(f"no clock on {topic} at {url} within {timeout:g} s: start the orchestrator "
                    "first, or give --time-scale and --clock-epoch")
