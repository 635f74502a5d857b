"""``aaas report``: PNG plots of a finished run and a one-page HTML summary."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import numpy as np

from aaas import Outcome

from .report_data import RunData

__all__ = ["write_report"]

log = logging.getLogger("aaas.report")

COLORS: dict[str, str] = {
    Outcome.FINISHED: "tab:green", Outcome.CRASHED: "tab:red", Outcome.REJECTED: "tab:orange",
    Outcome.ERROR: "tab:purple", Outcome.UNDELIVERABLE: "tab:brown", Outcome.LOST: "tab:gray"}


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(8, 4), dpi=100)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def plot_outcomes(d: RunData, path: Path) -> Path:
    fig, ax = _figure()
    for outcome, (t, n) in sorted(d.outcomes.items()):
        ax.step(t, n, where="post", label=outcome, color=COLORS.get(outcome))
    ax.set(xlabel=d.time_axis, ylabel="tasks (cumulative)", title="Outcomes over time")
    ax.legend(loc="upper left")
    return _save(fig, path)


def plot_latency(d: RunData, path: Path) -> Path:
    fig, ax = _figure()
    e, c = d.latency_edges, d.latency_counts
    if c.size:
        ax.bar(e[:-1], c, width=np.diff(e), align="edge", color="tab:blue", edgecolor="white")
        mid = (e[:-1] + e[1:]) / 2
        cum = np.cumsum(c) / max(c.sum(), 1)
        for q in (0.5, 0.95):
            x = float(mid[min(np.searchsorted(cum, q), mid.size - 1)])
            ax.axvline(x, ls="--", color="black")
            ax.annotate(f"p{int(q * 100)} ≈ {x:,.0f} s", (x, c.max() * (0.9 if q < 0.9 else 0.7)))
    ax.set(xlabel="end-to-end latency (emulated s)", ylabel="finished tasks",
           title="Latency distribution")
    return _save(fig, path)


def plot_load(d: RunData, path: Path) -> Path:
    fig, ax = _figure()
    if d.load.size:
        t = d.load_hours
        im = ax.imshow(d.load, aspect="auto", interpolation="nearest", cmap="viridis",
                       extent=(float(t[0]), float(t[-1]), len(d.load_nodes) - 0.5, -0.5))
        ax.set_yticks(range(len(d.load_nodes)), d.load_nodes, fontsize=6)
        fig.colorbar(im, ax=ax, label=d.load_label)
    ax.set(xlabel=d.time_axis, title="Load per node")
    return _save(fig, path)


def plot_bandwidth(d: RunData, path: Path) -> Path:
    fig, ax = _figure()
    for name, (t, b) in sorted(d.bandwidth.items()):
        ax.plot(t, b / 1e6, label=name)
    ax.set(xlabel=d.time_axis, ylabel="MB (cumulative)", title="Bandwidth")
    if d.bandwidth:
        ax.legend(loc="upper left")
    return _save(fig, path)


SAMPLE_ROWS = 8
"""The restorations figure shows at most this many results, those of real backends first."""


def plot_restorations(d: RunData, path: Path) -> Path:
    """A grid of received results: original, damaged, restored, labelled by node,
    backend and model (real diffusion restorations first)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(d.samples, key=lambda r: r.get("backend") == "modeled")[:SAMPLE_ROWS]
    fig, axes = plt.subplots(len(rows), 3, figsize=(6, 2 * len(rows)), dpi=100, squeeze=False)
    for ax_row, r in zip(axes, rows, strict=True):
        for ax, key in zip(ax_row, ("original", "damaged", "restored"), strict=True):
            if r.get(key):
                ax.imshow(_png(r[key]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        ax_row[0].set_ylabel(f"{r.get('node_id')}\n{r.get('domain')}, t={r.get('steps')}",
                             fontsize=8)
        model = f" {r['model']}" if r.get("model") else ""
        ax_row[2].set_title(f"{r.get('backend')}{model}", fontsize=8)
    for ax, name in zip(axes[0], ("original", "damaged", "restored"), strict=True):
        ax.set_title(name if ax is not axes[0][2] else f"restored: {ax.get_title()}", fontsize=8)
    fig.suptitle("Results the users received")
    return _save(fig, path)


def _png(b64: str) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"))


PLOTS = {"outcomes.png": plot_outcomes, "latency.png": plot_latency, "load.png": plot_load,
         "bandwidth.png": plot_bandwidth}


def _html(d: RunData, images: list[Path]) -> str:
    rows = "\n".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>"
                     for k, v in d.summary.items())
    figs = "\n".join(f'<img src="{p.name}" alt="{p.stem}">' for p in images)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>AaaS run report</title>
<style>body{{font-family:sans-serif;margin:1em}} table{{border-collapse:collapse;float:left;
margin-right:1em}} td{{border-bottom:1px solid #ddd;padding:2px 8px;font-size:13px}}
img{{width:48%;min-width:400px}}</style></head>
<body><h1>AaaS run report</h1><p>Source: {html.escape(d.source)}</p>
<table>{rows}</table>
<div>{figs}</div></body></html>
"""


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    return "–" if v is None else str(v)


def write_report(d: RunData, out: Path) -> list[Path]:
    """Write the PNG plots and ``report.html`` into *out*; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    images = [plot(d, out / name) for name, plot in PLOTS.items()]
    if d.samples:
        images.append(plot_restorations(d, out / "restorations.png"))
    page = out / "report.html"
    page.write_text(_html(d, images))
    log.info("report written to %s", page)
    return [*images, page]
