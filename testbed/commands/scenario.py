"""``aaas scenario list|show``: the shipped scenarios, and what one resolves to.

Light: it needs the vocabulary and the ``link`` package's profile parser only (no
torch, no amqtt), so it works in a plain ``[user]`` install.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import msgspec

from testbed.options import Subparsers

__all__ = ["register", "scenario_summary"]


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``scenario list`` and ``scenario show`` to the ``aaas`` parser."""
    p = sub.add_parser("scenario", help="list the shipped scenarios, or show what one resolves to",
                       description="Scenarios are TOML testbeds (docs/scenarios.md); the named "
                       "ones ship with the package.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="the shipped scenario names and descriptions",
                            description="The shipped scenario names and their descriptions.")
    _add_json(ls)
    ls.set_defaults(run=_run_list)
    show = actions.add_parser(
        "show", help="the ASPs, workload, models, limits and link profiles of a scenario",
        description="What a scenario resolves to: its ASPs as drawn from the seed (capacity, "
        "backend, quality curve Ax, Ay, Bx, By), the workload, the runtime model, the crash "
        "rule, the limits and the link profiles.")
    show.add_argument("scenario", metavar="NAME|PATH",
                      help="a shipped scenario name (aaas scenario list) or a TOML path")
    _add_json(show)
    show.set_defaults(run=_run_show)


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", type=Path, default=None, metavar="PATH", dest="json_path",
                   help="also write it as JSON to PATH ('-': only the JSON, to stdout)")


def _write_json(data: Any, path: Path) -> None:
    import msgspec

    # msgspec writes inf/nan (a rate of inf: no air time) as null, which stays valid JSON.
    text = msgspec.json.format(msgspec.json.encode(data), indent=2).decode() + "\n"
    if str(path) == "-":
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def _run_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from aaas import load_scenario, scenario_names

    rows = [{"name": n, "description": load_scenario(n).description} for n in scenario_names()]
    if args.json_path is not None:
        _write_json(rows, args.json_path)
        if str(args.json_path) == "-":
            return 0
    table = Table(title="shipped scenarios (aaas scenario show NAME)")
    table.add_column("name", style="bold")
    table.add_column("description")
    for row in rows:
        table.add_row(row["name"], row["description"])
    Console().print(table)
    return 0


def scenario_summary(name_or_path: str) -> dict[str, Any]:
    """What a scenario resolves to, as plain data (the JSON of ``scenario show``)."""
    import msgspec

    from aaas import load_scenario
    from link import load_link_profiles

    s = load_scenario(name_or_path)
    w = s.workload
    profiles = load_link_profiles(s)  # a bad [link] table: ConfigError, as in every command
    link: dict[str, Any] = {
        "seed": profiles.seed,
        "default": _profile(profiles.default),
        "distance_range_m": profiles.distance_range,
        "users": {u: _profile(p) for u, p in profiles.users.items()},
    }
    return {
        "name": s.name, "description": s.description, "source": s.source, "seed": s.seed,
        "asps": [msgspec.to_builtins(a) for a in s.asps],
        "workload": {"users": w.users, "arrival_rate": w.arrival_rate, "horizon_s": w.horizon_s,
                     "steps": {"min": w.steps_min, "max": w.steps_max, "step": w.steps_step},
                     "expected_tasks": w.expected_tasks},
        "runtime": {**msgspec.to_builtins(s.runtime),
                    "at_steps_s": {int(t): s.runtime(t) for t in (w.steps_min, w.steps_max)}},
        "crash": msgspec.to_builtins(s.crash),
        "limits": msgspec.to_builtins(s.limits),
        "link": link,
    }


def _run_show(args: argparse.Namespace) -> int:
    data = scenario_summary(args.scenario)
    if args.json_path is not None:
        _write_json(data, args.json_path)
        if str(args.json_path) == "-":
            return 0
    _print_summary(data)
    return 0


def _print_summary(d: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{d['name']}[/bold]: {d['description']}")
    console.print(f"source {d['source']}, seed {d['seed']}")
    asps = Table(title=f"{len(d['asps'])} ASPs (drawn from the seed)")
    for col in ("id", "capacity", "backend", "Ax", "Ay", "Bx", "By", "max q"):
        asps.add_column(col, justify="left" if col in ("id", "backend") else "right")
    for a in d["asps"]:
        c = a["curve"]
        backend = a["backend"] + (f" ({a['model']})" if a.get("model") else "")
        asps.add_row(a["id"], str(a["capacity"]), backend, f"{c['ax']:.1f}", f"{c['ay']:.3f}",
                     f"{c['bx']:.1f}", f"{c['by']:.3f}", f"{c['by'] - c['ay']:.3f}")
    console.print(asps)
    console.print(_pairs("workload, models and limits", _model_rows(d)))
    console.print(_pairs("link", _link_rows(d["link"])))


def _model_rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    w, rt, cr, lim = d["workload"], d["runtime"], d["crash"], d["limits"]
    st = w["steps"]
    at = ", ".join(f"{t} steps: {v:,.0f} s" for t, v in rt["at_steps_s"].items())
    return [
        ("users", f"{w['users']}"),
        ("arrival rate λ", f"{w['arrival_rate']:g} tasks/s (Poisson, all users)"),
        ("horizon", f"{w['horizon_s']:,.0f} s ({w['horizon_s'] / 3600:.1f} h)"),
        ("steps t", f"{st['min']}..{st['max']} by {st['step']}"),
        ("expected tasks", f"{w['expected_tasks']:.0f} tasks"),
        ("runtime(t)", f"({rt['a']:g} t² {_signed(rt['b'])} t {_signed(rt['c'])}) · "
                       f"{rt['unit_s']:g} s; {at}"),
        ("crash penalty", f"{cr['base_penalty']:g} + Σ lost {cr['lost_weight']:g}·(1 − progress)"),
        ("max image bytes", f"{lim['max_image_bytes']}"),
        ("image size", f"{lim['image_size']} px"),
        ("queue timeout", f"{lim['queue_timeout_s']:g} s"),
    ]


def _signed(x: float) -> str:
    return f"+ {x:g}" if x >= 0 else f"− {-x:g}"


def _profile(profile: Any) -> dict[str, Any]:
    """A link profile as plain data: the flat keys of a ``[link]`` profile table."""
    out: dict[str, Any] = msgspec.to_builtins(profile.as_table())
    return out


def _link_rows(link: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [("seed", str(link["seed"]))]
    if link["distance_range_m"] is not None:
        lo, hi = link["distance_range_m"]
        rows.append(("distance_m", f"drawn per user in [{lo:g}, {hi:g})"))
    rows += [(k, str(v)) for k, v in link["default"].items()
             if not (k == "distance_m" and link["distance_range_m"] is not None)]
    rows += [(f"user {u}", "own profile") for u in link["users"]]
    return rows


def _pairs(title: str, rows: list[tuple[str, str]]) -> Any:
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    return table
