"""The trained SAC policy drives the live orchestrator end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aaas import BrokerURL, ConfigError, load_scenario
from orchestrator.policies import Observation, make_policy
from testbed.demo import DemoOptions, run_demo

pytest.importorskip("torch")


async def test_shipped_checkpoint_runs_the_live_orchestrator(embedded: BrokerURL) -> None:
    summary = await run_demo(DemoOptions(scenario=load_scenario("paper"), policy="sac",
                                         broker=embedded, users=20, duration_s=80_000,
                                         time_scale=20_000, progress=False))
    assert summary["policy"] == "sac"
    tasks = summary["tasks"]
    assert tasks["sent"] > 0
    assert tasks["finished"] == tasks["sent"]  # light load: SAC must not crash nodes
    assert summary["crashes"] == 0


def test_sac_never_picks_an_offline_asp_and_rejects_a_wrong_checkpoint(tmp_path: Path) -> None:
    scenario = load_scenario("paper")
    policy = make_policy("sac", scenario, rng=np.random.default_rng(0))
    online = np.zeros(20, dtype=bool)
    online[[3, 11]] = True
    obs = Observation(capacity_M=scenario.capacities, free_M=scenario.capacities.copy(),
                      online_M=online, steps=150, runtime_s=scenario.runtime(150))
    assert policy.select(obs) in (3, 11)
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError):
        make_policy("sac", scenario, rng=np.random.default_rng(0), checkpoint=bogus)
