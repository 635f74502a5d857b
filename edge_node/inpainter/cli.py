"""What ``aaas train-inpainter`` and ``aaas bench inpaint`` do once parsed."""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys

from aaas import ConfigError

from .train import TrainConfig, train_inpainter

__all__ = ["bench", "train"]

log = logging.getLogger("aaas.edge.inpainter")


def _channels(text: str) -> tuple[int, ...]:
    try:
        channels = tuple(int(c) for c in text.split(","))
    except ValueError:
        raise ConfigError(f"--channels must be comma-separated integers, got {text!r}") from None
    if not channels or min(channels) < 8:
        raise ConfigError("--channels must be integers >= 8")
    return channels


def train(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    if args.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {args.threads}")
    cfg = TrainConfig(domain=args.domain, out=args.out, size=args.size,
                      time_budget_s=args.time_budget, max_steps=args.max_steps,
                      batch_size=args.batch_size, lr=args.lr, channels=_channels(args.channels),
                      schedule=args.schedule, device=args.device, seed=args.seed,
                      resume=not args.fresh, threads=args.threads,
                      extra={"command": " ".join(["aaas", *sys.argv[1:]]),
                             "machine": f"{platform.machine()} {platform.processor()}".strip(),
                             "python": platform.python_version()})
    columns = (TextColumn(f"train {args.domain}"), BarColumn(),
               TextColumn("loss {task.fields[loss]:.4f}"), TimeRemainingColumn())
    with Progress(*columns, disable=args.no_progress) as bar:
        task = bar.add_task("train", total=args.time_budget, loss=float("nan"))
        result = train_inpainter(cfg, on_progress=lambda done, loss: bar.update(
            task, completed=done, loss=loss))
    print(json.dumps({"out": str(result.out), "steps": result.steps,
                      "wall_s": round(result.wall_s, 1), "cpu_s": round(result.cpu_s, 1),
                      "loss": round(result.loss, 5)}))
    return 0


def bench(args: argparse.Namespace) -> int:
    import diffusers  # noqa: F401  # first, so a light install is told of 'edge', not torch's other extra

    from .bench import run_bench

    return run_bench(args)
