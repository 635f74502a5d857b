"""What ``aaas train``, ``aaas evaluate`` and ``aaas bench sim`` do once parsed."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aaas import ConfigError, load_scenario
from orchestrator.policies import OPT_IN, POLICIES, make_policy
from orchestrator.training import (
    PolicyResult,
    TrainConfig,
    bench_sim,
    evaluate_policy,
    plot_domains,
    plot_fig5,
    plot_fig6,
    read_log,
    train,
)
from orchestrator.training.bid_price import BidPriceConfig, train_bid_price
from orchestrator.training.sac_algo import SacParams
from testbed.commands.bound_shares import add_shares, bound_summary

__all__ = ["run_bench_sim", "run_evaluate", "run_train"]

log = logging.getLogger("aaas.orchestrator")


def _set_threads(n: int) -> None:
    if n < 1:
        raise ConfigError(f"--threads must be >= 1, got {n}")
    torch.set_num_threads(n)


def run_train(args: argparse.Namespace) -> int:
    _set_threads(args.threads)
    scenario = load_scenario(args.scenario)
    algo = getattr(args, "algo", "sac")
    out = Path(args.out or f"runs/{algo}-{scenario.name}.pt")
    log_csv = Path(args.log) if args.log else out.with_suffix(".csv")
    if algo == "bid_price":
        return _run_train_bid_price(args, scenario, out, log_csv)
    overrides: dict[str, Any] = {"seed": args.seed, "time_budget_s": args.time_budget}
    for key in ("updates", "n_envs", "layout", "eval_every"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    sac_overrides: dict[str, Any] = {}
    if algo == "d2sac":
        sac_overrides["arch"] = "diffusion"
    if getattr(args, "gamma", None) is not None:
        sac_overrides["gamma"] = args.gamma
    if sac_overrides:
        overrides["sac"] = dataclasses.replace(SacParams(), **sac_overrides)
    cfg = dataclasses.replace(TrainConfig(), **overrides)
    console = Console(stderr=True)
    with Progress(TextColumn(f"[bold]train {algo}[/] {{task.description}}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} updates"), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task(scenario.name, total=cfg.updates)

        def progress(updates: int, row: dict[str, float]) -> None:
            desc = None
            if row:
                desc = (f"{scenario.name}: return {row['eval_return']:.1f}, "
                        f"crashes {row['eval_crashes']:.2f}")
            bar.update(task, completed=updates, description=desc)

        result = train(scenario, cfg, out=out, log_csv=log_csv, progress=progress)
    console.print(f"best validation return {result.best_return:.1f} at update "
                  f"{result.best_update}; {result.updates} updates, {result.env_steps} env steps "
                  f"in {result.seconds:.0f} s")
    console.print(f"checkpoint: {result.checkpoint} (+ .json); log: {log_csv}")
    return 0


def _run_train_bid_price(args: argparse.Namespace, scenario: Any, out: Path,
                         log_csv: Path) -> int:
    overrides: dict[str, Any] = {"seed": args.seed, "time_budget_s": args.time_budget}
    if args.updates is not None:
        overrides["iterations"] = args.updates
    cfg = dataclasses.replace(BidPriceConfig(), **overrides)
    console = Console(stderr=True)
    with Progress(TextColumn("[bold]train bid_price[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} iterations"), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task(scenario.name, total=cfg.iterations)

        def progress(it: int, row: dict[str, float]) -> None:
            bar.update(task, completed=it, description=f"{scenario.name}: return "
                       f"{row['eval_return']:.1f}, crashes {row['eval_crashes']:.2f}")

        result = train_bid_price(scenario, cfg, out=out, log_csv=log_csv, progress=progress)
    console.print(f"best validation return {result.best_return:.1f} at iteration "
                  f"{result.best_update} (0: the prophet); {result.updates} iterations, "
                  f"{result.env_steps} env steps in {result.seconds:.0f} s")
    console.print(f"checkpoint: {result.checkpoint}; log: {log_csv}")
    return 0


SEVERAL_DOMAINS = frozenset({"upper_bound_blind"})
"""Policies that are another's twin with one domain (evaluated by default only with more)."""


def _policies(arg: str | None, scenario: Any) -> list[str]:
    if arg is None:  # every policy that loads (a broken outside one is logged and skipped)
        # but the slow ones (an LP per task), which run when named
        skip = OPT_IN | (SEVERAL_DOMAINS if scenario.domains.single else frozenset())
        return [name for name, _ in POLICIES.items() if name not in skip]
    names = [n.strip() for n in arg.split(",") if n.strip()]
    known = POLICIES.names()
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ConfigError(f"--policies: unknown {bad}; choose from {', '.join(known)}")
    return names


def run_evaluate(args: argparse.Namespace) -> int:
    _set_threads(args.threads)
    scenario = load_scenario(args.scenario)
    if args.episodes < 1:
        raise ConfigError("--episodes must be >= 1")
    seeds = [args.seed + k for k in range(args.episodes)]
    results: dict[str, PolicyResult] = {}
    for k, name in enumerate(_policies(args.policies, scenario)):
        try:
            policy = make_policy(name, scenario, rng=np.random.default_rng([args.seed, k]),
                                 checkpoint=args.checkpoint)
        except ConfigError as exc:
            if args.policies is not None:  # asked for by name: an error
                raise
            # the default "all": a learned policy with no checkpoint for this scenario is left out
            log.warning("policy %s left out: %s", name, exc)
            continue
        results[name] = evaluate_policy(policy, scenario, seeds)
    summaries = {n: r.summary() for n, r in results.items()}
    # with repeats the task stream depends on the policy: no one hindsight stream to bound
    skip = args.no_bound or scenario.workload.repeats.enabled
    bound = None if skip else bound_summary(scenario, seeds, args.bound_time_limit)
    add_shares(summaries, bound)
    _print_table(scenario.name, args.episodes, summaries)
    _print_domains(summaries)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        # one key per policy name; "_meta" says which episodes they ran on, and its
        # "bound" the hindsight bound on those episodes (aaas bound)
        meta: dict[str, Any] = {"scenario": scenario.name, "episodes": args.episodes,
                                "seed": args.seed}
        if bound is not None:
            meta["bound"] = bound
        payload: dict[str, Any] = {**summaries, "_meta": meta}
        path.write_text(json.dumps(payload, indent=2) + "\n")
    if args.plots:
        ceiling = bound.get("bound_mean") if bound else None
        _plots(Path(args.plots), scenario.name, summaries, args.checkpoint, scenario, ceiling)
    return 0


def _print_domains(summaries: dict[str, dict[str, Any]]) -> None:
    """With several domains: per policy and domain, the tasks, return, crashes (tasks
    rejected by one), finished quality per task and match share."""
    rows = [(n, d, v) for n, s in summaries.items() for d, v in s.get("domains", {}).items()]
    if not rows:
        return
    table = Table(title="per content domain (means per episode)")
    for col in ("policy", "domain", "tasks", "return", "rejected", "killed",
                "quality per task", "on its specialists"):
        table.add_column(col, justify="left" if col in ("policy", "domain") else "right")
    for name, d, v in rows:
        table.add_row(name, d, f"{v['tasks']:.1f}", f"{v['ret']:.1f}", f"{v['rejected']:.2f}",
                      f"{v['killed']:.2f}", f"{v['quality_per_task']:.3f}",
                      f"{100 * v['match_share']:.1f} %")
    Console().print(table)


def _print_table(scenario: str, episodes: int, summaries: dict[str, dict[str, float]]) -> None:
    table = Table(title=f"{scenario}: {episodes} episodes (Table V)")
    for col in ("policy", "return (mean ± std)", "finished rate", "crashed rate",
                "obtained utility", "lost utility", "% of upper_bound", "% of hindsight bound"):
        table.add_column(col, justify="right" if col != "policy" else "left")

    def pct(s: dict[str, float], key: str) -> str:
        return f"{100 * s[key]:.1f} %" if key in s else "-"

    for name, s in summaries.items():
        table.add_row(name, f"{s['return_mean']:.1f} ± {s['return_std']:.1f}",
                      f"{s['finished_rate']:.3f}", f"{s['crashed_rate']:.3f}",
                      f"{s['utility']:.1f}", f"{s['lost_utility']:.1f}",
                      pct(s, "share_of_upper_bound"), pct(s, "share_of_bound"))
    Console().print(table)
    if any(s.get("repeats") for s in summaries.values()):
        Console().print("repeats per episode (steps they asked for): " + ", ".join(
            f"{n} {s['repeats']:.1f} ({s['repeat_steps']:.0f})" for n, s in summaries.items()))


LEARNED = ("sac", "d2sac", "bid_price")
"""Policies with a training curve; the others are Fig. 5's horizontal lines."""


def _training_log(meta_path: Path) -> list[dict[str, float]]:
    meta = json.loads(meta_path.read_text())
    if meta.get("log"):
        log_path = meta_path.parent / meta["log"]
        if log_path.is_file():
            return read_log(log_path)
        log.warning("training log %s not found; Fig. 5 has no curve for it", log_path)
    return []


def _plots(folder: Path, name: str, summaries: dict[str, dict[str, float]],
           checkpoint: str | None, scenario: Any, ceiling: float | None = None) -> None:
    bench = {n: s["return_mean"] for n, s in summaries.items() if n not in LEARNED}
    if ceiling is not None:
        bench["hindsight bound"] = ceiling
    rows: list[dict[str, float]] = []
    curves: dict[str, list[dict[str, float]]] = {}
    if "sac" in summaries:
        from orchestrator.policies import default_checkpoint

        rows = _training_log(Path(checkpoint or default_checkpoint(scenario)).with_suffix(".json"))
    if "d2sac" in summaries:
        from orchestrator.policies.d2sac import default_d2sac_checkpoint

        curves["d2sac"] = _training_log(default_d2sac_checkpoint(scenario).with_suffix(".json"))
    if "bid_price" in summaries:  # no curve: its search plays ~200 000 steps per iteration
        bench["bid_price"] = summaries["bid_price"]["return_mean"]
    f5 = plot_fig5(folder / "fig5_training.png", rows, bench, curves=curves,
                   title=f"{name}: validation return of the learned policies during training")
    f6 = plot_fig6(folder / "fig6_policies.png", summaries, title=f"{name}: per policy",
                   bound=ceiling)
    log.info("wrote %s and %s", f5, f6)
    if not scenario.domains.single:
        f7 = plot_domains(folder / "fig_domains.png", summaries,
                          title=f"{name}: per content domain, and the match")
        log.info("wrote %s", f7)


def run_bench_sim(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    for key in ("n_envs", "repeats", "single_steps", "batch_steps"):
        if getattr(args, key) < 1:
            raise ConfigError(f"--{key.replace('_', '-')} must be >= 1")
    result = bench_sim(scenario, n_envs=args.n_envs, repeats=args.repeats,
                       single_steps=args.single_steps, batch_steps=args.batch_steps)
    print(json.dumps(result, indent=2))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
    return 0
