"""Byte for byte: with no error, the proxy forwards exactly the MQTT packets it receives."""

from __future__ import annotations

import asyncio
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from aaas import BrokerURL, EmulatedClock
from link import LinkProfile, LinkProfiles, LinkProxy
from tests.helpers.mqtt_packets import connect_packet, packet, publish_packet

packet_st = st.one_of(
    st.builds(publish_packet, st.binary(min_size=1, max_size=40), st.binary(max_size=2000),
              st.integers(0, 2)),
    st.builds(publish_packet, st.just(b"big"), st.binary(max_size=64).map(lambda b: b * 1000),
              st.just(1)),
    st.builds(lambda t, b: packet(t << 4, b), st.sampled_from([4, 8, 12, 14]),
              st.binary(max_size=10)),
)

PROFILES = {
    "perfect": LinkProfile.perfect(),
    # No errors but real air time, queueing and fading blocks: the channel path, error-free.
    "error_free": LinkProfile().replace(snr_db=math.inf, fading="rayleigh", rate_bps=2e9,
                                        latency_s=0.0001),
}


async def _through_proxy(profile: LinkProfile, up: list[bytes],
                         down: list[bytes]) -> tuple[bytes, bytes]:
    """Send *up* from a client and *down* from a fake broker; what each side received."""
    got_up = bytearray()
    upstream_done = asyncio.Event()

    async def fake_broker(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        expected = sum(map(len, up))
        while len(got_up) < expected:
            chunk = await r.read(65536)
            if not chunk:
                break
            got_up.extend(chunk)
        for p in down:
            w.write(p)
        await w.drain()
        w.close()
        upstream_done.set()

    server = await asyncio.start_server(fake_broker, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with LinkProxy(upstream=BrokerURL(port=port), profiles=LinkProfiles(default=profile),
                         clock=EmulatedClock(scale=1.0), rng=np.random.default_rng(0),
                         registry=CollectorRegistry(), control=False) as link:
        r, w = await asyncio.open_connection(link.url.host, link.url.port)
        for p in up:
            w.write(p)
        await w.drain()
        got_down = await asyncio.wait_for(r.read(), 20)  # until the proxy closes
        w.close()
    server.close()
    return bytes(got_up), got_down


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(PROFILES)), st.lists(packet_st, max_size=15),
       st.lists(packet_st, max_size=15))
def test_forwards_byte_for_byte(profile: str, up: list[bytes], down: list[bytes]) -> None:
    up = [connect_packet("user-bytes"), *up]
    got_up, got_down = asyncio.run(_through_proxy(PROFILES[profile], up, down))
    assert got_up == b"".join(up)
    assert got_down == b"".join(down)
