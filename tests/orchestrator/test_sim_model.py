"""The simulator against a hand-computed sequence: admission, crash penalty, release."""

from __future__ import annotations

import numpy as np
import pytest
from orch_scenarios import hand_scenario

from aaas import ConfigError
from orchestrator.sim import AaasEnv, BatchSim, Episode

# (arrival s, steps, ASP chosen, expected reward). runtime(t) = t s, q0 = t/200, q1 = 0.5.
SEQUENCE = [
    (0.0, 100, 0, 0.5),     # A on ASP0: free 300 -> 200; ends at 100
    (10.0, 150, 0, 0.75),   # B on ASP0: free 200 -> 50; ends at 160
    # C on ASP0: 50 < 100 -> crash; A at 40/100, B at 30/150 progress:
    (40.0, 100, 0, -(2 + 2 * (1 - 0.4) + 2 * (1 - 0.2))),
    (50.0, 200, 1, 0.5),    # D on ASP1: free 200 == t -> admitted; ends at 250
    (260.0, 100, 1, 0.5),   # E on ASP1: D ended at 250 and freed its 200
    (270.0, 250, 1, -(2 + 2 * (1 - 0.1))),  # F on ASP1: 100 < 250 -> crash; E at 10/100
    (280.0, 250, 0, 1.0),   # G on ASP0: the crash of C freed ASP0 entirely
]


def _episode() -> Episode:
    steps = np.array([s for _, s, _, _ in SEQUENCE])
    return Episode(arrival_s=np.array([t for t, _, _, _ in SEQUENCE]), steps=steps,
                   runtime_s=steps.astype(float))


def _check_stats(st: dict[str, float]) -> None:
    assert st["tasks"] == 7
    assert st["admitted"] == 5
    assert st["crashes"] == 2
    assert st["lost"] == 3  # A, B, E
    assert st["finished"] == 2  # D, G
    assert st["crashed_tasks"] == 5
    assert st["admitted_utility"] == pytest.approx(0.5 + 0.75 + 0.5 + 0.5 + 1.0)
    assert st["lost_utility"] == pytest.approx(0.5 + 0.75 + 0.5)
    assert st["utility"] == pytest.approx(1.5)
    assert st["ret"] == pytest.approx(sum(r for *_, r in SEQUENCE))
    assert st["finished_rate"] + st["crashed_rate"] == pytest.approx(1.0)


def test_single_env_follows_the_hand_computed_sequence() -> None:
    env = AaasEnv(hand_scenario())
    env.reset(options={"episode": _episode()})
    frees = []
    for k, (_, steps, asp, expected) in enumerate(SEQUENCE):
        obs = env.observation()
        assert obs.steps == steps
        frees.append(obs.free_M.tolist())
        _, reward, done, truncated, info = env.step(asp)
        assert reward == pytest.approx(expected), f"task {k}"
        assert done == (k == len(SEQUENCE) - 1)
        assert not truncated
    assert frees == [[300, 200], [200, 200], [50, 200], [300, 200], [300, 200], [300, 100],
                     [300, 200]]
    _check_stats(info["episode"])


def test_batch_sim_follows_the_hand_computed_sequence() -> None:
    sim = BatchSim(hand_scenario(), 2, seed=0, autoreset=False)
    sim.set_episode(0, _episode())
    sim.set_episode(1, _episode())
    for _, _, asp, expected in SEQUENCE:
        res = sim.step(np.array([asp, asp]))
        assert res.reward == pytest.approx([expected, expected])
    assert res.done.all()
    assert not sim.active.any()
    for _, stats in res.finished:
        _check_stats(stats.summary())
    frozen = sim.step(np.array([0, 0]))  # ended envs stay frozen
    assert frozen.reward.tolist() == [0.0, 0.0]
    assert frozen.finished == []


def test_observation_is_normalised_and_has_the_documented_layout() -> None:
    env = AaasEnv(hand_scenario())
    obs, _ = env.reset(options={"episode": _episode()})
    assert obs.shape == (2 * 2 + 2,)
    assert obs.tolist() == pytest.approx([1.0, 200 / 300, 1.0, 200 / 300, 100 / 250, 100 / 250])
    slack = AaasEnv(hand_scenario(), layout="slack")
    obs, _ = slack.reset(options={"episode": _episode()})
    assert obs.shape == (3 * 2 + 2,)
    assert obs[4:6].tolist() == pytest.approx([200 / 300, 100 / 300])


def test_bad_actions_and_layouts_are_rejected() -> None:
    env = AaasEnv(hand_scenario())
    with pytest.raises(ConfigError):
        env.reset()  # no seed, no episode
    env.reset(options={"episode": _episode()})
    with pytest.raises(ConfigError):
        env.step(2)
    with pytest.raises(ConfigError):
        AaasEnv(hand_scenario(), layout="pixels")
    sim = BatchSim(hand_scenario(), 2, seed=0)
    with pytest.raises(ConfigError):
        sim.step(np.array([0, 5]))
