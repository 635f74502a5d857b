"""Overrun detection: every process measures how far behind the emulated clock it runs."""

from __future__ import annotations

import logging

import pytest

from aaas.lag import LagMeter, emulation_report
from testbed.demo import DemoOptions, run_demo
from tests.helpers.stack import small_scenario


def test_lag_within_the_limit_is_valid_and_beyond_it_is_not(
        caplog: pytest.LogCaptureFixture) -> None:
    ok = LagMeter("users")
    for _ in range(200):
        ok.observe("send", 10.0, 10_000.0)  # 0.1 % of the runtime
    report = emulation_report([ok], time_scale=1e4)
    assert report.valid and report.reason is None and report.late == 0
    assert report.lag_s.p99 == 10.0 and report.lag_share.p99 == 0.001
    assert set(report.by_kind) == {"send"}

    late = LagMeter("edge", warn_every_s=3600)
    with caplog.at_level(logging.WARNING):
        for _ in range(10):
            late.observe("admit", 500.0, 10_000.0)  # 5 %
    assert len([r for r in caplog.records if "emulation overrun" in r.message]) == 1  # rate-limited
    report = emulation_report([ok, late], time_scale=1e5)
    assert not report.valid and report.late == 10
    assert report.reason is not None and "'admit'" in report.reason and "x100000" in report.reason
    # Early events (clock jitter between hosts) count as no lag.
    early = LagMeter("x")
    early.observe("finish", -5.0, 100.0)
    assert early.lag_s == [0.0]


async def test_an_overrun_demo_says_it_is_not_valid() -> None:
    # x10^7: a 100-step task runs ~1.5 ms of wall time, less than a message takes.
    scenario = small_scenario(asps=3, workload={"users": 5, "horizon_s": 2_000_000,
                                                "arrival_rate": 0.00001})
    summary = await run_demo(DemoOptions(scenario=scenario, broker="embedded", time_scale=1e7,
                                         link=False, progress=False))
    em = summary["emulation"]
    assert summary["tasks"]["sent"] > 0 and em["samples"] > 0
    assert em["valid"] is False and "lower --time-scale" in em["reason"]
    assert em["lag_share"]["p99"] > em["max_lag_share"]
    assert {"send", "decide", "admit", "finish"} >= set(em["by_kind"]) >= {"admit"}


async def test_time_scale_auto_probes_from_the_fastest_scale_down(
        caplog: pytest.LogCaptureFixture) -> None:
    from testbed.autoscale import pick_time_scale, time_scale_arg

    assert time_scale_arg("auto") == "auto" and time_scale_arg("2e4") == 20_000.0
    scenario = small_scenario(asps=3, workload={"users": 5, "horizon_s": 2_000_000,
                                                "arrival_rate": 0.00001})
    opts = DemoOptions(scenario=scenario, broker="embedded", link=False, progress=False)
    with caplog.at_level(logging.INFO, logger="aaas.demo"):
        # Neither keeps up (a task's runtime is about a millisecond of wall time): the
        # slowest candidate is taken, and the log says so after probing both.
        scale = await pick_time_scale(opts, scales=(1e8, 1e7))
    assert scale == 1e7
    probes = [r.message for r in caplog.records if "time-scale probe" in r.message]
    assert len(probes) == 2 and "x1e+08" in probes[0] and "not valid" in probes[0]
    assert any("no probe kept up" in r.message for r in caplog.records)
