"""The paper's Fig. 3 and Fig. 2E, measured, and the fitted quality curves as a file.

From ``aaas bench inpaint``'s rows: per shipped model, every metric against the steps on
its own domain (with Telea and the random UNet as references, and the fitted clamped
line); the model × domain matrix at each model's best step count with example
restorations; and ``quality_curves.json``, the (Ax, Ay, Bx, By) of every metric per
model, ready for a scenario's ``[[asps.override]]``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..backends.repaint_pipeline import SAMPLERS, inpaint_batch, load_repaint_model
from ..fit import fit_quality_curve
from ..models import BUILTIN_PREFIX
from .heldout import Case, summarise, telea

__all__ = ["draw_figures", "fit_curves"]

log = logging.getLogger("aaas.edge.inpainter")

# (metric, label, worst, best): the paper's six, then PSNR; the range maps to score 0…1.
PANELS = (("tv", "TV ↓", 0.3, 0.0), ("brisque", "BRISQUE ↓ (32 px: not meaningful)", 100.0, 0.0),
          ("dss", "DSS ↑", 0.0, 1.0), ("haarpsi", "HaarPSI ↑", 0.0, 1.0),
          ("mdsi", "MDSI ↓", 0.6, 0.0), ("vif", "VIF ↑", 0.0, 1.0),
          ("psnr", "PSNR whole (dB) ↑", 5.0, 40.0), ("psnr_hole", "PSNR hole (dB) ↑", 5.0, 40.0),
          ("haarpsi_hole", "HaarPSI hole box ↑", 0.0, 1.0))


def _own(model: str) -> str:
    return model.removeprefix(BUILTIN_PREFIX)


def fit_curves(out: dict[str, Any]) -> dict[str, Any]:
    """(Ax, Ay, Bx, By) and rmse of every metric of every shipped model, on its own domain."""
    rows = out["rows"]
    curves: dict[str, Any] = {}
    for model in sorted({r["model"] for r in rows if r["model"].startswith(BUILTIN_PREFIX)}):
        mine = [r for r in rows if r["model"] == model and r["domain"] == _own(model)]
        if not mine:
            continue
        per: dict[str, Any] = {}
        for metric, _, worst, best in PANELS:
            if metric not in mine[0]:
                continue
            fit = fit_quality_curve([r["steps"] for r in mine], [r[metric] for r in mine],
                                    worst=worst, best=best)
            per[metric] = {**fit.override(), "worst": worst, "best": best,
                           "rmse": round(fit.rmse, 4)}
        curves[model] = {"domain": _own(model), "sampler": out["sampler"],
                         "size": out["size"], "images": out["images"], "metrics": per,
                         "override": {**{k: per["dss"][k] for k in ("ax", "ay", "bx", "by")},
                                      "backend": "repaint", "model": model}}
    return curves


def draw_figures(out: dict[str, Any], folder: Path, cases: dict[str, list[Case]]) -> None:
    """Write fig3-<domain>.png, fig2e.png, fig2e.json and quality_curves.json to *folder*."""
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(parents=True, exist_ok=True)
    curves = fit_curves(out)
    (folder / "quality_curves.json").write_text(json.dumps(curves, indent=1) + "\n")
    means = summarise(out["rows"])
    for model, info in curves.items():
        _fig3(folder / f"fig3-{info['domain']}.png", model, info, means)
    matrix = _matrix(means)
    (folder / "fig2e.json").write_text(json.dumps(matrix, indent=1) + "\n")
    _fig2e(folder / "fig2e.png", matrix, cases)


def _series(means: dict[tuple[str, str, int], dict[str, float]], model: str, domain: str,
            metric: str) -> tuple[list[int], list[float]]:
    pts = sorted((t, v[metric]) for (m, d, t), v in means.items()
                 if m == model and d == domain and metric in v)
    return [p[0] for p in pts], [p[1] for p in pts]


def _fig3(path: Path, model: str, info: dict[str, Any],
          means: dict[tuple[str, str, int], dict[str, float]]) -> None:
    import matplotlib.pyplot as plt

    from ..fit.curve import clamped_linear

    domain = info["domain"]
    panels = [p for p in PANELS if p[0] in info["metrics"]]
    cols = 5 if len(panels) > 6 else 3
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False)
    for ax, (metric, label, worst, best) in zip(axes.flat, panels, strict=False):
        steps, values = _series(means, model, domain, metric)
        ax.plot(steps, values, "o-", label=model)
        rs, rv = _series(means, "random", domain, metric)
        if rs:
            ax.plot(rs, rv, "s--", color="grey", label="random UNet")
        _, tv = _series(means, "telea", domain, metric)
        if tv:
            ax.axhline(tv[0], color="tab:red", ls=":", label="Telea")
        c = info["metrics"][metric]
        grid = np.linspace(min(steps), max(steps), 200)
        ax.plot(grid, worst + clamped_linear(grid, c["ax"], c["ay"], c["bx"], c["by"])
                * (best - worst), "-", color="tab:green", alpha=0.6, label="fit")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{model} on {domain} held-out images ({info['images']} per point, "
                 f"{info['size']} px): metric vs RePaint steps")
    fig.supxlabel("inference steps t")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _matrix(means: dict[tuple[str, str, int], dict[str, float]]) -> dict[str, Any]:
    """Each model on each domain at the model's best step count (by DSS on its own domain)."""
    models = sorted({m for m, _, _ in means if m.startswith(BUILTIN_PREFIX)})
    domains = sorted({d for _, d, _ in means})
    best = {}
    for m in models:
        own = {t: v["dss"] for (mm, d, t), v in means.items() if mm == m and d == _own(m)}
        best[m] = max(own, key=lambda t: own[t]) if own else max(
            t for mm, _, t in means if mm == m)
    cells = {f"{m} @ {d}": {k: round(v, 4) for k, v in means[(m, d, best[m])].items()}
             for m in models for d in domains if (m, d, best[m]) in means}
    for d in domains:
        if ("telea", d, 0) in means:
            cells[f"telea @ {d}"] = {k: round(v, 4) for k, v in means[("telea", d, 0)].items()}
    return {"best_steps": best, "cells": cells}


def _fig2e(path: Path, matrix: dict[str, Any], cases: dict[str, list[Case]],
           examples: int = 2) -> None:
    """Rows: per domain, *examples* images: original, damaged, each model's restoration
    at its best step count, Telea."""
    import matplotlib.pyplot as plt

    best = matrix["best_steps"]
    models = sorted(best)
    columns = ["original", "damaged", *models, "telea"]
    restored: dict[tuple[str, str], list[np.ndarray]] = {}
    for m in models:
        loaded = load_repaint_model(m, device="cpu")
        s = loaded.sampler if loaded.sampler != SAMPLERS["ddim"] else SAMPLERS["plateau"]
        for d, dcases in cases.items():
            sub = dcases[:examples]
            restored[(m, d)] = inpaint_batch(loaded, [c.damaged for c in sub],
                                             [c.mask for c in sub], steps=best[m],
                                             seeds=list(range(len(sub))), eta=s.eta,
                                             jump_length=s.jump_length,
                                             jump_n_sample=s.jump_n_sample)
    lines = [(d, k) for d in cases for k in range(min(examples, len(cases[d])))]
    fig, axes = plt.subplots(len(lines), len(columns),
                             figsize=(1.6 * len(columns), 1.7 * len(lines)), squeeze=False)
    for row, (d, k) in enumerate(lines):
        c = cases[d][k]
        pictures = [c.clean, c.damaged, *(restored[(m, d)][k] for m in models), telea(c)]
        for col, pic in enumerate(pictures):
            ax = axes[row, col]
            ax.imshow(pic, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(columns[col] + (f"\n@{best[columns[col]]}" if columns[col] in best
                                             else ""), fontsize=8)
            if col == 0:
                ax.set_ylabel(d, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
