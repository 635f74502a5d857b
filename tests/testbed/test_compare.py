"""``aaas compare``: one episode in the simulator and live."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from testbed.compare import episode_arrivals, simulate
from tests.helpers.stack import small_scenario
from user_agent import poisson_arrivals

ROOT = Path(__file__).resolve().parents[2]


def test_the_simulator_gets_the_demos_task_stream() -> None:
    scenario = small_scenario(asps=3, workload={"users": 5, "horizon_s": 50_000,
                                                "arrival_rate": 0.0004})
    mine = episode_arrivals(scenario, 4)
    demos = poisson_arrivals(scenario.workload, scenario.user_ids(),
                             np.random.default_rng([4, 0]))
    assert mine == demos and len(mine) > 5
    sim, actions = simulate(scenario, "round_robin", 4)
    assert sim.tasks == len(mine) == len(actions)
    assert actions[:4] == [0, 1, 2, 0]
    assert sim.admitted + sim.crashes == sim.tasks


def test_compare_writes_both_rewards_and_the_agreement(tmp_path: Path) -> None:
    # A small episode on the paper's ASPs: least_loaded is deterministic and ~20 tasks
    # at x20000 keep far from any overrun, so live and simulator place tasks alike.
    out = tmp_path / "cmp.json"
    res = subprocess.run(
        [sys.executable, "-m", "testbed.cli", "--log-level", "WARNING", "compare",
         "--policy", "least_loaded", "--users", "10", "--duration", "20000",
         "--time-scale", "20000", "--no-link", "--broker", "embedded", "--no-progress",
         "--json", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    data = json.loads(out.read_text())
    assert [r["policy"] for r in data["runs"]] == ["least_loaded"]
    tasks = data["live"]["tasks"]
    assert set(tasks) == {"sent", "finished", "crashed", "rejected", "error", "lost",
                          "undeliverable"}
    assert tasks["sent"] == data["sim"]["tasks"] > 0
    assert tasks["lost"] == 0 and data["live"]["broker"] == "embedded"
    assert 0.0 <= data["agreement"] <= 1.0
    # With no crash in either, each finished task earns its q in both: the rewards agree
    # within the tasks placed differently.
    assert data["sim"]["crashes"] == data["live"]["crashes"] == 0
    assert abs(data["live"]["reward"] - data["sim"]["reward"]) <= \
        (1 - data["agreement"]) * tasks["sent"] + 1e-6
    assert {"valid", "lag_share", "lag_s"} <= set(data["emulation"])
