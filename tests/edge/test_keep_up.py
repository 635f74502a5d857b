"""The real ASPs' cap on the time scale (edge_node.keep_up, testbed.autoscale)."""

from __future__ import annotations

import logging

import pytest

from aaas import ConfigError, RuntimeModel, parse_scenario
from edge_node.keep_up import keep_up_scale, workload_steps
from testbed.autoscale import choose_time_scale, round_down
from testbed.demo import DemoOptions

pytest.importorskip("diffusers")


def test_the_cap_is_the_scale_at_which_a_full_asp_ends_its_tasks_in_time() -> None:
    runtime = RuntimeModel(a=0.0, b=0.0, c=10.0, unit_s=60.0)  # 600 s, whatever t
    # 100 steps of capacity: 10 tasks of 10 steps (20 UNet calls each) or 5 of 20 (40 each):
    # 200 calls at 100 calls/s either way: 2 wall s must fit in margin · 600 s.
    scale, t = keep_up_scale(capacity=100, steps=[10, 20], runtime=runtime,
                             unet_calls=lambda s: 2 * s, calls_per_s=100.0, margin=1.0)
    assert scale == pytest.approx(300.0) and t in (10, 20)
    shared, _ = keep_up_scale(capacity=100, steps=[10, 20], runtime=runtime,
                              unet_calls=lambda s: 2 * s, calls_per_s=100.0, sharing=2,
                              margin=0.5)
    assert shared == pytest.approx(300.0 / 4)
    # a longer runtime for more steps: the fewest steps bind
    grows = RuntimeModel(a=0.0, b=60.0, c=0.0, unit_s=1.0)
    scale, t = keep_up_scale(capacity=100, steps=[10, 50], runtime=grows,
                             unet_calls=lambda s: s + 30, calls_per_s=50.0, margin=1.0)
    assert t == 10 and scale == pytest.approx(600 / (10 * 40 / 50))
    with pytest.raises(ConfigError):
        keep_up_scale(capacity=100, steps=[10], runtime=runtime, unet_calls=lambda s: s,
                      calls_per_s=0.0)
    assert round_down(1027.4) == 1000 and round_down(1849.0) == 1800 and round_down(97) == 97


def _real_scenario() -> object:
    return parse_scenario({
        "name": "one-real", "seed": 3,
        "asps": {"count": 2, "capacity": {"min": 30, "max": 30, "step": 10, "inclusive": True},
                 "override": [{"index": 0, "backend": "repaint", "model": "builtin:faces",
                               "timing": "model"}]},
        "workload": {"users": 4, "horizon_s": 6000, "arrival_rate": 0.0015,
                     "steps": {"min": 10, "max": 10, "step": 1, "inclusive": True}},
        "runtime": {"a": 0.0, "b": 0.0, "c": 10.0, "unit_s": 60.0},
        "domains": {"names": ["faces"]},
        "limits": {"image_size": 32},
    })


async def test_a_fixed_time_scale_too_fast_for_a_real_asp_warns_and_says_why(
        caplog: pytest.LogCaptureFixture) -> None:
    scenario = _real_scenario()
    assert workload_steps(scenario) == [10]  # type: ignore[arg-type]
    opts = DemoOptions(scenario=scenario, broker="embedded", progress=False)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="aaas.demo"):
        choice = await choose_time_scale(1e9, opts)
    assert choice.scale == 1e9 and len(choice.real) == 1
    real = choice.real[0]
    assert real.asp == "asp-00" and real.model == "builtin:faces" and real.calls_per_s > 0
    assert 0 < real.max_scale < 1e9 and real.tasks == 3 and real.unet_calls == 10
    assert "above the real ASPs'" in choice.reason
    assert any("too fast for the real ASPs" in r.message for r in caplog.records)
    slow = await choose_time_scale(1.0, opts)
    assert slow.reason == "x1 given"
