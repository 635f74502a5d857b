"""Users who ask again, live: a whole emulated run with ``[workload.repeats]`` on."""

from __future__ import annotations

from aaas import BrokerURL
from aaas.repeats import user_thresholds
from testbed.demo import DemoOptions, run_demo
from tests.helpers.stack import small_scenario

OUTCOMES = ("finished", "crashed", "rejected", "error", "lost", "undeliverable")


async def test_disappointed_users_ask_again_and_it_is_counted(broker_url: BrokerURL) -> None:
    # Thresholds in [0.95, 0.99): nearly every result disappoints, so nearly every
    # first request is asked again once (k = 1), and no repeat is asked again.
    repeats = {"max_repeats": 1, "threshold": {"min": 0.95, "max": 0.99}}
    scenario = small_scenario(asps=4, workload={"users": 20, "horizon_s": 60_000,
                                                "arrival_rate": 0.0003, "repeats": repeats})
    assert (user_thresholds(scenario) >= 0.95).all()
    summary = await run_demo(DemoOptions(scenario=scenario, broker=broker_url,
                                         time_scale=20_000, progress=False))
    tasks = summary["tasks"]
    assert sum(tasks[o] for o in OUTCOMES) == tasks["sent"], tasks
    assert tasks["lost"] == 0
    rep = summary["repeats"]
    firsts = tasks["sent"] - rep["sent"]
    assert firsts > 0 and rep["sent"] > 0
    assert rep["sent"] <= firsts  # k = 1: at most one repeat per first request
    assert 0 < rep["bytes"] < summary["bytes"]["up"] + summary["bytes"]["down"]


async def test_without_repeats_the_summary_has_none(broker_url: BrokerURL) -> None:
    scenario = small_scenario(asps=2, workload={"users": 5, "horizon_s": 20_000,
                                                "arrival_rate": 0.0003})
    summary = await run_demo(DemoOptions(scenario=scenario, broker=broker_url,
                                         time_scale=20_000, progress=False))
    assert "repeats" not in summary
