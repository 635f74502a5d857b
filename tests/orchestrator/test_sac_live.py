"""The trained SAC policy drives the live orchestrator end to end."""

from __future__ import annotations

import os
import subprocess
import sys
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
                                         time_scale=20_000, progress=False,
                                         # no emulated fading: a deep fade that cuts a user
                                         # loses its tasks (the reliability issue), and this
                                         # test is about the policy
                                         link=False))
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


def test_sac_without_torch_fails_in_one_line_naming_the_extra() -> None:
    # torch made unimportable in a child process (None in sys.modules), as in a light install
    code = ("import sys; sys.modules['torch'] = None; from testbed.cli import main; "
            "sys.exit(main(['orchestrator', '--policy', 'sac', '--broker', 'mqtt://127.0.0.1:1']))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False, env={**os.environ, "COLUMNS": "300"})
    out = run.stdout + run.stderr
    assert run.returncode == 2, out
    assert "policy 'sac' needs torch" in out and "[orchestrator]" in out
    assert "Traceback" not in out


def test_live_orchestrator_runs_the_network_on_one_thread() -> None:
    """Torch's intra-op threads spin against the event loop on a busy host (SAC's
    select: 1.2-4.7 ms with 2 threads, 0.34-0.43 ms with 1, on 2 busy cores)."""
    code = (
        "import numpy as np, torch; torch.set_num_threads(2)\n"
        "from aaas import BrokerURL, EmulatedClock, load_scenario\n"
        "from prometheus_client import CollectorRegistry\n"
        "from monitoring import OrchestratorMetrics\n"
        "from orchestrator import Orchestrator\n"
        "from orchestrator.policies import make_policy\n"
        "sc = load_scenario('paper')\n"
        "p = make_policy('sac', sc, rng=np.random.default_rng(0))\n"
        "before = torch.get_num_threads()\n"
        "Orchestrator(scenario=sc, policy=p, url=BrokerURL(), clock=EmulatedClock(scale=1.0),\n"
        "             metrics=OrchestratorMetrics(CollectorRegistry()))\n"
        "print(before, torch.get_num_threads())\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["2", "1"], run.stdout + run.stderr
