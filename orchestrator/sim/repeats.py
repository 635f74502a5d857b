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

from aaas import Scenario
from aaas.repeats import asks_again, user_thresholds

from .episode import Episode

if TYPE_CHECKING:
    from .env import AaasEnv

__all__ = ["RepeatStream"]


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
