"""The demo spread over processes: edge nodes and link in children (testbed.spread)."""

from __future__ import annotations

import asyncio
import multiprocessing

import pytest
from prometheus_client import CollectorRegistry

from aaas import BrokerURL
from aaas.datachannel import DeliverySettings
from monitoring import DeliveryMetrics
from testbed.delivery import delivery_totals
from testbed.demo import DemoOptions, run_demo
from testbed.spread import SPREAD_MIN_TASKS_PER_S, PartReport, should_spread
from tests.helpers.stack import small_scenario


@pytest.mark.mosquitto
async def test_a_spread_demo_reports_what_its_children_measured(mosquitto: BrokerURL) -> None:
    scenario = small_scenario(asps=4, workload={"users": 20, "horizon_s": 100_000,
                                                "arrival_rate": 0.0003})
    summary = await run_demo(DemoOptions(scenario=scenario, broker=mosquitto,
                                         time_scale=20_000, progress=False, spread=True))
    tasks = summary["tasks"]
    assert summary["processes"] == 3
    assert tasks["sent"] > 0 and tasks["finished"] == tasks["sent"], tasks
    # The edge nodes' lag samples came back from their process ...
    assert {"admit", "finish"} <= set(summary["emulation"]["by_kind"])
    assert summary["emulation"]["samples"] >= 4 * tasks["sent"]
    # ... and the link's totals from its own.
    assert summary["link"]["air_up"] > summary["bytes"]["up"]


async def test_one_process_unless_asked_or_needed() -> None:
    mqtt = DeliverySettings()
    fast = SPREAD_MIN_TASKS_PER_S
    assert should_spread(spread=None, tasks_per_s=fast, metrics_port=None, delivery=mqtt,
                         link_tls=None)
    assert not should_spread(spread=None, tasks_per_s=fast / 2, metrics_port=None,
                             delivery=mqtt, link_tls=None)
    # One /metrics endpoint, WebRTC's relay and a TLS link keep the demo in one process.
    assert not should_spread(spread=None, tasks_per_s=fast, metrics_port=9100, delivery=mqtt,
                             link_tls=None)
    assert not should_spread(spread=None, tasks_per_s=fast, metrics_port=None,
                             delivery=DeliverySettings(mode="webrtc"), link_tls=None)
    assert not should_spread(spread=None, tasks_per_s=fast, metrics_port=None, delivery=mqtt,
                             link_tls=object())
    assert should_spread(spread=True, tasks_per_s=0, metrics_port=9100, delivery=mqtt,
                         link_tls=None)
    assert not should_spread(spread=False, tasks_per_s=fast, metrics_port=None, delivery=mqtt,
                             link_tls=None)


def test_a_childs_metrics_count_in_the_delivery_totals() -> None:
    mine, theirs = CollectorRegistry(), CollectorRegistry()
    DeliveryMetrics(mine).bytes.labels(service="user", path="broker", direction="sent").inc(100)
    DeliveryMetrics(theirs).bytes.labels(service="edge", path="broker", direction="sent").inc(50)
    report = PartReport(metrics=list(theirs.collect()))
    assert delivery_totals([mine, report.registry()], "mqtt").broker_bytes == 150
    assert delivery_totals(mine, "mqtt").broker_bytes == 100


@pytest.mark.mosquitto
async def test_a_child_that_dies_makes_the_run_not_valid_and_says_why(
        mosquitto: BrokerURL) -> None:
    scenario = small_scenario(asps=4, workload={"users": 20, "horizon_s": 100_000,
                                                "arrival_rate": 0.0003})
    run = asyncio.create_task(run_demo(DemoOptions(
        scenario=scenario, broker=mosquitto, time_scale=20_000, progress=False,
        spread=True, link=False)))
    for _ in range(600):  # until the edge nodes' process runs and tasks flow
        edge = [p for p in multiprocessing.active_children() if p.name == "aaas-edge"]
        if edge:
            break
        await asyncio.sleep(0.05)
    assert edge, "no edge process"
    await asyncio.sleep(2.0)
    edge[0].kill()
    summary = await asyncio.wait_for(run, 120)
    assert summary["processes"] == 2
    assert summary["emulation"]["valid"] is False
    assert "edge process exited" in summary["emulation"]["reason"]
    tasks = summary["tasks"]
    outcomes = ("finished", "crashed", "rejected", "error", "undeliverable", "lost")
    assert sum(tasks[k] for k in outcomes) == tasks["sent"]


@pytest.mark.mosquitto
async def test_the_orchestrator_may_run_in_a_process_of_its_own(mosquitto: BrokerURL) -> None:
    scenario = small_scenario(asps=4, workload={"users": 20, "horizon_s": 100_000,
                                                "arrival_rate": 0.0003})
    summary = await run_demo(DemoOptions(scenario=scenario, broker=mosquitto,
                                         time_scale=20_000, progress=False, spread=True,
                                         spread_orchestrator=True, link=False))
    tasks = summary["tasks"]
    assert summary["processes"] == 3  # the users here; edge nodes and orchestrator apart
    assert tasks["sent"] > 0 and tasks["finished"] == tasks["sent"], tasks
    # Its ledger, policy and lag samples came back from its process ...
    assert summary["policy"] == "least_loaded" and summary["reward"]["total"] > 0
    assert "decide" in summary["emulation"]["by_kind"]
    # ... and every process's CPU while the users ran.
    assert set(summary["cpu_s"]) == {"users", "edge", "orchestrator"}
    assert all(s > 0 for s in summary["cpu_s"].values())
