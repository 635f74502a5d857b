"""Content domains: each user's domain mix, and the domain of each of its tasks.

One implementation for the simulator (``orchestrator.sim.draw_episode``) and the live
users (``user_agent.poisson_arrivals``): the mixes are drawn once per user from the
scenario's seed, in user order, so both see the same users; a task's domain is drawn
from its user's mix with the episode's generator, after everything else it draws, and
only when the scenario has more than one domain (one-domain episodes stay as they were).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .config import Scenario

__all__ = ["MIX_STREAM", "task_domains", "user_mixes"]

MIX_STREAM = 0xD0A1
"""Second word of the mixes' seed ``[scenario.seed, MIX_STREAM]``: a stream of its own, so
drawing the mixes changes no other draw."""


def user_mixes(scenario: Scenario) -> npt.NDArray[np.float64]:
    """Every user's domain mix (row = the user's number, columns = the scenario's
    domains), each row summing to 1: a symmetric Dirichlet of concentration
    ``domains.user_mix``."""
    names = scenario.domains.names
    if len(names) == 1:
        return np.ones((scenario.workload.users, 1))
    rng = np.random.default_rng([scenario.seed, MIX_STREAM])
    mix: npt.NDArray[np.float64] = rng.dirichlet(
        np.full(len(names), scenario.domains.user_mix), size=scenario.workload.users)
    return mix


def task_domains(mixes: npt.NDArray[np.float64], users: npt.NDArray[np.int64],
                 rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """The domain (index) of tasks whose users are *users*, each from its user's mix."""
    cdf = np.cumsum(mixes[users], axis=1)
    u = rng.random(len(users))[:, None]
    out: npt.NDArray[np.int64] = np.minimum((cdf < u).sum(axis=1),
                                            mixes.shape[1] - 1).astype(np.int64)
    return out
