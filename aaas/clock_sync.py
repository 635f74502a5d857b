"""Adopt the testbed's clock from the broker (retained on aaas/v1/clock)."""

from __future__ import annotations

import asyncio
import logging
import math
import time

import aiomqtt

from .clock import EmulatedClock
from .contract import TOPICS, decode
from .errors import AaasError, ProtocolError
from .mqtt import BrokerURL
from .schemas import ClockSpec, ErrorCode

__all__ = ["MAX_SCALE", "MIN_SCALE", "check_clock", "fetch_clock"]

MIN_SCALE = 1.0
"""A followed clock never runs slower than wall time (a forged ``scale 0.001`` would
stretch every task a thousandfold)."""
MAX_SCALE = 1e7
"""Nor faster than this many emulated seconds per wall second."""
_MAX_SKEW_S = 60.0
"""How far ahead of this host's clock a wall epoch may be (clocks of hosts differ)."""


def check_clock(spec: ClockSpec, *, now_wall: float | None = None) -> None:
    """Raise ProtocolError (``implausible``) unless *spec* is a clock worth following:
    a scale within [MIN_SCALE, MAX_SCALE], finite epochs, a wall epoch after 1970 and
    not in the future."""
    now = time.time() if now_wall is None else now_wall
    if not MIN_SCALE <= spec.scale <= MAX_SCALE:
        raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"clock scale {spec.scale!r} is outside "
                            f"[{MIN_SCALE:g}, {MAX_SCALE:g}]")
    if not math.isfinite(spec.epoch) or abs(spec.epoch) > 1e15:
        raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"clock epoch {spec.epoch!r} is not finite")
    if not (math.isfinite(spec.wall_epoch) and 0 < spec.wall_epoch <= now + _MAX_SKEW_S):
        raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"clock wall epoch {spec.wall_epoch!r} is "
                            "not a Unix time before now")


async def fetch_clock(url: BrokerURL, *, timeout: float = 30.0,
                      identity: str | None = None) -> EmulatedClock:
    """The clock the orchestrator publishes, retained; AaasError if none comes in time.

    *identity* is the one to log in as when *url* has per-identity secrets."""
    topic = TOPICS.clock.topic.format()
    try:
        async with asyncio.timeout(timeout), aiomqtt.Client(
                **url.client_kwargs(identity),
                protocol=aiomqtt.ProtocolVersion.V311) as client:
            await client.subscribe(topic, 1)
            async for message in client.messages:
                raw = message.payload
                if isinstance(raw, bytes | bytearray) and raw:
                    try:
                        spec = decode(bytes(raw), TOPICS.clock.payload)
                        check_clock(spec)
                        return EmulatedClock.from_spec(spec)
                    except ProtocolError as exc:  # not a clock we can use; wait for a good one
                        logging.getLogger("aaas.clock").warning("clock refused: %s", exc)
                        continue
    except TimeoutError:
        pass
    except aiomqtt.MqttError as exc:
        raise AaasError(f"cannot read the testbed clock from {url}: {exc}") from None
    raise AaasError(f"no clock on {topic} at {url} within {timeout:g} s: start the orchestrator "
                    "first, or give --time-scale and --clock-epoch")
