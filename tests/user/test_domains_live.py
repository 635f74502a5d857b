"""Content domains live: users send their domain's images, the orchestrator's policy
sees the request's domain, the node scores the task on its curve for that domain, and
the users' summary breaks quality down by domain."""

from __future__ import annotations

from aaas import BrokerURL, parse_scenario
from testbed.demo import DemoOptions, run_demo

OUTCOMES = ("finished", "crashed", "rejected", "error", "lost", "undeliverable")


async def test_a_two_domain_run_is_served_on_each_tasks_own_curve(broker_url: BrokerURL) -> None:
    scenario = parse_scenario({
        "name": "two-domains", "seed": 11,
        "asps": {"count": 6, "capacity": {"min": 1000, "max": 1000, "step": 100,
                                          "inclusive": True}},
        "workload": {"users": 20, "horizon_s": 80_000, "arrival_rate": 0.0003},
        "domains": {"names": ["faces", "places"], "specialists": 2, "user_mix": 0.3},
    })
    summary = await run_demo(DemoOptions(scenario=scenario, broker=broker_url,
                                         policy="upper_bound", time_scale=20_000,
                                         progress=False, json_records=True))
    tasks = summary["tasks"]
    assert tasks["sent"] > 5 and tasks["finished"] == tasks["sent"], tasks
    records = summary["records"]
    assert {r["domain"] for r in records} == {"faces", "places"}
    for r in records:
        # the users accept only a quality equal to the node's curve on the task's domain
        asp = scenario.asp(r["node_id"])
        expected = asp.curve_for(scenario.domains.index(r["domain"]))(r["steps"])
        assert abs(r["quality"] - expected) < 1e-9, r
    # the prophet sees the domain: nearly every task goes to its own domain's specialist
    matched = sum(scenario.asp(r["node_id"]).specialty == r["domain"] for r in records)
    assert matched >= 0.8 * len(records)
    by_domain = summary["domains"]
    assert sum(d["tasks"] for d in by_domain.values()) == tasks["sent"]
    for name, d in by_domain.items():
        mine = [r["quality"] for r in records if r["domain"] == name]
        assert d["finished"] == len(mine)
        assert abs(d["quality_mean"] - sum(mine) / len(mine)) < 1e-9
