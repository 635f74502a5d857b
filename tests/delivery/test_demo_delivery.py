"""`aaas demo --delivery`: every task accounted for, the broker's bytes fall with WebRTC."""

from __future__ import annotations

import pytest

from aaas import BrokerURL
from aaas.datachannel import DeliverySettings
from testbed.demo import DemoOptions, run_demo
from tests.helpers.stack import small_scenario

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(240)]


async def test_webrtc_moves_the_content_off_the_broker(mosquitto: BrokerURL) -> None:
    # 256 px noisy images (~200 KB PNGs): content dwarfs the control messages.
    scenario = small_scenario(asps=3, workload={"users": 6, "horizon_s": 40_000,
                                                "arrival_rate": 0.0003},
                              limits={"image_size": 256, "image_noise": 8.0,
                                      "max_image_bytes": 4 << 20})
    out = {}
    for mode in ("mqtt", "webrtc"):
        s = await run_demo(DemoOptions(scenario=scenario, broker=mosquitto, time_scale=20_000,
                                       link=False, progress=False,
                                       delivery=DeliverySettings(mode=mode)))
        tasks = s["tasks"]
        assert tasks["sent"] > 0 and tasks["finished"] == tasks["sent"], tasks
        out[mode] = s["delivery"]
    assert out["mqtt"]["webrtc_bytes"] == 0 and out["webrtc"]["fallbacks"] == 0
    assert out["webrtc"]["webrtc_bytes"] > 0 and out["webrtc"]["peer_setups"] > 0
    assert out["webrtc"]["broker_bytes"] < 0.1 * out["mqtt"]["broker_bytes"]


async def test_webrtc_through_the_link_accounts_for_every_task(mosquitto: BrokerURL) -> None:
    scenario = small_scenario(asps=2, workload={"users": 4, "horizon_s": 20_000,
                                                "arrival_rate": 0.0003},
                              link={"default": {"snr_db": 25, "fading": "none",
                                                "pathloss": "none"}})
    s = await run_demo(DemoOptions(scenario=scenario, broker=mosquitto, time_scale=20_000,
                                   progress=False, delivery=DeliverySettings(mode="webrtc")))
    tasks = s["tasks"]
    assert tasks["sent"] > 0 and tasks["finished"] == tasks["sent"], tasks
    d = s["delivery"]
    assert d["webrtc_bytes"] > 0 and d["peer_setup_wall_s"] > 0
    assert sum(d["fallbacks_by_reason"].values()) == d["fallbacks"]
