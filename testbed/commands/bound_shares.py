"""``aaas evaluate``'s shares: each policy's return as a share of ``upper_bound``'s and of
the hindsight bound on the same episodes (:mod:`orchestrator.sim.bound`)."""

from __future__ import annotations

from typing import Any

from aaas import Scenario

__all__ = ["add_shares", "bound_summary"]


def bound_summary(scenario: Scenario, seeds: list[int], time_limit_s: float) -> dict[str, Any]:
    """The bound of every evaluated episode and their mean (``bound`` is the figure shares
    are taken of: the tightest proven upper bound, LP or integer program)."""
    from orchestrator.sim import episode_bounds

    results = episode_bounds(scenario, seeds, time_limit_s=time_limit_s)
    rows = [{"seed": s, **r.as_dict()} for s, r in zip(seeds, results, strict=True)]
    feasible = [r for r in results if r.bound is not None]
    out: dict[str, Any] = {
        "method": "integer program" if time_limit_s > 0 else "LP relaxation",
        "time_limit_s": time_limit_s,
        "infeasible": len(results) - len(feasible),
        "bound_mean": (sum(r.bound for r in feasible if r.bound is not None) / len(feasible)
                       if len(feasible) == len(results) else None),
        "lp_bound_mean": (sum(r.lp_bound for r in feasible if r.lp_bound is not None)
                          / len(feasible) if len(feasible) == len(results) else None),
        "solved": sum(r.status == "optimal" for r in results),
        "episodes": rows,
    }
    return out


def add_shares(summaries: dict[str, dict[str, float]], bound: dict[str, Any] | None) -> None:
    """``share_of_upper_bound`` and ``share_of_bound`` (ratios of the mean returns) in place."""
    prophet = summaries.get("upper_bound", {}).get("return_mean")
    ceiling = bound.get("bound_mean") if bound else None
    for s in summaries.values():
        if prophet:
            s["share_of_upper_bound"] = s["return_mean"] / prophet
        if ceiling:
            s["share_of_bound"] = s["return_mean"] / ceiling
