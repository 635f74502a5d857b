"""Users who ask again, in the simulators: repeats re-enter the arrival stream.

With ``[workload.repeats] max_repeats = k > 0`` every task has a user (drawn with the
episode), each user a quality threshold (:func:`aaas.repeats.user_thresholds`, the same
the live user agents use). When a task is admitted with q below its user's threshold,
the same task (same t) arrives again when the result is back (its end, + ``delay_s``);
when it is rejected by a crash, at once (+ ``delay_s``); when a crash kills it, at the
crash (+ ``delay_s``; a repeat it had scheduled for its low quality moves there). A task
is repeated at most k times. Repeats are inserted into the episode's arrival stream
(:mod:`.stream`) after the task being placed, in time order, so the simulator's stepping
is unchanged; with k = 0 (the default) none of this runs and the simulators are
bit-for-bit the paper's.

The simulator tells :class:`Repeats` (:class:`~orchestrator.sim.AaasEnv`) or
:class:`BatchRepeats` (:class:`~orchestrator.sim.BatchSim`) what happened to which
arrival (admitted with q until its end; rejected by a crash, with the arrivals the
crash killed, in the order they were admitted); they read the users from the stream and
write only to it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aaas import Scenario
from aaas.repeats import asks_again, user_thresholds

from .episode import Episode
from .stream import ArrivalStream, BatchStream

__all__ = ["BatchRepeats", "Repeats"]


def _check_users(episode: Episode) -> None:
    if episode.user is None:
        raise ValueError("an episode with repeats needs its tasks' users")


class Repeats:
    """The repeats of :class:`~orchestrator.sim.AaasEnv`'s episodes, one at a time."""

    def __init__(self, scenario: Scenario) -> None:
        self.rule = scenario.workload.repeats
        self.threshold: list[float] = user_thresholds(scenario).tolist()
        self._stream: ArrivalStream | None = None
        self._pending: dict[int, int] = {}
        """arrival index -> id of the repeat its low quality scheduled."""

    def new_episode(self, episode: Episode, stream: ArrivalStream) -> None:
        """Repeats from now on go into *stream*, *episode*'s."""
        _check_users(episode)
        self._stream = stream
        self._pending = {}

    def admitted(self, i: int, q: float, end: float) -> None:
        """Arrival *i* was admitted with quality *q*; its result is back at *end*."""
        s = self._episode_stream()
        if asks_again(self.rule, q, self.threshold[s.user(i)], s.asked(i)):
            self._pending[i] = s.insert_repeat(i, end + self.rule.delay_s)

    def crashed(self, i: int, lost: list[int], now: float) -> None:
        """Arrival *i* was rejected by a crash at *now* that killed *lost* (in admission order)."""
        s = self._episode_stream()
        at = now + self.rule.delay_s
        for j in lost:
            rid = self._pending.pop(j, None)
            if rid is not None:  # its repeat comes now, not when it would have ended
                s.move(rid, at)
            elif asks_again(self.rule, None, self.threshold[s.user(j)], s.asked(j)):
                s.insert_repeat(j, at)
        if asks_again(self.rule, None, self.threshold[s.user(i)], s.asked(i)):
            s.insert_repeat(i, at)

    def _episode_stream(self) -> ArrivalStream:
        if self._stream is None:
            raise RuntimeError("no episode: call new_episode() first")
        return self._stream


class BatchRepeats:
    """The same repeats in :class:`~orchestrator.sim.BatchSim`, env by env.

    Admissions are checked for all envs at once; insertions are per env (Python), so a
    batch with repeats is slower than one without; without repeats none of this exists.
    """

    def __init__(self, scenario: Scenario, stream: BatchStream) -> None:
        self.rule = scenario.workload.repeats
        self.threshold = user_thresholds(scenario)
        self._stream = stream
        self._pending: list[dict[int, int]] = [{} for _ in range(stream.n_envs)]
        """per env: arrival index -> id of the repeat its low quality scheduled."""

    def new_episode(self, j: int, episode: Episode) -> None:
        """Env *j* starts *episode* (its stream row already holds it)."""
        _check_users(episode)
        self._pending[j] = {}

    def admitted(self, r: npt.NDArray[np.int64], i: npt.NDArray[np.int64],
                 q: npt.NDArray[np.float64], end: npt.NDArray[np.float64]) -> None:
        """Arrival i[x] of env r[x] was admitted with quality q[x]; its result is back at
        end[x]."""
        s = self._stream
        user, asked = s.users(r, i), s.asked(r, i)
        again = (asked < self.rule.max_repeats) & (q < self.threshold[user])
        for x in np.flatnonzero(again).tolist():
            j, k = int(r[x]), int(i[x])
            self._pending[j][k] = s.insert_repeat(j, k, float(end[x]) + self.rule.delay_s)

    def crashed(self, j: int, i: int, lost: list[int], now: float) -> None:
        """In env *j*, arrival *i* was rejected by a crash at *now* that killed *lost* (in
        admission order)."""
        s, pending = self._stream, self._pending[j]
        at = now + self.rule.delay_s
        arrivals = np.array([*lost, i], dtype=np.int64)
        env = np.full(arrivals.shape, j)
        users, asked = s.users(env, arrivals).tolist(), s.asked(env, arrivals).tolist()
        again = [asks_again(self.rule, None, float(self.threshold[u]), a)
                 for u, a in zip(users, asked, strict=True)]
        for k, ask in zip(lost, again, strict=False):
            rid = pending.pop(k, None)
            if rid is not None:  # its repeat comes now, not when it would have ended
                s.move(j, rid, at)
            elif ask:
                s.insert_repeat(j, k, at)
        if again[-1]:
            s.insert_repeat(j, i, at)
