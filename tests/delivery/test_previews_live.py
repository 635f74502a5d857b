"""Previews over WebRTC: a real ``repaint`` node (tiny UNet, CPU) sends a user small
intermediate images over real aiortc peers on loopback, signalled over Mosquitto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from edge.repaint_tiny import save_tiny_repaint
from rtc_helpers import rtc_testbed, send_and_drain

from aaas import BrokerURL, EmulatedClock, Outcome, Scenario, parse_scenario
from aaas.datachannel import DeliverySettings
from testbed.delivery import delivery_totals

pytestmark = [pytest.mark.mosquitto, pytest.mark.torch, pytest.mark.timeout(120)]

STEPS = 40
EVERY = 5


def _scenario(model: Path) -> Scenario:
    return parse_scenario({
        "name": "previews", "seed": 3,
        "asps": {"count": 1, "capacity": {"min": 200, "max": 200, "step": 10, "inclusive": True},
                 "override": [{"index": 0, "backend": "repaint", "model": str(model)}]},
        "workload": {"users": 2, "horizon_s": 600,
                     "steps": {"min": 20, "max": 40, "step": 10, "inclusive": True}},
        # emulated ×100: the real model's seconds become minutes; room to wait for it
        "limits": {"image_size": 32, "queue_timeout_s": 3000},
    })


@pytest.fixture
def one_torch_thread() -> Any:
    """One torch thread: two spin against the other processes on a busy CI machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("mode", [
    # content both ways over the data channel: the peer is open from the upload on
    DeliverySettings(mode="webrtc", setup_timeout_s=20, preview_every=EVERY),
    # content inline over MQTT (auto, a threshold nothing reaches): the node opens a peer
    # connection for the previews alone
    DeliverySettings(mode="auto", threshold_bytes=10**9, setup_timeout_s=20,
                     preview_every=EVERY),
], ids=["webrtc", "auto-mqtt-content"])
async def test_previews_arrive_before_the_exact_result(mosquitto: BrokerURL, tmp_path: Path,
                                                      mode: DeliverySettings) -> None:
    scenario = _scenario(save_tiny_repaint(tmp_path / "model"))
    async with rtc_testbed(mosquitto, node=mode, user=mode, scenario=scenario,
                           clock=EmulatedClock(scale=100.0)) as run:
        await send_and_drain(run, 2, steps=STEPS)
        recs = list(run.agent.records.values())
        # Finished means the image matched the node's sha256 (checked at the user).
        assert [r.outcome for r in recs] == [Outcome.FINISHED] * 2, [r.error for r in recs]
        for r in recs:
            assert r.first_preview_s is not None, r.task_id
            assert r.latency_s is not None and 0 < r.first_preview_s < r.latency_s
        got = run.registry.get_sample_value("aaas_delivery_bytes_total", {
            "path": "webrtc", "service": "user", "direction": "received"}) or 0.0
        assert got > 0
        totals = delivery_totals(run.registry, mode.mode)
        assert totals.tasks_with_preview == 2
        assert totals.first_preview_s is not None and totals.first_preview_s > 0


async def test_no_previews_unless_asked(mosquitto: BrokerURL, tmp_path: Path) -> None:
    """The same run without --preview-every: no preview frame, none recorded."""
    mode = DeliverySettings(mode="webrtc", setup_timeout_s=20)
    scenario = _scenario(save_tiny_repaint(tmp_path / "model"))
    async with rtc_testbed(mosquitto, node=mode, user=mode, scenario=scenario,
                           clock=EmulatedClock(scale=100.0)) as run:
        await send_and_drain(run, 1, steps=20)
        (rec,) = run.agent.records.values()
        assert rec.outcome is Outcome.FINISHED, rec.error
        assert rec.first_preview_s is None
        assert delivery_totals(run.registry, mode.mode).first_preview_s is None
