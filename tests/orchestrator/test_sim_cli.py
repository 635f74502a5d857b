"""``aaas train``, ``aaas evaluate`` and ``aaas bench sim`` end to end, on tiny budgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orch_scenarios import tiny_scenario_file

from testbed.cli import main

TABLE_V = ("return_mean", "return_std", "finished_rate", "crashed_rate", "utility", "lost_utility")


@pytest.mark.torch
def test_train_then_evaluate_with_plots(tmp_path: Path) -> None:
    scenario = str(tiny_scenario_file(tmp_path))
    ckpt = tmp_path / "ck" / "tiny.pt"
    assert main(["train", "--scenario", scenario, "--out", str(ckpt), "--updates", "20",
                 "--eval-every", "10", "--n-envs", "8"]) == 0
    assert ckpt.is_file()
    assert ckpt.with_suffix(".json").is_file()
    assert ckpt.with_suffix(".csv").is_file()
    out = tmp_path / "eval.json"
    plots = tmp_path / "plots"
    assert main(["evaluate", "--scenario", scenario, "--episodes", "3", "--checkpoint", str(ckpt),
                 "--json", str(out), "--plots", str(plots)]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"random", "round_robin", "least_loaded", "upper_bound", "sac", "_meta"}
    for name in ("random", "sac"):
        assert all(isinstance(data[name][k], float) for k in TABLE_V)
    assert data["_meta"]["episodes"] == 3
    for png in ("fig5_training.png", "fig6_policies.png"):
        assert (plots / png).read_bytes()[:4] == b"\x89PNG"


def test_evaluate_rejects_unknown_policies(tmp_path: Path) -> None:
    scenario = str(tiny_scenario_file(tmp_path))
    assert main(["evaluate", "--scenario", scenario, "--policies", "random,oracle"]) == 2


def test_bench_sim_prints_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = str(tiny_scenario_file(tmp_path))
    assert main(["bench", "sim", "--scenario", scenario, "--repeats", "2", "--n-envs", "64",
                 "--single-steps", "500", "--batch-steps", "5"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["single_env_steps_per_s"] > 0
    assert data["batch_env_steps_per_s"] > 0
    assert len(data["batch_runs"]) == 2
