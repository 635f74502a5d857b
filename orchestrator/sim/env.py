"""The training simulator: one episode of the paper's model as a Gymnasium env.

Each step places one task: the observation describes the ASPs' free capacity
just before the task arrives (after the tasks that ended by then were
released) and the task; the action is the ASP index. Admission (free ≥ t)
earns q_i(t) and holds t of the ASP's capacity for runtime(t); otherwise the
ASP crashes, every task it runs is lost, the arriving task is rejected, and
the reward is −(base + Σ_lost w·(1 − progress)). The episode ends after its
last task. The episode's arrivals are an :class:`~orchestrator.sim.stream.ArrivalStream`,
which the env steps through.

The formulas are the scenario's models from :mod:`aaas` (``QualityCurve`` through
:func:`quality_table`, ``RuntimeModel`` through the episode, ``CrashRule`` for the
crash condition, progress, penalty and reward), the same ones the live edge node
and :class:`~orchestrator.sim.BatchSim` use.
"""

from __future__ import annotations

import heapq
from typing import Any

import gymnasium as gym
import numpy as np

from aaas import ConfigError, Scenario

from ..policies.base import Observation
from ..policies.features import FeatureSpec
from .episode import Episode, draw_episode
from .repeats import Repeats
from .stats import DomainStats, EpisodeStats, quality_table
from .stream import Arrival, ArrivalStream

__all__ = ["AaasEnv"]


class AaasEnv(gym.Env):
    """One ASP-selection episode; ``reset(seed=s)`` draws the episode from ``default_rng(s)``."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - gymnasium's convention

    def __init__(self, scenario: Scenario, *, layout: str = "basic") -> None:
        self.scenario = scenario
        self.features = FeatureSpec.for_scenario(scenario, layout)
        self.capacity = scenario.capacities.copy()
        self.n_asps = len(scenario.asps)
        self._q = quality_table(scenario)  # (D, M, t_max+1)
        self._special = np.array([[a.specialty == d for a in scenario.asps]
                                  for d in scenario.domains.names])  # (D, M)
        self._rule = scenario.crash
        self.action_space = gym.spaces.Discrete(self.n_asps)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (self.features.dim,), np.float32)
        self._rng: np.random.Generator | None = None
        self.episode: Episode | None = None
        self.stream: ArrivalStream | None = None
        """The episode's arrivals (read it; the env and the repeats write it)."""
        # users who ask again re-enter the stream (off by default: nothing changes then)
        self._repeats = Repeats(scenario) if scenario.workload.repeats.enabled else None

    # --- gymnasium API -----------------------------------------------------

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        episode = (options or {}).get("episode")
        if episode is None:
            if self._rng is None:
                raise ConfigError("the first reset needs a seed (or options={'episode': ...})")
            episode = draw_episode(self.scenario, self._rng)
        self.episode = episode
        self.free = self.capacity.copy()
        # per ASP: task index -> (start, end, q, domain) of the tasks it runs
        self._running: list[dict[int, tuple[float, float, float, int]]] = [
            {} for _ in range(self.n_asps)]
        self._ends: list[tuple[float, int, int, int]] = []  # (end, task, asp, steps)
        self.stats = EpisodeStats()
        self.by_domain = DomainStats.zeros(len(self.scenario.domains.names))
        self.stream = ArrivalStream(episode)
        if self._repeats is not None:
            self._repeats.new_episode(episode, self.stream)
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        stream = self.stream
        if stream is None or stream.done:
            raise ConfigError("step() after the episode ended; call reset()")
        a = int(action)
        if not 0 <= a < self.n_asps:
            raise ConfigError(f"action {a} is not an ASP index (0..{self.n_asps - 1})")
        i, now, t, runtime, d = stream.current()
        st = self.stats
        st.tasks += 1
        self.by_domain.arrived(d, matched=bool(self._special[d, a]))
        if self._rule.crashes(int(self.free[a]), t):
            lost = list(self._running[a])
            reward = self._rule.reward(0.0, self._crash(a, now))
            self.by_domain.rejected(d, reward)
            if self._repeats is not None:
                self._repeats.crashed(i, lost, now)
        else:
            q = float(self._q[d, a, t])
            self.by_domain.admitted(d, q)
            reward = self._rule.reward(q, 0.0)
            self.free[a] -= t
            end = now + runtime
            self._running[a][i] = (now, end, q, d)
            heapq.heappush(self._ends, (end, i, a, t))
            st.admitted += 1
            st.admitted_utility += q
            if self._repeats is not None:
                self._repeats.admitted(i, q, end)
        st.ret += reward
        if self._repeats is not None:
            st.repeats, st.repeat_steps = stream.repeats, stream.repeat_steps
        stream.advance()
        done = stream.done
        nxt = stream.current()
        if not done:
            self._release(nxt.time_s)
        info: dict[str, Any] = {"episode": st.summary()} if done else {}
        return self._features(nxt), reward, done, False, info

    # --- the model ---------------------------------------------------------

    def _crash(self, asp: int, now: float) -> float:
        lost = self._running[asp]
        run = np.array(list(lost.values()), dtype=np.float64).reshape(-1, 4)  # start, end, q, d
        progress = self._rule.progress_many(now, run[:, 0], run[:, 1] - run[:, 0])
        penalty = float(self._rule.penalty_many(progress))
        for q, d in run[:, 2:].tolist():
            self.stats.lost_utility += q
            self.by_domain.killed(int(d), q)
        self.stats.lost += len(lost)
        self.stats.crashes += 1
        self._running[asp] = {}
        self.free[asp] = self.capacity[asp]
        return penalty

    def _release(self, now: float) -> None:
        """Free the capacity of the tasks that ended by *now* (crashed ones are gone)."""
        ends = self._ends
        while ends and ends[0][0] <= now:
            _, task, asp, steps = heapq.heappop(ends)
            if self._running[asp].pop(task, None) is not None:
                self.free[asp] += steps

    def _obs(self) -> np.ndarray:
        return self._features(self._current())

    def _features(self, task: Arrival) -> np.ndarray:
        return self.features.build(self.capacity, self.free, task.steps, task.runtime_s,
                                   task.domain)

    def _current(self) -> Arrival:
        if self.stream is None:
            raise ConfigError("no episode yet; call reset()")
        return self.stream.current()

    # --- what a Policy sees ------------------------------------------------

    def observation(self) -> Observation:
        """The current task and ASP state as the live orchestrator would see it."""
        task = self._current()
        return Observation(capacity_M=self.capacity, free_M=self.free.copy(),
                           online_M=np.ones(self.n_asps, dtype=bool), steps=int(task.steps),
                           runtime_s=float(task.runtime_s), domain=int(task.domain))
