"""Versioned observation features: the shipped v1 checkpoints act exactly as before the
``quality`` feature set (v2) was added, and v2 is computed from the Observation alone."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from orch_scenarios import hand_scenario

from aaas import ConfigError, load_scenario
from orchestrator.policies import Observation, make_policy
from orchestrator.sim import AaasEnv, FeatureSpec

# The shipped sac checkpoints played episode 10000 to the end with the code before
# feature version 2 existed (commit 93217ad): number of actions, return, and the
# first 16 hex digits of sha256(bytes(actions)).
GOLDEN = {"agod": (1001, 569.1969702227591, "157a972395ad92f1"),
          "paper": (1001, 620.8502602528941, "99bab3db65044e21")}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_shipped_v1_checkpoint_gives_the_same_actions_as_before(name: str) -> None:
    pytest.importorskip("torch")
    scenario = load_scenario(name)
    policy = make_policy("sac", scenario, rng=np.random.default_rng(0))
    assert policy.features.version == 1 and policy.features.layout == "basic"  # type: ignore[attr-defined]
    env = AaasEnv(scenario)
    env.reset(seed=10_000)
    actions, done = [], False
    while not done:
        a = policy.select(env.observation())
        actions.append(a)
        _, _, done, _, _ = env.step(a)
    n, ret, digest = GOLDEN[name]
    assert len(actions) == n
    assert env.stats.ret == ret
    assert hashlib.sha256(bytes(actions)).hexdigest()[:16] == digest


def test_v1_specs_round_trip_without_new_fields_and_versions_are_checked() -> None:
    scenario = load_scenario("agod")
    basic = FeatureSpec.for_scenario(scenario)
    d = basic.to_dict()
    assert "curves" not in d and d["version"] == 1
    old = {k: v for k, v in d.items() if k != "version"}  # a checkpoint before versions
    assert FeatureSpec.from_dict(old) == basic
    quality = FeatureSpec.for_scenario(scenario, "quality")
    assert quality.version == 2 and quality.dim == 7 * 20 + 2
    assert FeatureSpec.from_dict(quality.to_dict()) == quality
    with pytest.raises(ConfigError, match="feature version 2, not 1"):
        FeatureSpec.from_dict({**quality.to_dict(), "version": 1})
    with pytest.raises(ConfigError, match="quality curve"):
        FeatureSpec.from_dict({**d, "layout": "quality", "version": 2})


def test_quality_features_by_hand() -> None:
    # hand scenario: q0(t) = t/200, q1(t) = min(t, 100)/200; C = (300, 200); runtime(t) = t
    scenario = hand_scenario()
    spec = FeatureSpec.for_scenario(scenario, "quality")
    x = spec.build(scenario.capacities, np.array([300, 50]), 150, 150.0)
    m = 2
    block = {k: x[k * m:(k + 1) * m] for k in range(7)}
    np.testing.assert_allclose(block[0], [1.0, 200 / 300], rtol=1e-6)          # C / max C
    np.testing.assert_allclose(block[1], [1.0, 50 / 300], rtol=1e-6)           # free / max C
    np.testing.assert_allclose(block[2], [150 / 300, -100 / 300], rtol=1e-6)  # (free - t) / max C
    np.testing.assert_allclose(block[3], [0.75, 0.5], rtol=1e-6)              # q_i(t)
    np.testing.assert_allclose(block[4], [0.0, -0.25], rtol=1e-6)             # - best with room
    np.testing.assert_allclose(block[5], [0.0, -0.25], rtol=1e-6)             # - best overall
    np.testing.assert_allclose(block[6], [1.0, 0.25], rtol=1e-6)              # free / C
    # the batch simulator and the live Observation path build the same numbers
    env = AaasEnv(scenario, layout="quality")
    obs_vec, _ = env.reset(seed=3)
    o: Observation = env.observation()
    np.testing.assert_array_equal(obs_vec, spec.build(o.capacity_M, o.free_M, o.steps,
                                                      o.runtime_s))
