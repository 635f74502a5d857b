"""Content over real aiortc peers on loopback, signalled over a real Mosquitto."""

from __future__ import annotations

import asyncio
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rtc_helpers import rtc_testbed, send_and_drain

from aaas import BrokerURL, Outcome
from aaas.datachannel import DeliverySettings
from monitoring import MetricsServer

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(120)]

WEBRTC = DeliverySettings(mode="webrtc", setup_timeout_s=20, idle_close_s=30)


def _sample(run, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return run.registry.get_sample_value(name, labels) or 0.0


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return str(resp.read().decode())


async def test_exact_images_over_webrtc_with_connections_reused(mosquitto: BrokerURL) -> None:
    async with rtc_testbed(mosquitto, node=WEBRTC, user=WEBRTC) as run:
        await send_and_drain(run, 6)
        recs = list(run.agent.records.values())
        # Finished means the image matched the node's sha256 (checked at the user).
        assert [r.outcome for r in recs] == [Outcome.FINISHED] * 6, [r.error for r in recs]
        assert run.metrics.totals()["fallbacks"] == 0
        up = _sample(run, "aaas_delivery_bytes_total", path="webrtc", service="edge",
                     direction="received")
        down = _sample(run, "aaas_delivery_bytes_total", path="webrtc", service="user",
                       direction="received")
        assert up == sum(r.bytes_up for r in recs)  # every upload came over the channel
        assert down == sum(r.bytes_down for r in recs) > 0
        # 2 users x 2 nodes: at most 4 peer connections for 6 tasks.
        setups = _sample(run, "aaas_delivery_peer_setup_wall_seconds_count", service="edge")
        assert 1 <= setups <= 4


async def test_a_user_that_never_answers_gets_everything_over_mqtt(mosquitto: BrokerURL) -> None:
    node = DeliverySettings(mode="webrtc", setup_timeout_s=1.0)
    async with rtc_testbed(mosquitto, node=node, user=WEBRTC) as run:
        assert run.agent.rtc is not None
        run.agent.rtc.on_offer = lambda offer: None  # type: ignore[method-assign]
        await send_and_drain(run, 3)
        recs = list(run.agent.records.values())
        assert [r.outcome for r in recs] == [Outcome.FINISHED] * 3, [r.error for r in recs]
        # Each upload failed over once (asked again inline); the retry takes MQTT all along.
        # The counts carry why, on the /metrics a Prometheus scrapes.
        with MetricsServer(run.registry) as server:
            text = await asyncio.to_thread(_scrape, server.url)
        fallbacks = {(s.labels["service"], s.labels["content"], s.labels["reason"]): s.value
                     for family in text_string_to_metric_families(text)
                     for s in family.samples if s.name == "aaas_delivery_fallbacks_total"}
        assert fallbacks == {("user", "upload", "content_unavailable"): 3,
                             ("edge", "upload", "peer_setup_timeout"): 3,
                             ("edge", "result", "peer_setup_timeout"): 3}
        assert _sample(run, "aaas_delivery_peer_failures_total", service="edge",
                       reason="timeout") >= 1
        assert _sample(run, "aaas_delivery_bytes_total", path="webrtc", service="user",
                       direction="received") == 0


async def test_auto_keeps_small_content_on_mqtt(mosquitto: BrokerURL) -> None:
    auto = DeliverySettings(mode="auto", threshold_bytes=10**9)
    async with rtc_testbed(mosquitto, node=auto, user=auto) as run:
        await send_and_drain(run, 2)
        assert all(r.outcome is Outcome.FINISHED for r in run.agent.records.values())
        assert _sample(run, "aaas_delivery_peer_setup_wall_seconds_count", service="edge") == 0
        assert _sample(run, "aaas_delivery_bytes_total", path="broker", service="user",
                       direction="received") > 0
