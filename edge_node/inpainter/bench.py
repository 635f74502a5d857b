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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aaas import ConfigError
from aaas.images import DOMAIN_IMAGES, domain_image, random_mask

from ..backends.repaint_pipeline import SAMPLERS, RepaintModel, inpaint_batch, load_repaint_model
from ..models import BUILTIN_PREFIX, builtin_path, shipped_models

__all__ = ["Case", "held_out_cases", "measure", "psnr_hole", "run_bench", "telea"]

log = logging.getLogger("aaas.edge.inpainter")

CORE_METRICS = ("dss", "haarpsi", "vif")
EXTRA_METRICS = ("tv", "brisque", "mdsi")
USER_SIZE = 64
"""The users' image side: held-out images are drawn at it, then resized like training's."""


@dataclass(frozen=True, kw_only=True)
class Case:
    """A held-out clean image and its hole."""

    clean: np.ndarray
    mask: np.ndarray
    """True where pixels are missing."""

    @property
    def damaged(self) -> np.ndarray:
        img = self.clean.copy()
        img[self.mask] = 0
        return img


def held_out_cases(domain: str, *, count: int, size: int, hole: float, seed: int) -> list[Case]:
    """*count* images of *domain* from a stream seeded by (seed, domain): never training's
    (which draws from ``default_rng(train_seed)``)."""
    from PIL import Image

    index = sorted(DOMAIN_IMAGES).index(domain)
    rng = np.random.default_rng((seed, 7919, index))
    cases = []
    for _ in range(count):
        img = domain_image(domain, rng, USER_SIZE)
        if size != USER_SIZE:
            img = np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BICUBIC))
        cases.append(Case(clean=img, mask=random_mask(rng, size, fraction=hole)))
    return cases


def psnr_hole(restored: np.ndarray, clean: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB) over the missing pixels only."""
    diff = restored[mask].astype(np.float64) - clean[mask].astype(np.float64)
    mse = float(np.mean(diff ** 2)) if diff.size else 0.0
    return 99.0 if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def _psnr(restored: np.ndarray, clean: np.ndarray) -> float:
    return psnr_hole(restored, clean, np.ones(clean.shape[:2], dtype=bool))


def measure(restored: list[np.ndarray], cases: list[Case], *,
            all_metrics: bool = False) -> list[dict[str, float]]:
    """Per image: DSS, HaarPSI, VIF and hole PSNR (+ TV, BRISQUE, MDSI, whole PSNR and
    DSS/HaarPSI of the hole's bounding box with *all_metrics*)."""
    from ..quality import evaluate

    clean = [c.clean for c in cases]
    names = CORE_METRICS + (EXTRA_METRICS if all_metrics else ())
    scores = evaluate(restored, names, references=clean)
    for s, r, c in zip(scores, restored, cases, strict=True):
        s["psnr_hole"] = psnr_hole(r, c.clean, c.mask)
        if all_metrics:
            s["psnr"] = _psnr(r, c.clean)
            ys, xs = np.nonzero(c.mask)
            box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
            crop = evaluate([np.ascontiguousarray(r[box])], ("dss", "haarpsi"),
                            references=[np.ascontiguousarray(c.clean[box])])[0]
            s["dss_hole"], s["haarpsi_hole"] = crop["dss"], crop["haarpsi"]
    return scores


def telea(case: Case, radius: int = 3) -> np.ndarray:
    """OpenCV's Telea inpainting of the case's hole (the classical reference)."""
    import cv2

    out = cv2.inpaint(case.damaged, case.mask.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
    return np.asarray(out, dtype=np.uint8)


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
                           "sampler": args.sampler or "model's own", "threads": args.threads,
                           "rows": rows}
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


def summarise(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, float]]:
    """Mean of every metric per (model, domain, steps)."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["domain"], r["steps"]), []).append(r)
    return {k: {m: float(np.mean([r[m] for r in g])) for m in g[0]
                if m not in ("model", "domain", "steps")} for k, g in groups.items()}


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
