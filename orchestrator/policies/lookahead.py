"""``lookahead``: the classical answer to a myopic prophet, re-solving a small LP over the
expected arrivals at every task.

Like ``upper_bound`` it knows every q_i (it is a benchmark, not a learner); unlike it,
it weighs the task in hand against the tasks expected while this one runs. At each
task (t, runtime W) it solves the fluid LP

    max  Σ_i q_i(t)·x_i + Σ_s Σ_i q_i(s)·y_si
    s.t. Σ_i x_i = 1,   x_i = 0 where ASP i has no room for t (never a crash)
         Σ_i y_si ≤ n_s = λ·W·P(s)                  expected type-s arrivals within W
         t·r·x_i + Σ_s s·h_s(W)·y_si ≤ C_i·W − (C_i − free_i)·h_run(W)   per ASP i

over capacity-time in the window [now, now + W), W = 8 runtimes of the task in hand
(``window``; the task itself holds t for its runtime only): a type-s task arriving uniformly in
the window holds s for h_s(W) = E[min(runtime(s), W − U)], and a task running now
holds its steps for h_run(W) = min(W, its expected residual runtime) (the residual
life E[r²]/2E[r] of the runtimes). The task goes to the ASP with the largest x_i.
The LP is 20 + 16·20 variables on the paper's scenario, solved by HiGHS
(:func:`scipy.optimize.linprog`) in a few milliseconds, so it runs live too; it is
slow next to the other policies in the simulator, so ``aaas evaluate`` runs it only
when it is named (:data:`OPT_IN`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aaas import CrashRule, QualityCurve, Scenario

from .base import Observation, Policy
from .benchmarks import blind_curves, domain_curves
from .registry import POLICIES

__all__ = ["OPT_IN", "LookaheadPolicy"]

OPT_IN = frozenset({"lookahead"})
"""Policies ``aaas evaluate`` runs only when ``--policies`` names them (slow in the simulator)."""


class LookaheadPolicy(Policy):
    """Re-solves the fluid LP over the arrivals expected while the task runs."""

    name = "lookahead"

    def __init__(self, scenario: Scenario, *, window: float = 8.0) -> None:
        self.window = window
        """The look-ahead window in runtimes of the task in hand (8: on the first two
        evaluation episodes 1 lost to upper_bound, 2, 4 and 8 beat it, 8 the most)."""
        w = scenario.workload
        self.types = w.steps_choices.astype(np.int64)
        self.rate = w.arrival_rate / len(self.types)  # per type, per emulated second
        self.run_s = scenario.runtime.many(self.types)
        r = self.run_s
        self.residual_s = float((r * r).mean() / (2 * r.mean())) if r.mean() > 0 else 0.0
        # It plans on the curves averaged over the domains (with one domain: the curves),
        # and scores the task in hand on its own domain's curves.
        self.curves = domain_curves(scenario)
        self.q_types = QualityCurve.table(blind_curves(scenario), self.types)  # (M, S)
        self._q_at: dict[tuple[int, int], np.ndarray] = {}
        self._domain = 0

    def _q(self, steps: int) -> np.ndarray:
        key = (self._domain, steps)
        q = self._q_at.get(key)
        if q is None:
            q = self._q_at[key] = QualityCurve.table(self.curves[self._domain], [steps])[:, 0]
        return q

    def _hold(self, window: float) -> np.ndarray:
        """E[min(runtime(s), W − U)], U uniform on [0, W): per type s."""
        r = self.run_s
        if window <= 0:
            return np.zeros_like(r)
        return np.where(r >= window, window / 2, r - r * r / (2 * window))

    def select(self, obs: Observation) -> int:
        self._domain = obs.domain if len(self.curves) > 1 else 0
        cand = obs.candidates()
        fits = cand[~CrashRule.crashes(obs.free_M[cand], obs.steps)]
        if fits.size == 0:  # every choice crashes: as upper_bound, the most free
            return int(cand[np.argmax(obs.free_M[cand])])
        if fits.size == 1:
            return int(fits[0])
        x = self._solve(obs, fits)
        q = self._q(obs.steps)[fits]
        # the largest share; among equal shares the better quality
        return int(fits[np.lexsort((-q, -np.round(x, 6)))[0]])

    def _solve(self, obs: Observation, fits: np.ndarray) -> np.ndarray:
        from scipy.optimize import linprog
        from scipy.sparse import coo_array, hstack, identity, kron

        m, s = obs.n_asps, len(self.types)
        window = max(float(obs.runtime_s) * self.window, 1e-9)
        k = len(fits)
        # variables: x over the fitting ASPs (k), then y (s × m, type-major)
        c = -np.concatenate([self._q(obs.steps)[fits], self.q_types.T.ravel()])
        # per ASP capacity-time: t·W·x_i + Σ_s s·h_s·y_si ≤ C_i·W − load_i·h_run
        hold = self._hold(window) * self.types  # (S,)
        held = obs.steps * min(window, float(obs.runtime_s))  # the task ends within the window
        x_cols = coo_array((np.full(k, held), (fits, np.arange(k))), shape=(m, k))
        y_cols = kron(coo_array(hold.reshape(1, s)), identity(m))  # (m, s·m)
        a_cap = hstack([x_cols, y_cols])
        load = (obs.capacity_M - obs.free_M).astype(np.float64)
        b_cap = obs.capacity_M * window - load * min(window, self.residual_s)
        # per type: Σ_i y_si ≤ n_s
        a_type = hstack([coo_array((s, k)), kron(identity(s), coo_array(np.ones((1, m))))])
        b_type = np.full(s, self.rate * window)
        a_ub = coo_array(np.vstack([a_cap.toarray(), a_type.toarray()]))
        b_ub = np.concatenate([b_cap, b_type])
        a_eq = np.concatenate([np.ones(k), np.zeros(s * m)]).reshape(1, -1)
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0], bounds=(0, None),
                      method="highs")
        if res.status != 0 or res.x is None:  # the window is overbooked: the prophet's pick
            return np.eye(k)[np.argmax(self._q(obs.steps)[fits])]
        return np.asarray(res.x[:k])


@POLICIES.register("lookahead")
def _lookahead(scenario: Scenario, *, rng: np.random.Generator,
               checkpoint: Path | None) -> Policy:
    return LookaheadPolicy(scenario)
