"""The paper's benchmark policies: random, round-robin, overloading avoidance, prophet."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aaas import CrashRule, QualityCurve, Scenario

from .base import Observation, Policy
from .registry import POLICIES

__all__ = ["BlindUpperBoundPolicy", "LeastLoadedPolicy", "RandomPolicy", "RoundRobinPolicy",
           "UpperBoundPolicy", "blind_curves", "domain_curves"]


class RandomPolicy(Policy):
    """Any online ASP, uniformly at random."""

    name = "random"

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def select(self, obs: Observation) -> int:
        return int(self.rng.choice(obs.candidates()))


class RoundRobinPolicy(Policy):
    """The ASPs in turn, skipping offline ones."""

    name = "round_robin"

    def __init__(self) -> None:
        self._next = 0

    def reset(self) -> None:
        self._next = 0

    def select(self, obs: Observation) -> int:
        m = obs.n_asps
        for k in range(m):
            i = (self._next + k) % m
            if obs.online_M[i] or not obs.online_M.any():
                self._next = (i + 1) % m
                return i
        raise AssertionError("unreachable")  # pragma: no cover


class LeastLoadedPolicy(Policy):
    """Overloading avoidance: the online ASP with the most free capacity."""

    name = "least_loaded"

    def select(self, obs: Observation) -> int:
        cand = obs.candidates()
        return int(cand[np.argmax(obs.free_M[cand])])


def domain_curves(scenario: Scenario) -> list[list[QualityCurve]]:
    """Per domain (in the scenario's order), every ASP's curve there."""
    return [[a.curve_for(d) for a in scenario.asps] for d in range(len(scenario.domains.names))]


def blind_curves(scenario: Scenario) -> list[QualityCurve]:
    """Every ASP's curve averaged over the domains. An ASP's curves differ only by the
    factor scaling their rise (its skill, :class:`aaas.config.Domains`), so their mean is
    a curve too: the same Ax and Bx, the mean Ay and By."""
    out = []
    for a in scenario.asps:
        cs = [a.curve_for(d) for d in range(len(scenario.domains.names))]
        out.append(QualityCurve(ax=cs[0].ax, ay=float(np.mean([c.ay for c in cs])),
                                bx=cs[0].bx, by=float(np.mean([c.by for c in cs]))))
    return out


class UpperBoundPolicy(Policy):
    """The prophet: knows every q_i on every domain; the best ASP for the task's domain
    among those with room for the task.

    When no online ASP has room, it falls back to the one with the most free
    capacity (every choice crashes then). Given one list of curves (*curves*), it uses
    them for every domain; *per_domain* gives one list per domain.
    """

    name = "upper_bound"

    def __init__(self, curves: Sequence[QualityCurve] = (), *,
                 per_domain: Sequence[Sequence[QualityCurve]] = ()) -> None:
        self.curves = [list(c) for c in per_domain] or [list(curves)]
        self._q_at: dict[tuple[int, int], np.ndarray] = {}
        """q_i(t) of every ASP, per (domain, t) seen so far (the scenario has few t)."""

    def select(self, obs: Observation) -> int:
        cand = obs.candidates()
        fits = cand[~CrashRule.crashes(obs.free_M[cand], obs.steps)]
        if fits.size == 0:
            return int(cand[np.argmax(obs.free_M[cand])])
        d = obs.domain if len(self.curves) > 1 else 0
        q = self._q_at.get((d, obs.steps))
        if q is None:
            q = self._q_at[d, obs.steps] = QualityCurve.table(self.curves[d], [obs.steps])[:, 0]
        return int(fits[np.argmax(q[fits])])


# The factories the registry builds them with (signature: registry.PolicyFactory).


@POLICIES.register("random")
def _random(scenario: Scenario, *, rng: np.random.Generator, checkpoint: Path | None) -> Policy:
    return RandomPolicy(rng)


@POLICIES.register("round_robin")
def _round_robin(scenario: Scenario, *, rng: np.random.Generator,
                 checkpoint: Path | None) -> Policy:
    return RoundRobinPolicy()


@POLICIES.register("least_loaded")
def _least_loaded(scenario: Scenario, *, rng: np.random.Generator,
                  checkpoint: Path | None) -> Policy:
    return LeastLoadedPolicy()


@POLICIES.register("upper_bound")
def _upper_bound(scenario: Scenario, *, rng: np.random.Generator,
                 checkpoint: Path | None) -> Policy:
    return UpperBoundPolicy(per_domain=domain_curves(scenario))


class BlindUpperBoundPolicy(UpperBoundPolicy):
    """The prophet on a world it does not fully see: it knows each ASP's curve averaged
    over the domains (:func:`blind_curves`), the same for every task, not the task's
    domain's. With one domain it is ``upper_bound``."""

    name = "upper_bound_blind"


@POLICIES.register("upper_bound_blind")
def _upper_bound_blind(scenario: Scenario, *, rng: np.random.Generator,
                       checkpoint: Path | None) -> Policy:
    return BlindUpperBoundPolicy(blind_curves(scenario))
