"""A demo with a real RePaint ASP on a shipped model (issue 25): at the scale its measured
speed allows, every task finishes, the run keeps up with its clock, the users receive
the diffusion restorations (not the classical content of a modeled ASP), and
``aaas report`` draws a sample of them."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from aaas import BrokerURL, parse_scenario
from testbed.demo import DemoOptions, run_demo

pytest.importorskip("diffusers")


def _png(b64: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"))


async def test_a_real_repaint_asp_keeps_up_and_its_users_get_diffusion_restorations(
        broker_url: BrokerURL, tmp_path: Path) -> None:
    from edge_node.backends.modeled import CONTENT_SCALE, classical_inpaint
    from monitoring.report import write_report
    from monitoring.report_data import from_demo_json
    from testbed.autoscale import choose_time_scale, round_down

    scenario = parse_scenario({
        "name": "one-real", "seed": 3,
        "asps": {"count": 2, "capacity": {"min": 30, "max": 30, "step": 10, "inclusive": True},
                 "override": [{"index": 0, "backend": "repaint", "model": "builtin:faces",
                               "timing": "model", "ay": 0.0, "by": 0.95, "ax": 1, "bx": 5},
                              {"index": 1, "ay": 0.0, "by": 0.2}]},
        "workload": {"users": 4, "horizon_s": 2400, "arrival_rate": 0.003,
                     "steps": {"min": 10, "max": 10, "step": 1, "inclusive": True}},
        "runtime": {"a": 0.0, "b": 0.0, "c": 10.0, "unit_s": 60.0},
        "domains": {"names": ["faces"]},
        "limits": {"image_size": 32},
    })
    opts = DemoOptions(scenario=scenario, broker=broker_url, policy="upper_bound",
                       link=False, progress=False, json_records=True, json_samples=2,
                       json_path=tmp_path / "run.json")
    fixed = await choose_time_scale(1.0, opts)  # measures the real ASP, probes nothing
    cap = min(k.max_scale for k in fixed.real)
    # At most x200: the 1 % lag allowed is then 30 wall ms of a 600 s runtime (at the cap,
    # some x850, it would be 7 ms: less than the brokers' own jitter on a busy CI machine).
    scale = min(round_down(cap), 200.0)
    summary = await run_demo(replace(opts, time_scale=scale,
                                     time_scale_reason="the real ASP's cap"))
    tasks = summary["tasks"]
    assert tasks["sent"] >= 4 and tasks["finished"] == tasks["sent"], tasks
    assert summary["emulation"]["valid"], summary["emulation"]["by_kind"]
    assert summary["time_scale_reason"] == "the real ASP's cap"
    real = [r for r in summary["records"] if r["node_id"] == "asp-00"]
    assert len(real) >= 2  # the prophet prefers the real ASP's curve while it has room
    samples = [s for s in summary["samples"] if s["node_id"] == "asp-00"]
    assert samples and all(s["backend"] == "repaint" and s["model"] == "builtin:faces"
                           for s in samples)
    for s in samples:
        damaged, restored = _png(s["damaged"]), _png(s["restored"])
        hole = _png(s["mask"])[..., 0] > 0
        assert hole.any() and (restored[~hole] == damaged[~hole]).all()  # known pixels kept
        telea = classical_inpaint(damaged, hole, scale=CONTENT_SCALE)
        assert not (restored[hole] == telea[hole]).all()  # not the modeled content
    files = write_report(from_demo_json(tmp_path / "run.json"), tmp_path / "report")
    assert any(p.name == "restorations.png" and p.stat().st_size > 0 for p in files)
