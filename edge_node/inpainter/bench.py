"""``aaas bench inpaint``: the shipped models against OpenCV Telea and a random UNet.

Every domain's held-out images (drawn at the users' 64 px, resized to ``--size`` as the
training images are, from a seed stream training never uses) are inpainted by every
shipped model, by Telea (steps 0) and by a random-weight UNet of the shipped shape, at
each step count. Images of one (model, domain, steps) point run as one RePaint batch
with the same per-image seeds for every model; ``seconds`` is the batch's wall time per
image. Full-reference metrics are against the clean image; ``psnr_hole`` counts the
missing pixels only.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from aaas import ConfigError
from aaas.images import DOMAIN_IMAGES

from ..backends.repaint_pipeline import SAMPLERS, RepaintModel, inpaint_batch, load_repaint_model
from ..models import BUILTIN_PREFIX, builtin_path, shipped_models
from .heldout import Case, held_out_cases, measure, summarise, telea

__all__ = ["random_model", "run_bench"]

log = logging.getLogger("aaas.edge.inpainter")

def random_model(folder: Path, like: str) -> str:
    """A random-weight UNet of *like*'s shape, with its scheduler and sampler, in *folder*."""
    import shutil

    import torch
    from diffusers import UNet2DModel

    src = builtin_path(like) if like.startswith(BUILTIN_PREFIX) else Path(like)
    torch.manual_seed(0)
    config = UNet2DModel.load_config(src / "unet")
    UNet2DModel.from_config(config).save_pretrained(folder / "unet")
    shutil.copytree(src / "scheduler", folder / "scheduler")
    if (src / "sampler.json").is_file():
        shutil.copy(src / "sampler.json", folder / "sampler.json")
    return str(folder)


def _row(model: str, domain: str, steps: int, score: dict[str, float],
         seconds: float) -> dict[str, Any]:
    return {"model": model, "domain": domain, "steps": steps,
            **{k: round(v, 5) for k, v in score.items()}, "seconds": round(seconds, 4)}


def _sweep_model(name: str, m: RepaintModel, cases: dict[str, list[Case]], steps: list[int],
                 args: argparse.Namespace) -> list[dict[str, Any]]:
    sampler = SAMPLERS[args.sampler] if args.sampler else m.sampler
    rows = []
    for domain, dcases in cases.items():
        for t in steps:
            start = time.perf_counter()
            restored = inpaint_batch(m, [c.damaged for c in dcases], [c.mask for c in dcases],
                                     steps=t, seeds=list(range(len(dcases))), eta=sampler.eta,
                                     jump_length=sampler.jump_length,
                                     jump_n_sample=sampler.jump_n_sample)
            seconds = (time.perf_counter() - start) / len(dcases)
            scores = measure(restored, dcases, all_metrics=args.all_metrics)
            rows += [_row(name, domain, t, s, seconds) for s in scores]
            log.info("%s on %s at %d steps: DSS %.3f, hole PSNR %.1f dB", name, domain, t,
                     np.mean([s["dss"] for s in scores]),
                     np.mean([s["psnr_hole"] for s in scores]))
    return rows


def _telea_rows(cases: dict[str, list[Case]], all_metrics: bool) -> list[dict[str, Any]]:
    rows = []
    for domain, dcases in cases.items():
        start = time.perf_counter()
        restored = [telea(c) for c in dcases]
        seconds = (time.perf_counter() - start) / len(dcases)
        rows += [_row("telea", domain, 0, s, seconds)
                 for s in measure(restored, dcases, all_metrics=all_metrics)]
    return rows


def _choose(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    shipped = shipped_models()
    if not shipped:
        raise ConfigError("no shipped models found (the package data is missing)")
    models = [*shipped, "telea", "random"] if args.models is None else [
        m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in ("telea", "random"):
            builtin_path(m)  # a clear error for an unknown name
    domains = ([m.removeprefix(BUILTIN_PREFIX) for m in shipped] if args.domains is None
               else [d.strip() for d in args.domains.split(",") if d.strip()])
    unknown = [d for d in domains if d not in DOMAIN_IMAGES]
    if unknown:
        raise ConfigError(f"unknown domain(s) {unknown}; known: {sorted(DOMAIN_IMAGES)}")
    return models, domains


def run_bench(args: argparse.Namespace) -> int:
    import torch

    if args.threads < 1 or args.images < 1:
        raise ConfigError("--threads and --images must be >= 1")
    torch.set_num_threads(args.threads)
    if args.redraw is not None:
        return _redraw(args)
    models, domains = _choose(args)
    cases = {d: held_out_cases(d, count=args.images, size=args.size, hole=args.hole,
                               seed=args.seed) for d in domains}
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in models:
            if name == "telea":
                rows += _telea_rows(cases, args.all_metrics)
                continue
            source = random_model(Path(tmp) / "random", shipped_models()[0]) \
                if name == "random" else name
            rows += _sweep_model(name, load_repaint_model(source, device="cpu"), cases,
                                 args.steps, args)
    out: dict[str, Any] = {"size": args.size, "images": args.images, "hole": args.hole,
                           "seed": args.seed, "sampler": args.sampler or "model's own",
                           "threads": args.threads, "rows": rows}
    if not args.no_throughput:
        from .throughput import throughput

        out["throughput"] = throughput(shipped_models()[0], batches=(1, 4, 16))
    _print_summary(rows, out.get("throughput"))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    if args.figures is not None:
        from .figures import draw_figures

        draw_figures(out, args.figures, cases)
    return 0


def _print_summary(rows: list[dict[str, Any]], tp: dict[str, Any] | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="bench inpaint: means per point")
    for col in ("model", "domain", "steps", "dss", "haarpsi", "vif", "psnr_hole", "seconds"):
        table.add_column(col, justify="right")
    for (model, domain, steps), s in summarise(rows).items():
        table.add_row(model, domain, str(steps), *(f"{s[m]:.3f}" for m in
                                                   ("dss", "haarpsi", "vif", "psnr_hole",
                                                    "seconds")))
    console = Console()
    console.print(table)
    if tp is not None:
        for b, v in tp["unet_calls_per_s"].items():
            console.print(f"batch {b}: {v:.1f} UNet calls/s, "
                          f"{tp['tasks_per_s'][b]:.3f} RePaint tasks/s "
                          f"({tp['task_steps']} steps, {tp['sampler']})")


def _redraw(args: argparse.Namespace) -> int:
    """Merge earlier outputs' rows and draw the figures (and write the merged JSON)."""
    if args.figures is None:
        raise ConfigError("--redraw needs --figures DIR")
    parts = []
    for name in args.redraw.split(","):
        try:
            parts.append(json.loads(Path(name).read_text()))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read bench output {name}: {exc}") from None
    first = parts[0]
    keys = ("size", "images", "hole", "seed", "sampler")
    if any(tuple(p.get(k) for k in keys) != tuple(first.get(k) for k in keys) for p in parts):
        raise ConfigError(f"--redraw: the outputs differ in {keys}: not the same images")
    out = {**first, "rows": [r for p in parts for r in p["rows"]]}
    out.update({k: p[k] for p in parts for k in ("throughput",) if k in p})
    domains = sorted({r["domain"] for r in out["rows"]})
    cases = {d: held_out_cases(d, count=out["images"], size=out["size"], hole=out["hole"],
                               seed=out["seed"]) for d in domains}
    _print_summary(out["rows"], out.get("throughput"))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    from .figures import draw_figures

    draw_figures(out, args.figures, cases)
    return 0
