"""The vectorised simulator: B independent episodes stepped together in arrays.

Same semantics as :class:`~orchestrator.sim.AaasEnv` (a test checks that they
agree step for step): env j draws its episodes one after another from
``default_rng(seed + j)``, exactly as ``AaasEnv.reset(seed=seed + j)`` and the
resets after it do. The running tasks live in per-ASP slots of shape (B, M, S)
with S = max C_i // t_min, the most tasks an ASP can hold; a step is a fixed
number of array operations whatever B is (Python only loops over the envs
whose episode just ended, to draw their next one). The crash condition,
progress, penalty and reward are the vectorised forms of ``aaas.CrashRule``, the
quality comes from ``aaas.QualityCurve.table``: one model for both simulators and
the live edge node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aaas import ConfigError, Scenario

from ..policies.features import FeatureSpec
from .episode import Episode, draw_episode
from .repeats import BatchRepeats
from .stats import EpisodeStats, quality_table

__all__ = ["BatchSim", "BatchStep"]


@dataclass(frozen=True, kw_only=True)
class BatchStep:
    """What one batch step returns."""

    obs: np.ndarray
    """(B, D) next observations (the first task of a new episode where one ended)."""
    reward: np.ndarray
    """(B,) rewards of the actions just taken."""
    done: np.ndarray
    """(B,) whether the action placed the last task of its env's episode."""
    finished: list[tuple[int, EpisodeStats]]
    """(env, stats) of every episode that ended at this step."""


class BatchSim:
    """B episodes at once. With ``autoreset`` an ended env starts its next episode;
    without it the env stays frozen (rewards 0) until :meth:`reset`."""

    def __init__(self, scenario: Scenario, n_envs: int, *, seed: int, layout: str = "basic",
                 autoreset: bool = True) -> None:
        if n_envs < 1:
            raise ConfigError(f"n_envs must be >= 1, got {n_envs}")
        self.scenario = scenario
        self.n_envs = n_envs
        self.autoreset = autoreset
        self.features = FeatureSpec.for_scenario(scenario, layout)
        self.capacity = scenario.capacities.copy()
        m = len(scenario.asps)
        self.n_asps = m
        self.slots = int(self.capacity.max() // max(scenario.workload.steps_min, 1))
        self._q = quality_table(scenario)
        self._rule = scenario.crash
        self.env_seeds = seed + np.arange(n_envs)
        self._rows = np.arange(n_envs)
        # users who ask again ([workload.repeats]; off by default: none of it runs)
        self._repeats = BatchRepeats(self) if scenario.workload.repeats.enabled else None
        self.reset()

    def reset(self) -> np.ndarray:
        """Reseed every env and start its first episode; returns the observations."""
        b, m, s = self.n_envs, self.n_asps, self.slots
        self._rngs = [np.random.default_rng(int(x)) for x in self.env_seeds]
        self.free = np.tile(self.capacity, (b, 1))
        self.end = np.full((b, m, s), np.inf)
        self.start = np.zeros((b, m, s))
        self.held = np.zeros((b, m, s), dtype=np.int64)
        self.qual = np.zeros((b, m, s))
        self.active = np.ones(b, dtype=bool)
        self.idx = np.zeros(b, dtype=np.int64)
        self.length = np.zeros(b, dtype=np.int64)
        self._cols = 0
        self._arrival = np.zeros((b, 0))
        self._steps = np.zeros((b, 0), dtype=np.int64)
        self._runtime = np.zeros((b, 0))
        self._acc = np.zeros((b, 7))  # ret, tasks, admitted, crashes, lost, adm_q, lost_q
        if self._repeats is not None:
            self._repeats.reset()
        for j in range(b):
            self._new_episode(j)
        return self._obs()

    def set_episode(self, j: int, episode: Episode) -> np.ndarray:
        """Restart env j on a given episode (tests, replays); returns all observations."""
        if not 0 <= j < self.n_envs:
            raise ConfigError(f"env {j} is not in 0..{self.n_envs - 1}")
        self._new_episode(j, episode)
        self.active[j] = True
        return self._obs()

    def _new_episode(self, j: int, episode: Episode | None = None) -> None:
        ep = episode if episode is not None else draw_episode(self.scenario, self._rngs[j])
        n = len(ep)
        if n > self._cols:
            self._grow(n)
        if self._repeats is not None:
            self._arrival[j] = np.inf  # a row that repeats lengthened may be longer than n
            self._repeats.new_episode(j, ep)
        self._arrival[j, :n] = ep.arrival_s
        self._steps[j, :n] = ep.steps
        self._runtime[j, :n] = ep.runtime_s
        self.length[j] = n
        self.idx[j] = 0
        self.free[j] = self.capacity
        self.end[j] = np.inf
        self._acc[j] = 0.0

    def _grow(self, n: int) -> None:
        """Room for n tasks per env in the arrival arrays."""
        grow = max(n, int(self._cols * 1.25) + 1) - self._cols
        self._arrival = np.pad(self._arrival, ((0, 0), (0, grow)), constant_values=np.inf)
        self._steps = np.pad(self._steps, ((0, 0), (0, grow)), constant_values=1)
        self._runtime = np.pad(self._runtime, ((0, 0), (0, grow)), constant_values=1.0)
        self._cols += grow

    def _obs(self) -> np.ndarray:
        k = np.minimum(self.idx, self.length - 1)
        return self.features.build(self.capacity, self.free, self._steps[self._rows, k],
                                   self._runtime[self._rows, k])

    def current_steps(self) -> np.ndarray:
        """t of the task each env is placing now."""
        return self._steps[self._rows, np.minimum(self.idx, self.length - 1)]

    def step(self, actions_B: np.ndarray) -> BatchStep:
        a = np.asarray(actions_B, dtype=np.int64)
        if a.shape != (self.n_envs,) or a.min() < 0 or a.max() >= self.n_asps:
            raise ConfigError(f"actions must be {self.n_envs} ASP indices in 0..{self.n_asps - 1}")
        rows, act = self._rows, self.active
        k = np.minimum(self.idx, self.length - 1)
        now, t = self._arrival[rows, k], self._steps[rows, k]
        crash = self._rule.crashes(self.free[rows, a], t) & act
        admit = ~crash & act
        penalty, quality = np.zeros(self.n_envs), np.zeros(self.n_envs)
        if crash.any():
            if self._repeats is not None:
                self._repeats.crashed(np.flatnonzero(crash), a[crash])
            penalty[crash] = self._do_crash(np.flatnonzero(crash), a[crash], now[crash])
        if admit.any():
            quality[admit] = self._admit(np.flatnonzero(admit), a[admit], now[admit], t[admit],
                                         self._runtime[rows, k][admit])
        reward = self._rule.reward(quality, penalty)  # 0 for the frozen envs
        acc = self._acc
        acc[:, 0] += reward
        acc[:, 1] += act
        acc[:, 2] += admit
        acc[:, 3] += crash
        self.idx += act
        done = act & (self.idx >= self.length)
        finished = [(int(j), self._stats(int(j))) for j in np.flatnonzero(done)]
        if finished:
            if self.autoreset:
                for j, _ in finished:
                    self._new_episode(j)
            else:
                self.active &= ~done
        nxt = np.minimum(self.idx, self.length - 1)
        self._release(self._arrival[rows, nxt])
        return BatchStep(obs=self._obs(), reward=reward, done=done, finished=finished)

    def _do_crash(self, r: np.ndarray, a: np.ndarray, now: np.ndarray) -> np.ndarray:
        end, start = self.end[r, a], self.start[r, a]  # (C, S)
        live = np.isfinite(end)
        progress = self._rule.progress_many(now[:, None], start, np.where(live, end - start, 1.0))
        penalty = self._rule.penalty_many(progress, live)
        self._acc[r, 4] += live.sum(axis=1)
        self._acc[r, 6] += np.where(live, self.qual[r, a], 0.0).sum(axis=1)
        self.end[r, a] = np.inf
        self.free[r, a] = self.capacity[a]
        return penalty

    def _admit(self, r: np.ndarray, a: np.ndarray, now: np.ndarray, t: np.ndarray,
               runtime: np.ndarray) -> np.ndarray:
        s = np.argmax(self.end[r, a] == np.inf, axis=1)
        q: np.ndarray = self._q[a, t]
        self.end[r, a, s] = now + runtime
        self.start[r, a, s] = now
        self.held[r, a, s] = t
        self.qual[r, a, s] = q
        self.free[r, a] -= t
        self._acc[r, 5] += q
        if self._repeats is not None:
            self._repeats.admitted(r, a, s, q)
        return q

    def _release(self, now_B: np.ndarray) -> None:
        m, s = self.n_asps, self.slots
        flat = np.flatnonzero(self.end.reshape(self.n_envs, m * s) <= now_B[:, None])
        if flat.size:
            np.add.at(self.free.reshape(-1), flat // s, self.held.reshape(-1)[flat])
            self.end.reshape(-1)[flat] = np.inf

    def _stats(self, j: int) -> EpisodeStats:
        r, n, adm, cr, lost, aq, lq = self._acc[j]
        stats = EpisodeStats(ret=float(r), tasks=int(n), admitted=int(adm), crashes=int(cr),
                             lost=int(lost), admitted_utility=float(aq), lost_utility=float(lq))
        if self._repeats is not None:
            stats.repeats, stats.repeat_steps = (int(v) for v in self._repeats.acc[j])
        return stats
