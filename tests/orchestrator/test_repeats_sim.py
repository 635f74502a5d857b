"""Users who ask again, in the simulator (``[workload.repeats]``), on hand-built episodes.

Two ASPs (C = 200 each), q0(t) = t/200, q1(t) = t/400, runtime(t) = t s; every user's
threshold is 0.6, k = 2 repeats.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from orch_scenarios import tiny_scenario_file

from aaas import Scenario, parse_scenario
from aaas.repeats import asks_again, user_thresholds
from orchestrator.sim import AaasEnv, BatchSim, Episode, draw_episode
from testbed.cli import main


def scenario(max_repeats: int = 2) -> Scenario:
    data: dict[str, Any] = {
        "name": "repeats-hand", "seed": 0,
        "asps": {"count": 2, "override": [
            {"index": 0, "capacity": 200, "ax": 0, "ay": 0, "bx": 200, "by": 1.0},
            {"index": 1, "capacity": 200, "ax": 0, "ay": 0, "bx": 200, "by": 0.5},
        ]},
        "workload": {"users": 3, "repeats": {"max_repeats": max_repeats,
                                             "threshold": {"min": 0.6, "max": 0.6}}},
        "runtime": {"a": 0.0, "b": 1.0, "c": 0.0, "unit_s": 1.0},
    }
    return parse_scenario(data)


def episode(sc: Scenario, tasks: list[tuple[float, int]]) -> Episode:
    steps = np.array([t for _, t in tasks], dtype=np.int64)
    return Episode(arrival_s=np.array([a for a, _ in tasks]), steps=steps,
                   runtime_s=sc.runtime.many(steps), user=np.zeros(len(tasks), dtype=np.int64))


def play(sc: Scenario, ep: Episode, actions: list[int]) -> tuple[AaasEnv, list[float]]:
    env = AaasEnv(sc)
    env.reset(options={"episode": ep})
    seen = []
    done = False
    for a in actions:
        assert not done
        seen.append(env.stream.current().time_s)
        _, _, done, _, _ = env.step(a)
    assert done
    return env, seen


def test_low_quality_asks_again_when_the_result_is_back_up_to_k_times() -> None:
    sc = scenario()
    assert user_thresholds(sc).tolist() == [0.6, 0.6, 0.6]
    # t=100 on ASP 1 (0.25 < 0.6) -> again at 100; on ASP 0 (0.5) -> again at 200; k reached
    env, times = play(sc, episode(sc, [(0.0, 100)]), [1, 0, 0])
    assert times == [0.0, 100.0, 200.0]
    assert env.stats.tasks == 3 and env.stats.repeats == 2 and env.stats.repeat_steps == 200
    assert env.stats.ret == pytest.approx(0.25 + 0.5 + 0.5)


def test_crashed_and_rejected_tasks_ask_again_at_the_crash() -> None:
    sc = scenario()
    # A (200) on ASP 0 at 0: 1.0, no repeat. B (200) at 10 on ASP 0: crash; A lost and B
    # rejected both ask again at 10. A' -> ASP 0 (1.0); B' -> ASP 1 (0.5 < 0.6) -> again
    # at 210, when A' has ended: B'' -> ASP 0 (1.0).
    env, times = play(sc, episode(sc, [(0.0, 200), (10.0, 200)]), [0, 0, 0, 1, 0])
    assert times == [0.0, 10.0, 10.0, 10.0, 210.0]
    assert env.stats.crashes == 1 and env.stats.repeats == 3
    assert env.stats.tasks == 5


def test_a_low_quality_repeat_moves_to_the_crash_that_kills_its_task() -> None:
    sc = scenario(max_repeats=1)
    # A (100) on ASP 1 at 0: 0.25, a repeat scheduled at 100. B (200) at 10 on ASP 1:
    # crash kills A: its repeat comes at 10 instead (once); B rejected asks again at 10.
    env, times = play(sc, episode(sc, [(0.0, 100), (10.0, 200)]), [1, 1, 0, 1])
    assert times == [0.0, 10.0, 10.0, 10.0]
    assert env.stats.repeats == 2


def test_without_repeats_episodes_are_drawn_as_before() -> None:
    on, off = scenario(), scenario(max_repeats=0)
    a, b = (draw_episode(s, np.random.default_rng(3)) for s in (on, off))
    assert b.user is None and a.user is not None
    assert np.array_equal(a.arrival_s, b.arrival_s) and np.array_equal(a.steps, b.steps)


def test_the_rule() -> None:
    rule = scenario().workload.repeats
    assert asks_again(rule, 0.5, 0.6, 0) and asks_again(rule, None, 0.6, 1)
    assert not asks_again(rule, 0.7, 0.6, 0) and not asks_again(rule, 0.1, 0.6, 2)


def test_evaluate_reports_repeats_per_policy(tmp_path: Path) -> None:
    path = tiny_scenario_file(tmp_path, horizon=60_000)
    path.write_text(path.read_text() + "[workload.repeats]\nmax_repeats = 2\n")
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--scenario", str(path), "--episodes", "2", "--policies",
                 "least_loaded,upper_bound", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["least_loaded"]["repeats"] > 0 and data["upper_bound"]["repeat_steps"] > 0
    assert "bound" not in data["_meta"]  # the stream depends on the policy: no one bound


@pytest.mark.parametrize("delay_s", [0.0, 500.0])
def test_batch_and_single_agree_with_repeats(delay_s: float) -> None:
    """BatchSim models the same repeats as AaasEnv, step for step (so policies can be
    trained for them): rewards, observations, free capacity and episode counters."""
    import tomllib

    from aaas.config import scenario_dir

    data = tomllib.loads((scenario_dir() / "paper-repeats.toml").read_text())
    data["workload"]["horizon_s"] = 200_000.0  # ~200 first requests: short episodes
    data["workload"]["repeats"]["delay_s"] = delay_s
    sc = parse_scenario(data, source="paper-repeats.toml")
    n_envs = 3
    sim = BatchSim(sc, n_envs, seed=42)
    envs = [AaasEnv(sc) for _ in range(n_envs)]
    obs = np.stack([e.reset(seed=int(s))[0] for e, s in zip(envs, sim.env_seeds, strict=True)])
    np.testing.assert_allclose(sim.reset(), obs)
    rng = np.random.default_rng(0)
    episodes, repeats = 0, 0
    for step in range(1500):
        free = np.stack([e.free for e in envs])
        actions = np.where(rng.random(n_envs) < 0.7, free.argmax(1),
                           rng.integers(0, sim.n_asps, n_envs))
        res = sim.step(actions)
        ended = dict(res.finished)
        for j, env in enumerate(envs):
            o, r, done, _, info = env.step(int(actions[j]))
            assert r == pytest.approx(res.reward[j], abs=1e-9), (step, j)
            assert done == bool(res.done[j]), (step, j)
            if done:
                episodes += 1
                single, batch = info["episode"], ended[j].summary()
                assert single == pytest.approx(batch)
                repeats += single["repeats"]
                o, _ = env.reset()
            np.testing.assert_allclose(o, res.obs[j], rtol=1e-6)
        np.testing.assert_array_equal(sim.free, np.stack([e.free for e in envs]))
    assert episodes >= n_envs and repeats > 0
