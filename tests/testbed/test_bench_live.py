"""``aaas bench live``: the offered-rate sweep and its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_live_sweeps_rates_and_writes_the_capacity(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    res = subprocess.run(
        [sys.executable, "-m", "testbed.cli", "--log-level", "WARNING", "bench", "live",
         "--rates", "5,10", "--sustain", "2", "--users", "20", "--broker", "embedded",
         "--json", str(out)],
        capture_output=True, text=True, timeout=150, cwd=ROOT, check=False)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["broker"] == "embedded" and data["link"] is False
    assert [s["offered_tasks_per_s"] for s in data["steps"]] == [5.0, 10.0]
    for step in data["steps"]:
        assert step["tasks"]["sent"] > 0
        assert set(step["cpu"]) == {"testbed", "broker", "workers"} and step["cpu"]["testbed"] > 0
        assert {"valid", "lag_share", "lag_s"} <= set(step["emulation"])
        assert step["time_scale"] == step["offered_tasks_per_s"] / 0.001
    ok = [s["offered_tasks_per_s"] for s in data["steps"] if s["zero_loss"]]
    assert data["max_zero_loss_tasks_per_s"] == max(ok, default=0.0)
    assert '"max_zero_loss_tasks_per_s"' in res.stdout
