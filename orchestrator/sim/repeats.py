"""Users who ask again, in the single-episode simulator: repeats re-enter the task stream.

With ``[workload.repeats] max_repeats = k > 0`` every task has a user (drawn with the
episode), each user a quality threshold (:func:`aaas.repeats.user_thresholds`, the same
the live user agents use). When a task is admitted with q below its user's threshold,
the same task (same t) arrives again when the result is back (its end, + ``delay_s``);
when it is rejected by a crash, at once (+ ``delay_s``); when a crash kills it, at the
crash (+ ``delay_s``; a repeat it had scheduled for its low quality moves there). A task
is repeated at most k times. Repeats are inserted into :class:`AaasEnv`'s arrival lists
after the task being placed, in time order, so the env's stepping is unchanged; with
k = 0 (the default) none of this runs and the env is bit-for-bit the paper's.
"""

from __future__ import annotations

import bisect
from itertools import count
from typing import TYPE_CHECKING

import numpy as np

from aaas import Scenario
from aaas.repeats import asks_again, user_thresholds

from .episode import Episode

if TYPE_CHECKING:
    from .batch import BatchSim
    from .env import AaasEnv

__all__ = ["BatchRepeats", "RepeatStream"]


class RepeatStream:
    """The repeat bookkeeping of one episode (lists aligned with the env's arrival lists)."""

    def __init__(self, scenario: Scenario, episode: Episode) -> None:
        if episode.user is None:
            raise ValueError("an episode with repeats needs its tasks' users")
        self.rule = scenario.workload.repeats
        self.threshold = user_thresholds(scenario).tolist()
        self.user: list[int] = episode.user.tolist()
        self.times_asked: list[int] = [0] * len(self.user)
        self.token: list[int] = [-1] * len(self.user)
        self._tokens = count()
        self._pending: dict[int, int] = {}
        """task index -> token of the repeat its low quality scheduled."""

    def admitted(self, env: AaasEnv, i: int, q: float, end: float) -> None:
        if asks_again(self.rule, q, self.threshold[self.user[i]], self.times_asked[i]):
            self._pending[i] = self._insert(env, i, end + self.rule.delay_s)

    def crashed(self, env: AaasEnv, i: int, lost: list[int], now: float) -> None:
        at = now + self.rule.delay_s
        for j in lost:
            token = self._pending.pop(j, None)
            if token is not None:  # its repeat comes now, not when it would have ended
                self._move(env, token, at)
            elif asks_again(self.rule, None, self.threshold[self.user[j]], self.times_asked[j]):
                self._insert(env, j, at)
        if asks_again(self.rule, None, self.threshold[self.user[i]], self.times_asked[i]):
            self._insert(env, i, at)

    def _insert(self, env: AaasEnv, parent: int, at: float) -> int:
        """A new repeat of task *parent* arriving at *at*; returns its token."""
        env.stats.repeats += 1
        env.stats.repeat_steps += env._steps[parent]
        token = next(self._tokens)
        self._put(env, at, (env._steps[parent], env._runtimes[parent], self.user[parent],
                            self.times_asked[parent] + 1, token))
        return token

    def _move(self, env: AaasEnv, token: int, at: float) -> None:
        """Move the scheduled repeat *token* to arrive at *at* instead."""
        pos = self.token.index(token, env._i + 1)
        row = (env._steps[pos], env._runtimes[pos], self.user[pos], self.times_asked[pos],
               token)
        for seq in (env._times, env._steps, env._runtimes, self.user, self.times_asked,
                    self.token):
            del seq[pos]
        self._put(env, at, row)

    def _put(self, env: AaasEnv, at: float, row: tuple[int, float, int, int, int]) -> None:
        # after the task being placed, after every arrival at the same time
        pos = bisect.bisect_right(env._times, at, lo=env._i + 1)
        env._times.insert(pos, at)
        env._steps.insert(pos, row[0])
        env._runtimes.insert(pos, row[1])
        self.user.insert(pos, row[2])
        self.times_asked.insert(pos, row[3])
        self.token.insert(pos, row[4])


class BatchRepeats:
    """The same repeats in :class:`~orchestrator.sim.BatchSim`, env by env.

    Per column of the arrival arrays: the task's user, how often it was asked again, and
    the token of a scheduled repeat; per running-task slot: the same, its runtime and its
    admission order (a crash handles its lost tasks in that order, as ``AaasEnv`` does).
    Insertions are per env (Python), so a batch with repeats is slower than one without;
    without repeats none of this exists.
    """

    def __init__(self, sim: BatchSim) -> None:
        self.sim = sim
        self.rule = sim.scenario.workload.repeats
        self.threshold = user_thresholds(sim.scenario)
        self._tokens = count()
        self._seq = count()

    def reset(self) -> None:
        sim = self.sim
        b, shape = sim.n_envs, (sim.n_envs, sim.n_asps, sim.slots)
        self.user = np.zeros((b, 0), dtype=np.int64)
        self.asked = np.zeros((b, 0), dtype=np.int64)
        self.token = np.zeros((b, 0), dtype=np.int64)
        self.s_user = np.zeros(shape, dtype=np.int64)
        self.s_asked = np.zeros(shape, dtype=np.int64)
        self.s_token = np.full(shape, -1, dtype=np.int64)
        self.s_runtime = np.zeros(shape)
        self.s_seq = np.zeros(shape, dtype=np.int64)
        self.acc = np.zeros((b, 2), dtype=np.int64)  # repeats, repeat_steps

    def _fit_columns(self) -> None:
        grow = self.sim._cols - self.user.shape[1]
        if grow > 0:
            pad = ((0, 0), (0, grow))
            self.user = np.pad(self.user, pad)
            self.asked = np.pad(self.asked, pad)
            self.token = np.pad(self.token, pad, constant_values=-1)

    def new_episode(self, j: int, episode: Episode) -> None:
        if episode.user is None:
            raise ValueError("an episode with repeats needs its tasks' users")
        self._fit_columns()
        n = len(episode)
        self.user[j, :n] = episode.user
        self.asked[j] = 0
        self.token[j] = -1
        self.s_token[j] = -1
        self.acc[j] = 0

    def admitted(self, r: np.ndarray, a: np.ndarray, s: np.ndarray, q: np.ndarray) -> None:
        sim = self.sim
        k = sim.idx[r]
        user, asked = self.user[r, k], self.asked[r, k]
        self.s_user[r, a, s], self.s_asked[r, a, s] = user, asked
        self.s_runtime[r, a, s] = sim._runtime[r, k]
        self.s_token[r, a, s] = -1
        self.s_seq[r, a, s] = [next(self._seq) for _ in range(len(r))]
        again = (asked < self.rule.max_repeats) & (q < self.threshold[user])
        for x in np.flatnonzero(again):
            j, i = int(r[x]), int(k[x])
            at = float(sim.end[j, a[x], s[x]]) + self.rule.delay_s
            self.s_token[j, a[x], s[x]] = self._insert(
                j, at, int(sim._steps[j, i]), float(sim._runtime[j, i]), int(user[x]),
                int(asked[x]) + 1, new=True)

    def crashed(self, r: np.ndarray, a: np.ndarray) -> None:
        """Before the crash clears ASP a[x] of env r[x]: its lost tasks and the rejected one."""
        sim = self.sim
        for j, asp in zip(r.tolist(), a.tolist(), strict=True):
            i = int(sim.idx[j])
            at = float(sim._arrival[j, i]) + self.rule.delay_s
            live = np.flatnonzero(np.isfinite(sim.end[j, asp]))
            for s in live[np.argsort(self.s_seq[j, asp, live], kind="stable")].tolist():
                token = int(self.s_token[j, asp, s])
                if token >= 0:
                    self._move(j, token, at)
                elif asks_again(self.rule, None, float(self.threshold[self.s_user[j, asp, s]]),
                                int(self.s_asked[j, asp, s])):
                    self._insert(j, at, int(sim.held[j, asp, s]), float(self.s_runtime[j, asp, s]),
                                 int(self.s_user[j, asp, s]), int(self.s_asked[j, asp, s]) + 1,
                                 new=True)
            user, asked = int(self.user[j, i]), int(self.asked[j, i])
            if asks_again(self.rule, None, float(self.threshold[user]), asked):
                self._insert(j, at, int(sim._steps[j, i]), float(sim._runtime[j, i]), user,
                             asked + 1, new=True)

    def _insert(self, j: int, at: float, steps: int, runtime: float, user: int, asked: int, *,
                new: bool, token: int | None = None) -> int:
        sim = self.sim
        lo, n = int(sim.idx[j]) + 1, int(sim.length[j])
        if n + 1 > sim._cols:
            sim._grow(n + 1)
            self._fit_columns()
        pos = lo + int(np.searchsorted(sim._arrival[j, lo:n], at, side="right"))
        tok = next(self._tokens) if token is None else token
        for arr, value in ((sim._arrival, at), (sim._steps, steps), (sim._runtime, runtime),
                           (self.user, user), (self.asked, asked), (self.token, tok)):
            arr[j, pos + 1:n + 1] = arr[j, pos:n]
            arr[j, pos] = value
        sim.length[j] = n + 1
        if new:
            self.acc[j, 0] += 1
            self.acc[j, 1] += steps
        return tok

    def _move(self, j: int, token: int, at: float) -> None:
        sim = self.sim
        lo, n = int(sim.idx[j]) + 1, int(sim.length[j])
        pos = lo + int(np.flatnonzero(self.token[j, lo:n] == token)[0])
        row = (int(sim._steps[j, pos]), float(sim._runtime[j, pos]), int(self.user[j, pos]),
               int(self.asked[j, pos]))
        for arr in (sim._arrival, sim._steps, sim._runtime, self.user, self.asked, self.token):
            arr[j, pos:n - 1] = arr[j, pos + 1:n]
        sim._arrival[j, n - 1] = np.inf
        sim.length[j] = n - 1
        self._insert(j, at, *row, new=False, token=token)
