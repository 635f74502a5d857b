"""The arrival stream of an episode: the one owner of its arrivals.

An episode's tasks arrive in time order; a simulator places them one after another.
:class:`ArrivalStream` (one episode, for :class:`~orchestrator.sim.AaasEnv`) and
:class:`BatchStream` (one episode per env, for :class:`~orchestrator.sim.BatchSim`)
hold every arrival (time, t, runtime(t), content domain, user, how often its user asked
for it before) and which one is being placed. Nothing else writes them: the simulator
reads the arrival being placed and moves past it (:meth:`~ArrivalStream.advance`);
users who ask again (:mod:`.repeats`) insert a repeat of an arrival, or move one they
inserted, through :meth:`~ArrivalStream.insert_repeat` and :meth:`~ArrivalStream.move`.

Arrivals are numbered by position: the first requests 0 … n−1 as drawn, and a repeat
takes the position it is inserted at. Repeats are inserted after the arrival being
placed, so the numbers of the arrivals placed so far never change (a simulator keys its
running tasks by them). An arrival not placed yet may change position (a repeat is
inserted before it, or it is moved); its id stays (first requests: their position as
drawn; repeats: n, n+1, … in insertion order).
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .episode import Episode

__all__ = ["Arrival", "ArrivalStream", "BatchArrivals", "BatchStream"]


class Arrival(NamedTuple):
    """One arrival of an :class:`ArrivalStream`."""

    i: int
    """Its number: its position in the stream."""
    time_s: float
    """Arrival time, emulated seconds."""
    steps: int
    """t."""
    runtime_s: float
    """runtime(t), emulated seconds."""
    domain: int
    """Its content domain (index into the scenario's domains)."""


class BatchArrivals(NamedTuple):
    """The arrival being placed in every env of a :class:`BatchStream`, shape (B,) each."""

    time_s: npt.NDArray[np.float64]
    steps: npt.NDArray[np.int64]
    runtime_s: npt.NDArray[np.float64]
    domain: npt.NDArray[np.int64]


class ArrivalStream:
    """The arrivals of one episode, in time order, and the one being placed."""

    def __init__(self, episode: Episode) -> None:
        n = len(episode)
        self._time: list[float] = episode.arrival_s.tolist()
        self._steps: list[int] = episode.steps.tolist()
        self._runtime: list[float] = episode.runtime_s.tolist()
        self._domain: list[int] = episode.domains().tolist()
        self._user: list[int] | None = None if episode.user is None else episode.user.tolist()
        self._asked = [0] * n
        self._id = list(range(n))
        self._next_id = n
        self._i = 0
        self._repeats = 0
        self._repeat_steps = 0

    def __len__(self) -> int:
        return len(self._time)

    @property
    def repeats(self) -> int:
        """Repeats inserted so far."""
        return self._repeats

    @property
    def repeat_steps(self) -> int:
        """Diffusion steps they ask for."""
        return self._repeat_steps

    @property
    def done(self) -> bool:
        """Whether every arrival has been placed."""
        return self._i >= len(self._time)

    def current(self) -> Arrival:
        """The arrival being placed (the last one once every arrival was placed)."""
        k = self._i
        if k >= len(self._time):
            k = len(self._time) - 1
        return Arrival._make((k, self._time[k], self._steps[k], self._runtime[k],
                              self._domain[k]))

    def advance(self) -> None:
        """The arrival being placed is placed: the next one is."""
        self._i += 1

    def user(self, i: int) -> int:
        """The user of arrival *i* (an episode drawn with its users: repeats)."""
        if self._user is None:
            raise ValueError("this episode was drawn without its tasks' users")
        return self._user[i]

    def asked(self, i: int) -> int:
        """How often arrival *i*'s user had asked for it before (0: a first request)."""
        return self._asked[i]

    def insert_repeat(self, parent: int, at: float) -> int:
        """A repeat of arrival *parent* (same t, runtime, domain and user) arriving at *at*,
        after the arrival being placed and after every arrival at *at*; returns its id."""
        self._repeats += 1
        self._repeat_steps += self._steps[parent]
        rid = self._next_id
        self._next_id += 1
        user = None if self._user is None else self._user[parent]
        self._put(at, self._steps[parent], self._runtime[parent], self._domain[parent], user,
                  self._asked[parent] + 1, rid)
        return rid

    def move(self, rid: int, at: float) -> None:
        """The arrival with id *rid*, not placed yet, arrives at *at* instead."""
        pos = self._id.index(rid, self._i + 1)
        user = None if self._user is None else self._user.pop(pos)
        row = (self._steps.pop(pos), self._runtime.pop(pos), self._domain.pop(pos), user,
               self._asked.pop(pos), self._id.pop(pos))
        del self._time[pos]
        self._put(at, *row)

    def _put(self, at: float, steps: int, runtime: float, domain: int, user: int | None,
             asked: int, rid: int) -> None:
        pos = bisect.bisect_right(self._time, at, lo=self._i + 1)
        self._time.insert(pos, at)
        self._steps.insert(pos, steps)
        self._runtime.insert(pos, runtime)
        self._domain.insert(pos, domain)
        if self._user is not None:
            assert user is not None
            self._user.insert(pos, user)
        self._asked.insert(pos, asked)
        self._id.insert(pos, rid)


class BatchStream:
    """The arrivals of B episodes, one per env, in arrays of shape (B, columns).

    The same stream as :class:`ArrivalStream`, per env: a row holds its episode's
    arrivals in its first ``length[j]`` columns; the columns grow when an episode or a
    repeat needs more. Reads are vectorised over the envs; repeats are inserted per env.
    """

    def __init__(self, n_envs: int) -> None:
        self.n_envs = n_envs
        self._rows = np.arange(n_envs)
        self.reset()

    def reset(self) -> None:
        """No arrivals in any env."""
        b = self.n_envs
        self._cols = 0
        self._time = np.zeros((b, 0))
        self._steps = np.zeros((b, 0), dtype=np.int64)
        self._runtime = np.zeros((b, 0))
        self._domain = np.zeros((b, 0), dtype=np.int64)
        self._user = np.zeros((b, 0), dtype=np.int64)
        self._asked = np.zeros((b, 0), dtype=np.int64)
        self._id = np.zeros((b, 0), dtype=np.int64)
        self._next_id = np.zeros(b, dtype=np.int64)
        self._idx = np.zeros(b, dtype=np.int64)
        self._length = np.zeros(b, dtype=np.int64)
        self._repeats = np.zeros((b, 2), dtype=np.int64)  # repeats, their steps

    def load(self, j: int, episode: Episode) -> None:
        """Env *j* starts *episode*: its arrivals replace the row's."""
        n = len(episode)
        if n > self._cols:
            self._grow(n)
        self._time[j] = np.inf  # a row that repeats lengthened may be longer than n
        self._time[j, :n] = episode.arrival_s
        self._steps[j, :n] = episode.steps
        self._runtime[j, :n] = episode.runtime_s
        self._domain[j, :n] = episode.domains()
        if episode.user is not None:
            self._user[j, :n] = episode.user
        self._asked[j] = 0
        self._id[j, :n] = np.arange(n)
        self._next_id[j] = n
        self._length[j] = n
        self._idx[j] = 0
        self._repeats[j] = 0

    def _grow(self, n: int) -> None:
        """Room for n arrivals per env."""
        grow = max(n, int(self._cols * 1.25) + 1) - self._cols
        pad = ((0, 0), (0, grow))
        self._time = np.pad(self._time, pad, constant_values=np.inf)
        self._steps = np.pad(self._steps, pad, constant_values=1)
        self._runtime = np.pad(self._runtime, pad, constant_values=1.0)
        self._domain = np.pad(self._domain, pad)
        self._user = np.pad(self._user, pad)
        self._asked = np.pad(self._asked, pad)
        self._id = np.pad(self._id, pad, constant_values=-1)
        self._cols += grow

    # --- reading -----------------------------------------------------------

    def index(self) -> npt.NDArray[np.int64]:
        """(B,) the position of the arrival each env is placing (its last once all are)."""
        return np.minimum(self._idx, self._length - 1)

    def current(self) -> BatchArrivals:
        """The arrival each env is placing (its last once every arrival was placed)."""
        rows, k = self._rows, self.index()
        return BatchArrivals(self._time[rows, k], self._steps[rows, k], self._runtime[rows, k],
                             self._domain[rows, k])

    def advance(self, envs_B: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """The envs in *envs_B* placed their arrival; returns which of them placed their
        episode's last."""
        self._idx += envs_B
        done: npt.NDArray[np.bool_] = envs_B & (self._idx >= self._length)
        return done

    def users(self, r: npt.NDArray[np.int64],
              i: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The users of arrivals i[x] of envs r[x]."""
        out: npt.NDArray[np.int64] = self._user[r, i]
        return out

    def asked(self, r: npt.NDArray[np.int64], i: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """How often the users of arrivals i[x] of envs r[x] had asked for them before."""
        out: npt.NDArray[np.int64] = self._asked[r, i]
        return out

    def repeats(self, j: int) -> tuple[int, int]:
        """Repeats inserted in env *j*'s episode so far, and the steps they ask for."""
        n, steps = self._repeats[j].tolist()
        return int(n), int(steps)

    # --- repeats -----------------------------------------------------------

    def insert_repeat(self, j: int, parent: int, at: float) -> int:
        """In env *j*, a repeat of arrival *parent* (same t, runtime and user) arriving at
        *at*, after the arrival being placed and every arrival at *at*; returns its id."""
        steps = int(self._steps[j, parent])
        self._repeats[j, 0] += 1
        self._repeats[j, 1] += steps
        rid = int(self._next_id[j])
        self._next_id[j] += 1
        self._put(j, at, (steps, float(self._runtime[j, parent]), int(self._domain[j, parent]),
                          int(self._user[j, parent]), int(self._asked[j, parent]) + 1, rid))
        return rid

    def move(self, j: int, rid: int, at: float) -> None:
        """In env *j*, the arrival with id *rid*, not placed yet, arrives at *at* instead."""
        lo, n = int(self._idx[j]) + 1, int(self._length[j])
        pos = lo + int(np.flatnonzero(self._id[j, lo:n] == rid)[0])
        row = (int(self._steps[j, pos]), float(self._runtime[j, pos]), int(self._domain[j, pos]),
               int(self._user[j, pos]), int(self._asked[j, pos]), rid)
        for arr in self._columns():
            arr[j, pos:n - 1] = arr[j, pos + 1:n]
        self._time[j, n - 1] = np.inf
        self._length[j] = n - 1
        self._put(j, at, row)

    def _columns(self) -> tuple[np.ndarray, ...]:
        return (self._time, self._steps, self._runtime, self._domain, self._user, self._asked,
                self._id)

    def _put(self, j: int, at: float, row: tuple[int, float, int, int, int, int]) -> None:
        lo, n = int(self._idx[j]) + 1, int(self._length[j])
        if n + 1 > self._cols:
            self._grow(n + 1)
        pos = lo + int(np.searchsorted(self._time[j, lo:n], at, side="right"))
        for arr, value in zip(self._columns(), (at, *row), strict=True):
            arr[j, pos + 1:n + 1] = arr[j, pos:n]
            arr[j, pos] = value
        self._length[j] = n + 1
