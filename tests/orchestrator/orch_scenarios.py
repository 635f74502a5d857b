"""Small scenarios for the orchestrator tests (imported by the test modules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aaas import Scenario, parse_scenario

TINY_TOML = """
name = "tiny"
seed = 5
[asps]
count = 8
capacity = {{ min = 600, max = 1200, step = 100, inclusive = true }}
[workload]
arrival_rate = 0.0006
horizon_s = {horizon}
steps = {{ min = 100, max = 250, step = 10, inclusive = true }}
"""


def hand_scenario() -> Scenario:
    """Two ASPs with round numbers: runtime(t) = t seconds, q0(t) = t/200, q1(t) = 0.5."""
    data: dict[str, Any] = {
        "name": "hand", "seed": 0,
        "asps": {"count": 2, "override": [
            {"index": 0, "capacity": 300, "ax": 0, "ay": 0, "bx": 200, "by": 1.0},
            {"index": 1, "capacity": 200, "ax": 0, "ay": 0, "bx": 100, "by": 0.5},
        ]},
        "runtime": {"a": 0.0, "b": 1.0, "c": 0.0, "unit_s": 1.0},
        "crash": {"base_penalty": 2.0, "lost_weight": 2.0},
    }
    return parse_scenario(data)


def tiny_scenario_file(folder: Path, horizon: float = 250_000) -> Path:
    """Eight ASPs, ~150 tasks per episode: a scenario file for fast runs."""
    path = folder / "tiny.toml"
    path.write_text(TINY_TOML.format(horizon=horizon))
    return path
