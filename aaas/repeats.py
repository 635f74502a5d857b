"""Users who ask again: each user's quality threshold, and the rule for a repeat.

One implementation for the simulator (``orchestrator.sim.AaasEnv``) and the live user
agent (``user_agent.repeats``): the thresholds are drawn once per user from the
scenario's seed, in user order, so both see the same users.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .config import Repeats, Scenario

__all__ = ["THRESHOLD_STREAM", "asks_again", "user_thresholds"]

THRESHOLD_STREAM = 0x5E9EA7
"""Second word of the thresholds' seed ``[scenario.seed, THRESHOLD_STREAM]``: a stream of
its own, so drawing thresholds changes no other draw."""


def user_thresholds(scenario: Scenario) -> npt.NDArray[np.float64]:
    """The quality threshold of every user (index = the user's number), shape (users,)."""
    spec = scenario.workload.repeats.threshold
    rng = np.random.default_rng([scenario.seed, THRESHOLD_STREAM])
    return np.array([spec.draw(rng) for _ in range(scenario.workload.users)], dtype=np.float64)


def asks_again(rule: Repeats, quality: float | None, threshold: float, repeats_so_far: int) -> bool:
    """Whether a user asks again after a result of *quality* (None: no content, a crash
    or a rejection), having asked again *repeats_so_far* times for this task."""
    if repeats_so_far >= rule.max_repeats:
        return False
    return quality is None or quality < threshold
