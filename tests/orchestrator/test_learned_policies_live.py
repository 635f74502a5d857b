"""The learned bid prices and D2SAC drive the live orchestrator end to end: the live
ClusterView's Observation feeds the same versioned features as the simulator."""

from __future__ import annotations

import pytest

from aaas import BrokerURL, load_scenario
from testbed.demo import DemoOptions, run_demo


@pytest.mark.parametrize("policy", ["bid_price", pytest.param("d2sac", marks=pytest.mark.torch)])
async def test_learned_policy_runs_the_live_orchestrator(embedded: BrokerURL, policy: str) -> None:
    if policy == "d2sac":
        pytest.importorskip("torch")
    summary = await run_demo(DemoOptions(scenario=load_scenario("paper"), policy=policy,
                                         broker=embedded, users=20, duration_s=40_000,
                                         time_scale=10_000, progress=False, link=False))
    assert summary["policy"] == policy
    tasks = summary["tasks"]
    assert tasks["sent"] > 0
    assert tasks["finished"] == tasks["sent"]  # light load: no node may crash
    assert summary["crashes"] == 0
