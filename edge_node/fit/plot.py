"""A figure like the paper's Fig. 3: the metric against the steps, with the fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aaas import RuntimeModel

from .curve import CurveFit
from .sweeps import Measurement

__all__ = ["plot_fit"]


def plot_fit(path: Path, measurements: list[Measurement], fit: CurveFit, *, metric: str,
             runtime: RuntimeModel | None = None, title: str = "") -> None:
    """Write a PNG: measured metric (mean ± std per t) and the fitted curve;
    a second panel with the runtimes and the fitted runtime model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array(sorted({m.steps for m in measurements}))
    values = [np.array([m.value for m in measurements if m.steps == t]) for t in steps]
    grid = np.linspace(0, max(float(steps.max()), fit.curve.bx) * 1.05, 300)
    panels = 2 if runtime is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
    ax = axes[0, 0]
    ax.errorbar(steps, [v.mean() for v in values], yerr=[v.std() for v in values], fmt="o",
                capsize=3, label="measured (mean ± std)")
    c = fit.curve
    ax.plot(grid, fit.metric_at(grid), "-",
            label=f"fit: Ax={c.ax:.0f}, Ay={c.ay:.2f}, Bx={c.bx:.0f}, By={c.by:.2f}")
    ax.set_xlabel("inference steps t")
    ax.set_ylabel(f"{metric} ({'higher' if fit.rising else 'lower'} is better)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if runtime is not None:
        rx = axes[0, 1]
        rts = [np.mean([m.runtime_s for m in measurements if m.steps == t]) for t in steps]
        rx.plot(steps, rts, "o", label="measured")
        r = runtime
        rx.plot(grid, r.many(grid), "-",
                label=f"fit: ({r.a:.3g}t² + {r.b:.3g}t + {r.c:.3g})·{r.unit_s:g}")
        rx.set_xlabel("inference steps t")
        rx.set_ylabel("runtime (emulated s)")
        rx.legend(fontsize=8)
        rx.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
