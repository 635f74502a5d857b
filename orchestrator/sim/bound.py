"""The hindsight optimum: the most any crash-free policy could earn on an episode
whose whole task stream it knew in advance.

In the simulator a policy must place every task on some ASP: an ASP with free
capacity ≥ t admits it (reward q_i(t)), any other ASP crashes. There is no
"skip" action, so a crash-free policy admits every task, and its return is
Σ_j q_{i(j)}(t_j) over all tasks. Its best value is the integer program

    max  Σ_j Σ_i q_i(t_j) · x_ji
    s.t. Σ_i x_ji = 1                                   every task placed (no crash)
         Σ_{j running at a_k} t_j · x_ji ≤ C_i          every ASP i, every instant a_k
         x_ji ∈ {0, 1}

where task j runs on [a_j, a_j + runtime(t_j)), the interval the simulator holds
its steps for: ``AaasEnv`` releases a task whose end ≤ the next arrival before
that arrival is placed, and admits task k on ASP i iff the steps of the tasks
still running there plus t_k fit in C_i. That check is exactly the row of
instant a_k below.

**Why constraints at the arrival instants suffice.** An ASP's load is a step
function that rises only when a task arrives and falls when one ends; its
maximum over time is therefore reached at some arrival instant a_k, and the
load at a_k is Σ t_j x_ji over S_k = {j ≤ k : a_j + r_j > a_k} (k itself
included). Further, when S_k ⊆ S_{k+1} (nothing that runs at a_k ends before
a_{k+1}) the row of a_k is implied by the row of a_{k+1} (all coefficients are
non-negative), so only the instants after which some task ends are kept: the
maximal cliques of the interval graph. That halves the rows or better.

The solver is HiGHS through :func:`scipy.optimize.milp` on sparse constraints.
Two figures come out, and they are kept apart:

* ``lp_bound``: the LP relaxation (0 ≤ x ≤ 1), fast, always an upper bound;
* ``optimum``: the integer program solved to proven optimality (within the
  relative gap ``mip_rel_gap``, HiGHS's default 1e-4) when it finishes within
  ``time_limit_s``; otherwise it is
  None, ``incumbent`` is the best crash-free schedule found (a lower bound) and
  ``bound`` the best proven upper bound (HiGHS's dual bound, or the LP).

``bound`` is the figure shares are taken of: it is never below the optimum.

Scope: the program is over crash-free policies (the paper's aim is never to
overload an ASP). A policy that crashes earns q on admission even for tasks a
crash kills later, so in principle a crash that frees capacity early could pay
more than its penalty (≥ 2 per crash, > any single task's q < 1); the evaluation
checks that no policy does better than the bound on the episodes it plays, and
``allow_skip=True`` gives the program where tasks may be dropped, which bounds
every policy's *obtained utility* (the q of the tasks that finish): finished
tasks hold their full interval, so they alone are a feasible schedule of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aaas import Scenario

from .episode import Episode
from .stats import quality_table

__all__ = ["BoundResult", "episode_bounds", "hindsight_bound", "interval_rows"]


@dataclass(frozen=True, kw_only=True)
class BoundResult:
    """The hindsight optimum of one episode, and how it was found."""

    tasks: int
    """Tasks in the episode."""
    status: str
    """``optimal``; ``time_limit`` (the integer program did not finish: see ``bound``);
    ``lp`` (only the LP relaxation was solved); or ``infeasible`` (no crash-free policy
    exists for this episode)."""
    optimum: float | None
    """The integer program's optimum (proven within ``mip_rel_gap``); None unless optimal."""
    lp_bound: float | None
    """The LP relaxation's optimum: an upper bound found fast."""
    bound: float | None
    """The tightest proven upper bound: the optimum's dual bound (= ``optimum`` within the
    gap when optimal), else the smaller of HiGHS's dual bound and ``lp_bound``."""
    incumbent: float | None
    """Return of the best crash-free schedule found (a lower bound on the optimum)."""
    assignment: npt.NDArray[np.int64] | None
    """The ASP of every task in that schedule (−1: dropped, with ``allow_skip`` only)."""
    rows: int
    """Capacity constraints kept (instants × ASPs)."""
    seconds: float
    """Wall time of the LP and the integer program together."""

    def as_dict(self) -> dict[str, float | int | str | None]:
        return {"tasks": self.tasks, "status": self.status, "optimum": self.optimum,
                "lp_bound": self.lp_bound, "bound": self.bound, "incumbent": self.incumbent,
                "rows": self.rows, "seconds": self.seconds}


def interval_rows(episode: Episode) -> list[npt.NDArray[np.int64]]:
    """S_k for the kept instants: the tasks running when task k is placed (k included),
    only for the k after which some task of S_k ends (the others are implied)."""
    a = episode.arrival_s.tolist()
    end = (episode.arrival_s + episode.runtime_s).tolist()  # as AaasEnv adds them
    n = len(a)
    rows: list[npt.NDArray[np.int64]] = []
    running: list[int] = []
    for k in range(n):
        # the simulator releases every task with end <= a_k before placing task k
        running = [j for j in running if end[j] > a[k]]
        running.append(k)
        nxt = a[k + 1] if k + 1 < n else np.inf
        if k + 1 == n or any(end[j] <= nxt for j in running):
            rows.append(np.array(running, dtype=np.int64))
    return rows


def _problem(scenario: Scenario, episode: Episode, allow_skip: bool) -> tuple[
        np.ndarray, list[object], np.ndarray, int]:
    from scipy.optimize import LinearConstraint
    from scipy.sparse import coo_array

    m, n = len(scenario.asps), len(episode)
    cap = scenario.capacities
    steps = episode.steps
    q = quality_table(scenario)[episode.domains(), :, steps]  # (n, m): its domain's q
    fits = steps[:, None] <= cap[None, :]  # a task larger than C_i never fits ASP i
    var = np.full((n, m), -1, dtype=np.int64)
    var[fits] = np.arange(int(fits.sum()))
    nv = int(fits.sum())
    c = -q[fits]  # milp minimises
    # one row per task: Σ_i x_ji = 1 (or ≤ 1 when tasks may be dropped)
    tj, ti = np.nonzero(fits)
    assign = coo_array((np.ones(nv), (tj, var[tj, ti])), shape=(n, nv)).tocsr()
    lo = np.zeros(n) if allow_skip else np.ones(n)
    cons: list[object] = [LinearConstraint(assign, lo, np.ones(n))]
    r_idx: list[np.ndarray] = []
    c_idx: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    ub: list[np.ndarray] = []
    row = 0
    for members in interval_rows(episode):
        v = var[members]  # (|S|, m)
        for i in range(m):
            ok = v[:, i] >= 0
            if steps[members[ok]].sum() <= cap[i]:
                continue  # cannot bind: every running task fits at once
            r_idx.append(np.full(int(ok.sum()), row))
            c_idx.append(v[ok, i])
            vals.append(steps[members[ok]].astype(np.float64))
            ub.append(np.array([cap[i]], dtype=np.float64))
            row += 1
    if row:
        a_cap = coo_array((np.concatenate(vals), (np.concatenate(r_idx), np.concatenate(c_idx))),
                          shape=(row, nv)).tocsr()
        cons.append(LinearConstraint(a_cap, -np.inf, np.concatenate(ub)))
    return c, cons, var, row


def hindsight_bound(scenario: Scenario, episode: Episode, *, time_limit_s: float = 60.0,
                    mip_rel_gap: float = 1e-4, allow_skip: bool = False,
                    exact: bool = True) -> BoundResult:
    """Solve the episode's LP relaxation, then (``exact``) its integer program with HiGHS.

    *allow_skip* lets tasks be dropped (``Σ_i x_ji ≤ 1``): the bound on any policy's
    obtained utility instead of on a crash-free policy's return.
    """
    from scipy.optimize import Bounds, milp

    t0 = time.perf_counter()
    c, cons, var, rows = _problem(scenario, episode, allow_skip)
    n, bounds = len(episode), Bounds(0.0, 1.0)
    lp = milp(c, constraints=cons, bounds=bounds, integrality=np.zeros_like(c))
    if lp.status == 2:  # infeasible: every policy crashes somewhere on this episode
        return BoundResult(tasks=n, status="infeasible", optimum=None, lp_bound=None,
                           bound=None, incumbent=None, assignment=None, rows=rows,
                           seconds=time.perf_counter() - t0)
    lp_bound = -float(lp.fun)
    status, optimum, incumbent, bound, assignment = "lp", None, None, lp_bound, None
    if exact:
        status = "time_limit"
        left = max(time_limit_s - (time.perf_counter() - t0), 1.0)
        ip = milp(c, constraints=cons, bounds=bounds, integrality=np.ones_like(c),
                  options={"time_limit": left, "mip_rel_gap": mip_rel_gap})
        if ip.status == 2:
            return BoundResult(tasks=n, status="infeasible", optimum=None, lp_bound=lp_bound,
                               bound=None, incumbent=None, assignment=None, rows=rows,
                               seconds=time.perf_counter() - t0)
        if ip.x is not None:
            incumbent = -float(ip.fun)
            x = np.round(ip.x).astype(np.int64)
            chosen = np.where(var >= 0, x[np.maximum(var, 0)], 0)
            assignment = np.where(chosen.any(axis=1), chosen.argmax(axis=1), -1)
        dual = getattr(ip, "mip_dual_bound", None)
        if dual is not None and np.isfinite(dual):
            bound = min(bound, -float(dual))
        if ip.status == 0:
            status, optimum = "optimal", incumbent
            bound = max(bound, incumbent) if incumbent is not None else bound
    return BoundResult(tasks=n, status=status, optimum=optimum, lp_bound=lp_bound, bound=bound,
                       incumbent=incumbent, assignment=assignment, rows=rows,
                       seconds=time.perf_counter() - t0)


def episode_bounds(scenario: Scenario, seeds: list[int], *, time_limit_s: float = 0.0,
                   mip_rel_gap: float = 1e-4) -> list[BoundResult]:
    """The bound of the episodes ``AaasEnv.reset(seed=s)`` plays, one per seed: the LP
    relaxation only when *time_limit_s* is 0, else the integer program within it."""
    from .episode import draw_episode

    return [hindsight_bound(scenario, draw_episode(scenario, np.random.default_rng(int(s))),
                            time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap,
                            exact=time_limit_s > 0) for s in seeds]
