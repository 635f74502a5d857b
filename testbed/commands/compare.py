"""``aaas compare``: the same episode in the simulator and live, per policy."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from ..brokers import BROKER_KINDS
from ..options import Subparsers, add_broker, add_scenario, add_spread
from .demo import add_time_scale, resolve_time_scale


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    from orchestrator.policies import POLICIES

    p = sub.add_parser(
        "compare", help="run one episode in the simulator and live, per policy, and compare",
        description="Draw one episode (the task stream of --seed), run it in the simulator and "
        "live (the demo's testbed) with each --policy, and print the two rewards, the live "
        "outcomes, the share of tasks placed on the same ASP and whether the live run kept up "
        "with its clock. docs/fidelity.md explains the differences.",
    )
    add_scenario(p)
    add_broker(p, default="as aaas demo: its own private Mosquitto child (amqtt where none is "
               "installed), not a broker at 127.0.0.1:1883", keywords=BROKER_KINDS)
    p.add_argument("--policy", choices=POLICIES.names(), action="append", default=None,
                   help="policy to compare (repeat for several; default: sac)")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="sac's weights (default: the checkpoint shipped for the scenario)")
    add_time_scale(p)
    p.add_argument("--seed", type=int, default=0, help="episode seed (default: 0)")
    p.add_argument("--users", type=int, default=None, metavar="N",
                   help="number of users (default: the scenario's)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="emulated length of the episode (default: the scenario's horizon)")
    p.add_argument("--no-link", action="store_true",
                   help="connect the users straight to the broker (no emulated wireless link)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", dest="json_path",
                   help="write the comparison as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_spread(p)
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    import msgspec
    from rich.console import Console

    from aaas.config import load_scenario

    from ..compare import Comparison, compare_policy
    from ..demo import DemoOptions
    from ..runner import run_until_stopped

    if args.users is not None and args.users < 1:
        raise SystemExit("aaas compare: --users must be >= 1")
    scenario = load_scenario(args.scenario)
    runs: list[Comparison] = []

    async def main(stop: asyncio.Event) -> int:
        for policy in args.policy or ["sac"]:
            opts = DemoOptions(scenario=scenario, policy=policy, checkpoint=args.checkpoint,
                               broker=args.broker, users=args.users, duration_s=args.duration,
                               seed=args.seed, link=not args.no_link,
                               progress=not args.no_progress, stop=stop, spread=args.spread,
                               spread_orchestrator=args.spread_orchestrator)
            opts = await resolve_time_scale(args.time_scale, opts)
            runs.append(await compare_policy(opts))
            if stop.is_set():
                return 130
        return 0

    code = run_until_stopped(main)
    if runs:
        out = comparison_json([msgspec.to_builtins(r) for r in runs])
        if args.json_path is not None:
            args.json_path.parent.mkdir(parents=True, exist_ok=True)
            args.json_path.write_text(json.dumps(out, indent=2) + "\n")
        Console().print(comparison_table(out["runs"]))
    return code


def comparison_json(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"runs": [...]}``; with one policy its fields are also at the top level."""
    return {**(runs[0] if len(runs) == 1 else {}), "runs": runs}


def comparison_table(runs: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    t = Table(title="aaas compare: one episode, simulator vs live", header_style="bold")
    for col in ("policy", "sim reward", "live reward", "gap", "sim crashes", "live crashes",
                "live finished / sent", "lost", "same ASP", "emulation"):
        t.add_column(col, justify="right")
    for r in runs:
        tasks, em = r["live"]["tasks"], r.get("emulation")
        emu = "–" if em is None else (
            f"{'valid' if em['valid'] else '[red]NOT valid[/]'}, p99 lag "
            f"{em['lag_share']['p99']:.2%}")
        t.add_row(r["policy"], f"{r['sim']['reward']:.2f}", f"{r['live']['reward']:.2f}",
                  f"{r['reward_gap']:+.2%}", str(r["sim"]["crashes"]), str(r["live"]["crashes"]),
                  f"{tasks['finished']} / {tasks['sent']}", str(tasks["lost"]),
                  f"{r['agreement']:.1%}", emu)
    return t
