"""The vectorised simulator: B independent episodes stepped together in arrays.

Same semantics as :class:`~orchestrator.sim.AaasEnv` (a test checks that they
agree step for step): env j draws its episodes one after another from
``default_rng(seed + j)``, exactly as ``AaasEnv.reset(seed=seed + j)`` and the
resets after it do. The running tasks live in per-ASP slots of shape (B, M, S)
with S = max C_i // t_min, the most tasks an ASP can hold; a step is a fixed
number of array operations whatever B is (Python only loops over the envs
whose episode just ended, to draw their next one). The episodes' arrivals are a
:class:`~orchestrator.sim.stream.BatchStream`, which the sim steps through. The
crash condition, progress, penalty and reward are the vectorised forms of
``aaas.CrashRule``, the quality comes from ``aaas.QualityCurve.table``: one model
for both simulators and the live edge node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aaas import ConfigError, Scenario

from ..policies.features import FeatureSpec
from .episode import Episode, draw_episode
from .repeats import BatchRepeats
from .stats import EpisodeStats, quality_table
from .stream import BatchArrivals, BatchStream

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
        self.stream = BatchStream(n_envs)
        """The episodes' arrivals (read it; the sim and the repeats write it)."""
        # users who ask again ([workload.repeats]; off by default: none of it runs)
        self._repeats = (BatchRepeats(scenario, self.stream) if scenario.workload.repeats.enabled
                         else None)
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
        # with repeats: the arrival (its stream index) each slot runs: a crash's lost tasks
        self.task_idx = np.zeros((b, m, s), dtype=np.int64) if self._repeats is not None else None
        self.stream.reset()
        self._acc = np.zeros((b, 7))  # ret, tasks, admitted, crashes, lost, adm_q, lost_q
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
        self.stream.load(j, ep)
        if self._repeats is not None:
            self._repeats.new_episode(j, ep)
        self.free[j] = self.capacity
        self.end[j] = np.inf
        self._acc[j] = 0.0

    def _obs(self, task: BatchArrivals | None = None) -> np.ndarray:
        task = self.stream.current() if task is None else task
        return self.features.build(self.capacity, self.free, task.steps, task.runtime_s,
                                   task.domain)

    def current_steps(self) -> np.ndarray:
        """t of the task each env is placing now."""
        return self.stream.current().steps

    def step(self, actions_B: np.ndarray) -> BatchStep:
        a = np.asarray(actions_B, dtype=np.int64)
        if a.shape != (self.n_envs,) or a.min() < 0 or a.max() >= self.n_asps:
            raise ConfigError(f"actions must be {self.n_envs} ASP indices in 0..{self.n_asps - 1}")
        rows, act = self._rows, self.active
        task = self.stream.current()
        now, t = task.time_s, task.steps
        crash = self._rule.crashes(self.free[rows, a], t) & act
        admit = ~crash & act
        penalty, quality = np.zeros(self.n_envs), np.zeros(self.n_envs)
        if crash.any():
            if self._repeats is not None:
                self._repeat_crashes(np.flatnonzero(crash), a[crash], now[crash])
            penalty[crash] = self._do_crash(np.flatnonzero(crash), a[crash], now[crash])
        if admit.any():
            quality[admit] = self._admit(np.flatnonzero(admit), a[admit], now[admit], t[admit],
                                         task.runtime_s[admit], task.domain[admit])
        reward = self._rule.reward(quality, penalty)  # 0 for the frozen envs
        acc = self._acc
        acc[:, 0] += reward
        acc[:, 1] += act
        acc[:, 2] += admit
        acc[:, 3] += crash
        done = self.stream.advance(act)
        finished = [(int(j), self._stats(int(j))) for j in np.flatnonzero(done)]
        if finished:
            if self.autoreset:
                for j, _ in finished:
                    self._new_episode(j)
            else:
                self.active &= ~done
        nxt = self.stream.current()
        self._release(nxt.time_s)
        return BatchStep(obs=self._obs(nxt), reward=reward, done=done, finished=finished)

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
               runtime: np.ndarray, d: np.ndarray) -> np.ndarray:
        s = np.argmax(self.end[r, a] == np.inf, axis=1)
        q: np.ndarray = self._q[d, a, t]
        self.end[r, a, s] = now + runtime
        self.start[r, a, s] = now
        self.held[r, a, s] = t
        self.qual[r, a, s] = q
        self.free[r, a] -= t
        self._acc[r, 5] += q
        if self._repeats is not None:
            assert self.task_idx is not None
            k = self.stream.index()[r]
            self.task_idx[r, a, s] = k
            self._repeats.admitted(r, k, q, self.end[r, a, s])
        return q

    def _repeat_crashes(self, r: np.ndarray, a: np.ndarray, now: np.ndarray) -> None:
        """Tell the repeats of the crashes about to clear ASP a[x] of env r[x]: the arrival
        rejected and the ones lost (in admission order: the stream's order)."""
        assert self._repeats is not None and self.task_idx is not None
        k = self.stream.index()
        for j, asp, at in zip(r.tolist(), a.tolist(), now.tolist(), strict=True):
            lost = np.sort(self.task_idx[j, asp, np.isfinite(self.end[j, asp])]).tolist()
            self._repeats.crashed(j, int(k[j]), lost, at)

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
            stats.repeats, stats.repeat_steps = self.stream.repeats(j)
        return stats
