"""The emulated clock and its distribution over the broker."""

from __future__ import annotations

import asyncio
import time

import pytest

from aaas import TOPICS, AaasError, BrokerURL, ConfigError, EmulatedClock, MqttSession
from aaas.clock_sync import fetch_clock


def test_emulated_time_runs_scale_times_faster() -> None:
    clock = EmulatedClock(scale=1000, epoch=50.0, wall_epoch=time.time() - 2.0)
    assert clock.now() == pytest.approx(50.0 + 2000.0, abs=50)
    assert clock.to_wall(3600) == pytest.approx(3.6)
    with pytest.raises(ConfigError):
        EmulatedClock(scale=0)


async def test_sleep_takes_emulated_over_scale_wall_seconds() -> None:
    clock = EmulatedClock(scale=10_000)
    t0 = time.perf_counter()
    await clock.sleep(2_000)  # 0.2 s of wall time
    assert 0.15 < time.perf_counter() - t0 < 1.0


async def test_processes_adopt_the_retained_testbed_clock(embedded: BrokerURL) -> None:
    mine = EmulatedClock(scale=3600, epoch=10.0, wall_epoch=1_700_000_000.0)
    pub = MqttSession(url=embedded, client_id="clock-owner")
    async with pub:
        pub.send(TOPICS.clock, mine.spec())
        await asyncio.sleep(0.3)
    theirs = await fetch_clock(embedded, timeout=10)
    assert (theirs.scale, theirs.epoch, theirs.wall_epoch) == (3600, 10.0, 1_700_000_000.0)


async def test_no_clock_on_the_broker_is_a_clear_error(embedded: BrokerURL) -> None:
    with pytest.raises(AaasError, match="no clock"):
        await fetch_clock(embedded, timeout=0.5)
