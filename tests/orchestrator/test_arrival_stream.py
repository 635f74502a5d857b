"""The arrival stream (``orchestrator.sim.stream``): the one owner of an episode's arrivals.

Repeats are inserted after the arrival being placed, in time order after every arrival
at the same time; a pending repeat can be moved; the arrivals placed so far keep their
numbers. :class:`BatchStream` is the same stream per env, so a row of it and an
:class:`ArrivalStream` given the same operations yield the same arrivals.
"""

from __future__ import annotations

import numpy as np
import pytest

from orchestrator.sim import ArrivalStream, BatchStream, Episode


def episode(times: list[float], steps: list[int], users: list[int] | None = None,
            domains: list[int] | None = None) -> Episode:
    t = np.array(steps, dtype=np.int64)
    return Episode(arrival_s=np.array(times, dtype=np.float64), steps=t,
                   runtime_s=t.astype(np.float64) * 2.0,
                   user=None if users is None else np.array(users, dtype=np.int64),
                   domain=None if domains is None else np.array(domains, dtype=np.int64))


def test_repeats_go_after_the_task_being_placed_in_time_order() -> None:
    s = ArrivalStream(episode([0.0, 10.0, 20.0], [100, 110, 120], [0, 1, 2]))
    assert (s.current(), len(s), s.done) == ((0, 0.0, 100, 200.0, 0), 3, False)
    a = s.insert_repeat(0, 10.0)  # after the arrival at 10 already there
    b = s.insert_repeat(0, 0.0)   # before everything but the one being placed
    assert len(s) == 5 and (s.repeats, s.repeat_steps) == (2, 200)
    s.advance()
    assert s.current() == (1, 0.0, 100, 200.0, 0) and s.asked(1) == 1 and s.user(1) == 0
    s.move(a, 30.0)  # the later repeat now comes last
    seen = []
    while not s.done:
        seen.append(s.current())
        s.advance()
    assert [x.time_s for x in seen] == [0.0, 10.0, 20.0, 30.0]
    assert [x.steps for x in seen] == [100, 110, 120, 100]
    assert s.current() == (4, 30.0, 100, 200.0, 0)  # the last one, once every arrival was placed
    assert a != b and s.asked(4) == 1 and s.asked(0) == 0


def test_without_users_there_is_no_user_to_read() -> None:
    s = ArrivalStream(episode([0.0], [100]))
    with pytest.raises(ValueError, match="users"):
        s.user(0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_batch_row_is_the_same_stream(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 12
    times = np.sort(rng.uniform(0, 100, n)).round(0).tolist()  # ties on purpose
    users = rng.integers(0, 4, n).tolist()
    ep = episode(times, rng.choice([100, 150, 200], n).tolist(), users, [u % 2 for u in users])
    single, batch, j = ArrivalStream(ep), BatchStream(3), 1
    for k in range(3):
        batch.load(k, ep)
    seen_single, seen_batch = [], []
    while not single.done:
        i = single.current().i
        ids: list[tuple[int, int]] = []  # repeats inserted now: not placed yet, so movable
        for _ in range(int(rng.integers(0, 3))):
            at = single.current().time_s + float(rng.integers(0, 40))
            if ids and rng.random() < 0.3:
                a, b = ids.pop(int(rng.integers(0, len(ids))))
                single.move(a, at)
                batch.move(j, b, at)
            elif int(single.asked(i)) < 3:
                parent = int(rng.integers(0, i + 1))
                ids.append((single.insert_repeat(parent, at), batch.insert_repeat(j, parent, at)))
        seen_single.append(tuple(single.current()))
        assert single.current().domain == single.user(i) % 2  # a repeat keeps its domain
        cur = batch.current()
        seen_batch.append((int(batch.index()[j]), float(cur.time_s[j]), int(cur.steps[j]),
                           float(cur.runtime_s[j]), int(cur.domain[j])))
        assert int(batch.asked(np.array([j]), np.array([i]))[0]) == single.asked(i)
        assert int(batch.users(np.array([j]), np.array([i]))[0]) == single.user(i)
        single.advance()
        done = batch.advance(np.arange(3) == j)
        assert bool(done[j]) == single.done and not done[[0, 2]].any()
    assert seen_single == seen_batch
    assert [a[1] for a in seen_single] == sorted(a[1] for a in seen_single)
    assert batch.repeats(j) == (single.repeats, single.repeat_steps) and batch.repeats(0) == (0, 0)
