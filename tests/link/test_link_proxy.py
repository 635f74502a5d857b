"""The link proxy between real MQTT clients and a real broker (embedded amqtt and Mosquitto)."""

from __future__ import annotations

import asyncio
import hashlib
import math
import uuid
from typing import Any

import aiomqtt
import msgspec
import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from aaas import (
    TOPICS,
    BrokerURL,
    EmulatedClock,
    LinkUpdate,
    MqttSession,
    ProtocolError,
    TaskContent,
    decode,
    encode,
)
from link import LinkProfile, LinkProfiles, LinkProxy

LINK_CONTROL = TOPICS.link_control.topic
pytestmark = pytest.mark.timeout(60)


def _client(url: BrokerURL, client_id: str) -> aiomqtt.Client:
    return aiomqtt.Client(url.host, url.port, identifier=client_id,
                          protocol=aiomqtt.ProtocolVersion.V311, timeout=20)


async def _collect(client: aiomqtt.Client, n: int, limit_s: float = 30.0) -> list[aiomqtt.Message]:
    out: list[aiomqtt.Message] = []

    async def run() -> None:
        async for m in client.messages:
            out.append(m)
            if len(out) >= n:
                return

    await asyncio.wait_for(run(), limit_s)
    return out


async def _collect_set(client: aiomqtt.Client, want: set[bytes], limit_s: float) -> set[bytes]:
    seen: set[bytes] = set()

    async def run() -> None:
        async for m in client.messages:
            assert isinstance(m.payload, bytes)
            seen.add(m.payload)
            if want <= seen:
                return

    await asyncio.wait_for(run(), limit_s)
    return seen


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _proxy(upstream: BrokerURL, default: LinkProfile, *, scale: float = 1.0,
           registry: CollectorRegistry | None = None, control: bool = False) -> LinkProxy:
    return LinkProxy(upstream=upstream, profiles=LinkProfiles(default=default),
                     clock=EmulatedClock(scale=scale), rng=np.random.default_rng(11),
                     registry=registry or CollectorRegistry(), control=control)


async def _send_through(url: BrokerURL, topic: str, payloads: list[bytes]) -> list[Any]:
    """Publish *payloads* (QoS 1) from one client to another, both through *url*."""
    async with _client(url, _uid("sub")) as sub, _client(url, _uid("pub")) as pub:
        await sub.subscribe(topic, 1)
        for p in payloads:
            await pub.publish(topic, p, qos=1)
        return await _collect(sub, len(payloads))


async def test_perfect_channel_changes_nothing(link_upstream: BrokerURL) -> None:
    topic = f"t/{uuid.uuid4().hex}"
    rng = np.random.default_rng(5)
    payloads = [rng.bytes(int(n)) for n in rng.integers(0, 3000, 60)] + [rng.bytes(300_000)]
    async with _proxy(link_upstream, LinkProfile.perfect()) as link:
        got = await _send_through(link.url, topic, payloads)
        stats = link.stats()
    assert [m.payload for m in got] == payloads
    assert stats.bytes_retx_up == stats.bytes_retx_down == 0
    assert stats.retransmissions == 0
    assert stats.outages == 0
    assert stats.corrupted_packets == 0
    assert stats.bytes_on_air_up >= sum(map(len, payloads))


async def test_lossy_channel_delivers_everything_in_order(link_upstream: BrokerURL) -> None:
    registry = CollectorRegistry()
    # 16 dB: the uplink retries some frame in every one of 1000 simulated runs of these 80
    # packets (at 20 dB 0.3 % of runs retried none: which fading blocks the packets meet
    # depends on wall-clock timing, so the seed alone does not fix the draw).
    profile = LinkProfile().replace(snr_db=16.0, fading="rayleigh", coherence_s=0.005,
                                    modulation="qpsk", bandwidth_hz=5e6, mtu_bytes=500,
                                    outage_snr_db=8.0, retry_limit=6)
    topic = f"t/{uuid.uuid4().hex}"
    payloads = [f"{i:05d}".encode() * 100 for i in range(80)]
    async with _proxy(link_upstream, profile, scale=200.0, registry=registry) as link:
        got = await _send_through(link.url, topic, payloads)
        stats = link.stats()
    assert [m.payload for m in got] == payloads
    assert stats.retransmissions > 0
    assert stats.bytes_retx_up > 0
    assert stats.outages > 0
    retx = registry.get_sample_value("aaas_link_bytes_on_air_total",
                                     {"direction": "up", "kind": "retransmission"})
    assert retx == stats.bytes_retx_up
    assert registry.get_sample_value("aaas_link_delay_seconds_count", {"direction": "up"}) > 80
    assert registry.get_sample_value("aaas_link_frames_retried_total", {"direction": "up"}) > 0


async def test_deep_outage_closes_then_qos1_publishes_arrive(link_upstream: BrokerURL) -> None:
    user = _uid("user")
    topic = f"t/{uuid.uuid4().hex}"
    profile = LinkProfile().replace(snr_db=30.0, fading="none", rate_bps=math.inf,
                                    outage_close_s=4.0)
    async with _proxy(link_upstream, profile, scale=10.0) as link, \
            _client(link_upstream, _uid("direct")) as sub:
        await sub.subscribe(topic, 1)
        session = MqttSession(url=link.url, client_id=user, reconnect_min_s=0.1,
                              reconnect_max_s=0.3)
        async with session:
            await session.wait_connected(10)
            link.update_user(user, outage_s=15.0)  # 1.5 s of wall time; closes after 0.4 s
            for i in range(5):
                session.publish_raw(topic, f"m{i}".encode(), qos=1)
            got = await _collect_set(sub, {f"m{i}".encode() for i in range(5)}, limit_s=30)
            assert link.stats().closed_by_link >= 1
            assert session.connects >= 2
            assert link.stats().outages >= 1
    assert got == {f"m{i}".encode() for i in range(5)}  # at least once: duplicates allowed


def _request(user: str, i: int, rng: np.random.Generator) -> TaskContent:
    """A task's content as its user sends it to its node (the JSON, then the bytes)."""
    image, mask = rng.bytes(900), rng.bytes(300)
    return TaskContent(task_id=f"task-{i}", checksum=hashlib.sha256(image + mask).hexdigest(),
                       split=len(image), data=image + mask)


def _checksum_ok(raw: bytes) -> bool:
    try:
        req = decode(raw, TaskContent)
    except (ProtocolError, UnicodeDecodeError):  # aaas.decode lets bad UTF-8 through (reported)
        return False
    return hashlib.sha256(req.image + req.mask).hexdigest() == req.checksum


async def test_corrupt_mode_keeps_framing_and_checksum_detects(link_upstream: BrokerURL) -> None:
    user = _uid("user")
    topic = TOPICS.content.topic.format(node_id="asp-00", user_id=user)
    rng = np.random.default_rng(2)
    sent = [_request(user, i, rng) for i in range(40)]
    # BPSK at 7.5 dB: BER ≈ 3e-4, so about one flip in each ~1.6 kB (14 kbit) request.
    profile = LinkProfile().replace(snr_db=7.5, fading="none", modulation="bpsk",
                                    error_mode="corrupt", rate_bps=1e8, outage_snr_db=-10.0,
                                    retry_limit=50)
    async with _proxy(link_upstream, profile) as link, \
            _client(link_upstream, _uid("direct")) as sub:
        await sub.subscribe(topic, 1)
        async with _client(link.url, user) as pub:
            for req in sent:
                await pub.publish(topic, encode(req), qos=1)
            got = await _collect(sub, len(sent))
        stats = link.stats()
    assert len(got) == len(sent)  # every PUBLISH still parsed by the broker: framing kept
    assert all(m.topic.value == topic for m in got)
    changed = [m.payload != encode(r) for m, r in zip(got, sent, strict=True)]
    assert sum(changed) == stats.corrupted_packets > 5
    for m, req in zip(got, sent, strict=True):
        assert len(m.payload) == len(encode(req))
        try:
            received = decode(m.payload, TaskContent)
        except (ProtocolError, UnicodeDecodeError):
            continue  # the JSON itself was hit: detected
        content_changed = (received.image, received.mask) != (req.image, req.mask)
        intact = not content_changed and received.checksum == req.checksum
        assert _checksum_ok(m.payload) is intact
    assert sum(not _checksum_ok(m.payload) for m in got) >= stats.corrupted_packets // 2


async def test_control_topic_changes_channel_without_loss(link_upstream: BrokerURL) -> None:
    user = _uid("user")
    topic = f"t/{uuid.uuid4().hex}"
    profile = LinkProfile(snr_db=25.0, fading="none", bandwidth_hz=20e6)
    async with _proxy(link_upstream, profile, scale=50.0, control=True) as link, \
            _client(link_upstream, _uid("ctl")) as ctl:
        await asyncio.wait_for(link.wait_control(), 10)
        await ctl.subscribe(topic, 1)
        async with _client(link.url, user) as pub:
            for i in range(100):
                await pub.publish(topic, f"{i}".encode(), qos=1)
                if i == 50:
                    update = LinkUpdate(profile={"snr_db": None, "distance_m": 120.0,
                                                 "fading": "rician", "rician_k": 8.0})
                    await ctl.publish(LINK_CONTROL.format(user_id=user),
                                      msgspec.json.encode(update), qos=1)
                    await ctl.publish(LINK_CONTROL.format(user_id=user), b"{bad", qos=1)
            got = await _collect(ctl, 100)
            for _ in range(100):
                if link.user(user).profile.distance_m == 120.0:
                    break
                await asyncio.sleep(0.05)
        prof = link.user(user).profile
        bad = link.metrics.registry.get_sample_value("aaas_link_control_messages_total",
                                                     {"outcome": "invalid"})
    assert [m.payload for m in got] == [f"{i}".encode() for i in range(100)]
    assert prof.distance_m == 120.0
    assert prof.fading == "rician"
    assert prof.snr_db is None
    assert bad == 1.0


async def test_not_mqtt_is_refused_and_proxy_keeps_serving(link_upstream: BrokerURL) -> None:
    async with _proxy(link_upstream, LinkProfile.perfect()) as link:
        r, w = await asyncio.open_connection(link.url.host, link.url.port)
        w.write(b"GET / HTTP/1.1\r\n\r\n")
        assert await asyncio.wait_for(r.read(), 5) == b""
        w.close()
        async with _client(link.url, _uid("ok")) as c:
            await c.publish("t/ok", b"x", qos=1)
        closed = link.metrics.registry.get_sample_value("aaas_link_connections_closed_total",
                                                        {"reason": "bad_connect"})
    assert closed == 1.0
