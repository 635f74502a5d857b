"""``aaas bound``: the hindsight optimum of simulated episodes (scipy's HiGHS; run on demand)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from testbed.options import Subparsers, add_scenario

__all__ = ["FIGURES", "register"]

FIGURES = {
    "optimum": "the integer program's optimum (HiGHS proved it within mip_rel_gap); null "
               "where the time limit stopped it",
    "bound": "the tightest proven upper bound on any crash-free policy's return: the "
             "optimum's dual bound, or after the time limit min(HiGHS dual bound, lp_bound)",
    "lp_bound": "the LP relaxation (fast, always an upper bound)",
    "incumbent": "the best crash-free schedule HiGHS found (a lower bound on the optimum)",
}
"""What each figure of the output is (also written to the JSON)."""


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bound", help="the hindsight optimum: the most a crash-free policy could earn "
        "knowing the whole task stream (an integer program, HiGHS)",
        description="Per episode (the same episodes as aaas evaluate with the same --seed), "
        "the best return of any crash-free policy that knew every task in advance: an integer "
        "program over (task, ASP) with every ASP's capacity held at every arrival, solved by "
        "HiGHS within --time-limit; its LP relaxation is the fast upper bound. "
        "See docs/policies.md.")
    add_scenario(p)
    p.add_argument("--episodes", type=int, default=20, help="episodes (default: 20)")
    p.add_argument("--seed", type=int, default=10_000,
                   help="episode k is drawn from seed+k (default: 10000, as aaas evaluate)")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="seconds per episode for the integer program (default: 60)")
    p.add_argument("--gap", type=float, default=1e-4,
                   help="relative gap at which HiGHS calls the program solved (default: 1e-4)")
    p.add_argument("--lp-only", action="store_true",
                   help="solve only the LP relaxation (about a second per episode)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    p.set_defaults(run=_run)


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows]
    return None if any(v is None for v in values) else sum(values) / len(values)


def _run(args: argparse.Namespace) -> int:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from aaas import ConfigError, load_scenario
    from orchestrator.sim import draw_episode, hindsight_bound

    if args.episodes < 1:
        raise ConfigError("--episodes must be >= 1")
    if args.time_limit <= 0:
        raise ConfigError("--time-limit must be > 0")
    scenario = load_scenario(args.scenario)
    rows: list[dict[str, Any]] = []
    table = Table(title=f"{scenario.name}: hindsight optimum of crash-free policies")
    for col in ("seed", "tasks", "status", "optimum", "bound", "LP bound", "incumbent", "s"):
        table.add_column(col, justify="left" if col == "status" else "right")
    for k in range(args.episodes):
        seed = args.seed + k
        episode = draw_episode(scenario, np.random.default_rng(seed))
        res = hindsight_bound(scenario, episode, time_limit_s=args.time_limit,
                              mip_rel_gap=args.gap, exact=not args.lp_only)
        rows.append({"seed": seed, **res.as_dict()})
        table.add_row(str(seed), str(res.tasks), res.status, *(
            "-" if v is None else f"{v:.1f}"
            for v in (res.optimum, res.bound, res.lp_bound, res.incumbent)),
            f"{res.seconds:.1f}")
    Console().print(table)
    mean = {key: _mean(rows, key) for key in ("optimum", "bound", "lp_bound", "incumbent")}
    Console().print("mean: " + ", ".join(
        f"{k} {'-' if v is None else f'{v:.1f}'}" for k, v in mean.items()))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"episodes": rows, "mean": mean, "figures": FIGURES, "_meta": {
            "scenario": scenario.name, "episodes": args.episodes, "seed": args.seed,
            "time_limit_s": args.time_limit, "mip_rel_gap": args.gap, "lp_only": args.lp_only}}
        path.write_text(json.dumps(payload, indent=2) + "\n")
    return 0
