"""What ``aaas inpaint``, ``aaas quality`` and ``aaas fit-quality`` do (heavy imports)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from aaas import ConfigError, EmulatedClock

log = logging.getLogger("aaas.edge.tools")


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise ConfigError(f"cannot read image {path}: {exc}") from None


def _read_mask(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        return np.asarray(Image.open(path).convert("L"), dtype=np.uint8) > 127
    except (OSError, UnidentifiedImageError) as exc:
        raise ConfigError(f"cannot read mask {path}: {exc}") from None


def _table(title: str, rows: dict[str, Any]) -> None:
    table = Table(title=title)
    table.add_column("")
    table.add_column("value", justify="right")
    for k, v in rows.items():
        table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    Console().print(table)


def _write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")


def _backend(args: argparse.Namespace, *, scale: float, metrics: tuple[str, ...]) -> Any:
    from .backends.repaint import load_repaint_backend

    return load_repaint_backend(model=args.model, clock=EmulatedClock(scale=scale),
                                device=args.device, dtype=args.dtype,
                                jump_length=args.jump_length, jump_n_sample=args.jump_n_sample,
                                eta=args.eta, sampler=args.sampler,
                                rng=np.random.default_rng(args.seed),
                                metrics=metrics, threads=args.threads)


def inpaint(args: argparse.Namespace) -> int:
    from PIL import Image

    from .backends.base import InpaintJob
    from .quality import parse_metrics

    if args.list_models:
        from .models import shipped_models

        for name in shipped_models():
            print(name)
        return 0
    missing = [f"--{k}" for k in ("model", "image", "mask", "steps", "out")
               if getattr(args, k) is None]
    if missing:
        raise ConfigError(f"aaas inpaint needs {', '.join(missing)} (or --list-models)")
    image, mask = _read_image(args.image), _read_mask(args.mask)
    if mask.shape != image.shape[:2]:
        raise ConfigError(f"mask is {mask.shape[1]}×{mask.shape[0]}, "
                          f"image {image.shape[1]}×{image.shape[0]}")
    if args.steps < 1:
        raise ConfigError("--steps must be >= 1")
    names = () if args.metrics == "none" else parse_metrics(args.metrics, have_reference=False)
    backend = _backend(args, scale=1.0, metrics=names)

    async def go() -> Any:
        try:
            return await backend.run(InpaintJob(task_id="cli", steps=args.steps, image=image,
                                                mask=mask))
        finally:
            await backend.aclose()

    out = asyncio.run(go())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(out.image).save(args.out)
    info = {"model": args.model, "device": backend.model.device, "steps": args.steps,
            "unet_calls": backend.unet_calls(args.steps), "runtime_s": out.runtime_s,
            "missing_fraction": float(mask.mean()), "metrics": out.metrics,
            "out": str(args.out)}
    _write_json(args.json, info)
    _table(f"inpaint → {args.out}", {k: v for k, v in info.items() if k != "metrics"}
           | out.metrics)
    return 0


def quality(args: argparse.Namespace) -> int:
    from .quality import evaluate, parse_metrics

    image = _read_image(args.image)
    ref = None if args.reference is None else _read_image(args.reference)
    if ref is not None and ref.shape != image.shape:
        raise ConfigError(f"reference is {ref.shape}, image {image.shape}: they must match")
    names = parse_metrics(args.metrics, have_reference=ref is not None)
    scores = evaluate([image], names, references=None if ref is None else [ref])[0]
    _write_json(args.json, {"image": str(args.image),
                            "reference": None if ref is None else str(args.reference),
                            "metrics": scores})
    _table(f"quality of {args.image}", scores)
    return 0


def _range(spec: str | None, metric: str, values: np.ndarray,
           steps: np.ndarray) -> tuple[float, float]:
    from .quality import METRICS

    m = METRICS[metric]
    if spec is None:
        return m.typical_range
    if spec == "data":
        means = [values[steps == t].mean() for t in np.unique(steps)]
        lo, hi = float(min(means)), float(max(means))
        return (lo, hi) if m.higher_is_better else (hi, lo)
    try:
        worst, best = (float(v) for v in spec.split(","))
    except ValueError:
        raise ConfigError(f"--range must be WORST,BEST or 'data', got {spec!r}") from None
    return worst, best


def fit_quality(args: argparse.Namespace) -> int:
    from .fit import fit_quality_curve, fit_runtime, generated_cases, load_cases, sweep
    from .fit.plot import plot_fit
    from .quality import METRICS

    if args.metric not in METRICS:
        raise ConfigError(f"unknown metric {args.metric!r} (known: {sorted(METRICS)})")
    rng = np.random.default_rng(args.seed)
    cases = (load_cases(args.images, rng, hole=args.hole) if args.images is not None
             else generated_cases(rng, count=args.count, size=args.size, hole=args.hole,
                                  domain=args.domain))
    backend = _backend(args, scale=args.time_scale, metrics=())

    async def go() -> Any:
        try:
            return await sweep(backend, cases, args.steps, args.metric)
        finally:
            await backend.aclose()

    ms = asyncio.run(go())
    steps = np.array([m.steps for m in ms])
    values = np.array([m.value for m in ms])
    worst, best = _range(args.range, args.metric, values, steps)
    fit = fit_quality_curve(steps, values, worst=worst, best=best)
    runtime = fit_runtime(steps, [m.runtime_s for m in ms], unit_s=args.unit_s)
    _write_outputs(args, ms, fit, runtime, backend)
    plot_fit(args.out_dir / "fit.png", ms, fit, metric=args.metric, runtime=runtime,
             title=f"{args.model}: {args.metric} vs steps")
    _table(f"fit-quality ({args.metric}) → {args.out_dir}",
           fit.override() | {"rmse": fit.rmse, "runtime a": runtime.a, "runtime b": runtime.b,
                             "runtime c": runtime.c})
    return 0


def _write_outputs(args: argparse.Namespace, ms: list[Any], fit: Any, runtime: Any,
                   backend: Any) -> None:
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    override = {"index": args.index, **fit.override(), "backend": "repaint", "model": args.model}
    _write_json(out / "asp_override.json", override)
    _write_json(out / "runtime.json", {"a": runtime.a, "b": runtime.b, "c": runtime.c,
                                       "unit_s": runtime.unit_s})
    _write_json(out / "fit.json", {
        "metric": args.metric, "worst": fit.worst, "best": fit.best, "rmse": fit.rmse,
        "device": backend.model.device, "time_scale": args.time_scale,
        "eta": backend.eta, "jump_length": backend.jump_length,
        "jump_n_sample": backend.jump_n_sample,
        "unet_calls": {str(t): backend.unet_calls(t) for t in args.steps},
        "measurements": [{"case": m.case, "steps": m.steps, "value": m.value,
                          "runtime_s": m.runtime_s} for m in ms],
    })
