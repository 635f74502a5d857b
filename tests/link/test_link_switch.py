"""Switching a user's channel between perfect (fast path) and lossy (per-packet path)
while both directions stream never reorders, duplicates or drops a byte."""

from __future__ import annotations

import asyncio
import math
import random

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from aaas import BrokerURL, EmulatedClock
from link import LinkProfile, LinkProfiles, LinkProxy
from tests.helpers.mqtt_packets import connect_packet, publish_packet

SLOW = LinkProfile().replace(snr_db=math.inf, fading="rayleigh", rate_bps=2e8,
                             latency_s=0.0005)


async def _fake_broker(down: list[bytes], expected_up: int, got_up: bytearray,
                       rnd: random.Random) -> asyncio.Server:
    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        async def send() -> None:
            for p in down:
                w.write(p)
                if rnd.random() < 0.1:
                    await w.drain()
            await w.drain()

        sender = asyncio.create_task(send())
        while len(got_up) < expected_up:
            chunk = await r.read(65536)
            if not chunk:
                break
            got_up.extend(chunk)
        await sender
        w.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_bytes_stay_in_order_while_the_channel_flips(seed: int) -> None:
    rnd = random.Random(seed)
    up = [connect_packet("sw")] + [publish_packet(b"t/%d" % i, bytes([i % 251]) * rnd.choice(
        [0, 10, 300, 5000, 200_000]), 1) for i in range(300)]
    down = [publish_packet(b"d/%d" % i, bytes([i % 13]) * rnd.choice([0, 10, 300, 70_000]), 1)
            for i in range(300)]
    got_up, got_down = bytearray(), bytearray()
    blob_up, blob_down = b"".join(up), b"".join(down)
    server = await _fake_broker(down, len(blob_up), got_up, rnd)
    port = server.sockets[0].getsockname()[1]
    async with LinkProxy(upstream=BrokerURL(port=port),
                         profiles=LinkProfiles(default=LinkProfile.perfect()),
                         clock=EmulatedClock(scale=1.0), rng=np.random.default_rng(0),
                         registry=CollectorRegistry(), control=False) as link:
        r, w = await asyncio.open_connection(link.url.host, link.url.port)

        async def toggle() -> None:
            while True:
                await asyncio.sleep(rnd.random() * 0.003)
                link.set_profile("sw", SLOW if rnd.random() < 0.5 else LinkProfile.perfect())
                if rnd.random() < 0.1:
                    link.update_user("sw", outage_s=0.002)

        async def write() -> None:
            i = 0
            while i < len(blob_up):
                n = rnd.choice([1, 7, 100, 4096, 100_000])
                w.write(blob_up[i:i + n])
                i += n
                if rnd.random() < 0.3:
                    await w.drain()
            await w.drain()

        toggler, writer = asyncio.create_task(toggle()), asyncio.create_task(write())
        while len(got_down) < len(blob_down):
            chunk = await asyncio.wait_for(r.read(65536), 20)
            if not chunk:
                break
            got_down.extend(chunk)
        await writer
        for _ in range(200):
            if len(got_up) >= len(blob_up):
                break
            await asyncio.sleep(0.05)
        toggler.cancel()
        w.close()
        delayed = sum(link.metrics.packets.labels(d, "delayed")._value.get()
                      for d in ("up", "down"))
        forwarded = sum(link.metrics.packets.labels(d, "forwarded")._value.get()
                        for d in ("up", "down"))
    server.close()
    assert bytes(got_up) == blob_up
    assert bytes(got_down) == blob_down
    assert delayed > 0 and forwarded > 0  # both paths were exercised
