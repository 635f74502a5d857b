"""Subcommands ``train``, ``evaluate`` and ``bench sim`` (torch is imported only when run)."""

from __future__ import annotations

import argparse
import os

from testbed.options import Subparsers, add_scenario

__all__ = ["register"]


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``train``, ``evaluate`` and ``bench`` to the ``aaas`` parser."""
    _register_train(sub)
    _register_evaluate(sub)
    bench = sub.add_parser("bench", help="benchmarks of the project's parts")
    bsub = bench.add_subparsers(dest="bench", metavar="WHAT", required=True)
    sim = bsub.add_parser("sim", help="simulator steps per second (single and batch), as JSON")
    add_scenario(sim)
    sim.add_argument("--n-envs", type=int, default=4096, help="batch size (default: 4096)")
    sim.add_argument("--repeats", type=int, default=5, help="runs per figure (default: 5)")
    sim.add_argument("--single-steps", type=int, default=50_000,
                     help="steps per single-env run (default: 50000)")
    sim.add_argument("--batch-steps", type=int, default=100,
                     help="batch steps per batch run (default: 100)")
    sim.add_argument("--json", default=None, metavar="PATH",
                     help="also write the figures as JSON (they are printed in any case)")
    sim.set_defaults(run=_run_bench_sim)
    from .bench_live import register_live
    from .inpainter import register_bench

    register_live(bsub)
    register_bench(bsub)


def _threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=int(os.environ.get("AAAS_TORCH_THREADS", "1")),
                   help="torch CPU threads (default: 1; small networks gain nothing from more, "
                   "and on a shared 2-core machine 2 threads contend; env AAAS_TORCH_THREADS)")


def _register_train(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train a learned policy (SAC, D2SAC or the bid prices) "
                       "in the batch simulator")
    add_scenario(p)
    p.add_argument("--algo", choices=("sac", "d2sac", "bid_price"), default="sac",
                   help="sac: discrete SAC; d2sac: SAC with the diffusion actor; bid_price: "
                   "the cross-entropy search of the bid-price policy (default: sac)")
    p.add_argument("--out", default=None, metavar="PATH.pt",
                   help="checkpoint (weights; metadata goes to PATH.json; bid_price writes "
                   "only PATH.json) (default: runs/<algo>-<scenario>.pt)")
    p.add_argument("--log", default=None, metavar="CSV",
                   help="training log (default: the checkpoint path with .csv)")
    p.add_argument("--updates", type=int, default=None,
                   help="gradient updates; bid_price: search iterations (default: config)")
    p.add_argument("--time-budget", type=float, default=840.0, metavar="S",
                   help="stop after this many wall seconds (default: 840)")
    p.add_argument("--n-envs", type=int, default=None, help="parallel episodes (default: config)")
    p.add_argument("--layout", default=None,
                   help="observation layout: basic | slack | quality (sac, d2sac)")
    p.add_argument("--gamma", type=float, default=None,
                   help="discount factor (sac, d2sac; default: 0.9)")
    p.add_argument("--eval-every", type=int, default=None, help="updates between evaluations")
    p.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    _threads(p)
    p.set_defaults(run=_run_train)


def _register_evaluate(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("evaluate", help="compare policies on the same simulated episodes "
                       "(the paper's Table V)")
    from orchestrator.policies import OPT_IN, POLICIES  # light: torch only when sac is built

    add_scenario(p)
    p.add_argument("--policies", default=None, metavar="NAME[,NAME...]",
                   help="comma-separated (default: every registered policy but the slow "
                   f"{','.join(sorted(OPT_IN))}: "
                   f"{','.join(n for n in POLICIES.names() if n not in OPT_IN)})")
    p.add_argument("--episodes", type=int, default=20, help="episodes (default: 20)")
    p.add_argument("--seed", type=int, default=10_000,
                   help="episode k is drawn from seed+k (default: 10000)")
    p.add_argument("--checkpoint", default=None, metavar="PATH.pt",
                   help="weights for the policies that have some (sac; default: the shipped "
                   "checkpoint for the scenario)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    p.add_argument("--plots", default=None, metavar="DIR",
                   help="write fig5_training.png and fig6_policies.png here")
    p.add_argument("--bound-time-limit", type=float, default=0.0, metavar="S",
                   help="the hindsight bound (aaas bound) on the same episodes: 0 solves its LP "
                   "relaxation (about a second per episode), S > 0 the integer program for up "
                   "to S seconds per episode (default: 0)")
    p.add_argument("--no-bound", action="store_true",
                   help="skip the hindsight bound (no share-of-bound column)")
    _threads(p)
    p.set_defaults(run=_run_evaluate)


def _run_train(args: argparse.Namespace) -> int:
    from .train_run import run_train

    return run_train(args)


def _run_evaluate(args: argparse.Namespace) -> int:
    from .train_run import run_evaluate

    return run_evaluate(args)


def _run_bench_sim(args: argparse.Namespace) -> int:
    from .train_run import run_bench_sim

    return run_bench_sim(args)
