"""An emulated testbed with one real ``repaint`` node (tiny model, CPU) next to
``modeled`` nodes, end to end over MQTT: both serve tasks with the same contract,
and the repaint node keeps publishing its load while a model runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiomqtt
import numpy as np
import pytest
from repaint_tiny import save_tiny_repaint

import broker
import testbed.demo as demo
from aaas import TOPICS, NodeLoad, TaskResult, decode, parse_scenario
from aaas.images import decode_image

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _scenario(model: Path) -> Any:
    return parse_scenario({
        "name": "repaint-e2e", "seed": 5,
        "asps": {"count": 3, "capacity": {"min": 200, "max": 200, "step": 10, "inclusive": True},
                 # the most free capacity: least_loaded sends it tasks first; 210 so that
                # any task running there (20+ steps) sends the next one to a modeled node,
                # however fast this machine runs the tiny model
                 "override": [{"index": 0, "backend": "repaint", "model": str(model),
                               "capacity": 210}]},
        "workload": {"users": 4, "arrival_rate": 0.04, "horizon_s": 600,
                     "steps": {"min": 20, "max": 40, "step": 10, "inclusive": True}},
        "runtime": {"a": 0.0, "b": 0.01, "c": 0.0, "unit_s": 60.0},  # modeled: 0.6·t s
        # the demo drains for 2·runtime(t_max) + queue_timeout_s: room for the real model
        "limits": {"image_size": 32, "queue_timeout_s": 3000},
    })


async def _observe(url: Any, results: list[TaskResult], loads: list[NodeLoad],
                   ready: asyncio.Event) -> None:
    async with aiomqtt.Client(hostname=url.host, port=url.port, identifier="e2e-observer") as c:
        await c.subscribe(TOPICS.result.topic.filter, qos=1)
        await c.subscribe(TOPICS.load.topic.filter, qos=1)
        ready.set()
        async for msg in c.messages:
            raw = bytes(msg.payload) if isinstance(msg.payload, bytes | bytearray) else b""
            if str(msg.topic).endswith("/result"):
                results.append(decode(raw, TaskResult))
            elif str(msg.topic).endswith("/load"):
                loads.append(decode(raw, NodeLoad))


@pytest.fixture
def one_torch_thread() -> Any:
    """One torch thread: two spin against the other processes on a busy CI machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_torch_thread")
async def test_repaint_node_next_to_modeled_nodes(tmp_path: Path) -> None:
    scenario = _scenario(save_tiny_repaint(tmp_path / "model"))
    results: list[TaskResult] = []
    loads: list[NodeLoad] = []
    async with broker.EmbeddedBroker() as b:
        ready = asyncio.Event()
        observer = asyncio.create_task(_observe(b.url, results, loads, ready))
        await asyncio.wait_for(ready.wait(), 10)
        summary = await demo.run_demo(demo.DemoOptions(
            scenario=scenario, policy="least_loaded", broker=b.url, time_scale=100.0,
            progress=False, seed=1))
        await asyncio.sleep(0.2)
        observer.cancel()
        await asyncio.gather(observer, return_exceptions=True)

    assert summary["tasks"]["finished"] >= 5
    ok = [r for r in results if r.status == "ok"]
    real = [r for r in ok if r.node_id == "asp-00"]
    modeled = [r for r in ok if r.node_id != "asp-00"]
    assert real, f"the repaint node served nothing: {[r.node_id for r in ok]}"
    assert modeled, "the modeled nodes served nothing"
    curve = scenario.asps[0].curve
    for r in real:
        assert r.image is not None
        assert decode_image(r.image).shape == (32, 32, 3)
        assert r.quality == pytest.approx(curve(r.steps))  # the ASP's (fitted) curve
        assert "tv" in r.metrics
        assert r.timings.runtime_s is not None
        assert r.timings.runtime_s > 0
    # Load reports from the repaint node while one of its tasks was inferring: its
    # MQTT loop was not blocked by the model.
    spans = [(r.timings.started_at, r.timings.finished_at) for r in real]
    during = [ld for ld in loads if ld.node_id == "asp-00" and any(
        s is not None and f is not None and s < ld.at < f for s, f in spans)]
    assert during, "no load report from the repaint node during its inference"
    assert np.isfinite(summary["reward"]["total"])
