"""The paper's Fig. 5 (reward vs training) and Fig. 6 (crashes, reward per finished task)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

__all__ = ["plot_domains", "plot_fig5", "plot_fig6", "read_log"]


def read_log(path: Path) -> list[dict[str, float]]:
    """Rows of a training CSV log, as floats."""
    with path.open() as fh:
        return [{k: float(v) if v not in ("", "nan") else float("nan") for k, v in row.items()}
                for row in csv.DictReader(fh)]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path, title: str | None = None) -> Path:
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_fig5(path: Path, log_rows: list[dict[str, float]], benchmarks: dict[str, float],
              *, title: str, curves: dict[str, list[dict[str, float]]] | None = None) -> Path:
    """SAC's validation return against environment steps (and other learned policies'
    from *curves*, name → log rows); benchmarks as lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if log_rows:
        x = [r["env_steps"] for r in log_rows]
        ax.plot(x, [r["eval_return"] for r in log_rows], color="C3", lw=2, label="sac (ours)")
    for k, (name, rows) in enumerate((curves or {}).items()):
        if rows:
            ax.plot([r["env_steps"] for r in rows], [r["eval_return"] for r in rows],
                    color=f"C{8 + k}", lw=2, label=name)
    for k, (name, value) in enumerate(sorted(benchmarks.items(), key=lambda kv: -kv[1])):
        ax.axhline(value, ls="--", color=f"C{k}", lw=1.2, label=f"{name} ({value:.0f})")
    ax.set_xlabel("environment steps (tasks placed) in training")
    ax.set_ylabel("return per episode")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(plt, fig, path)


def plot_fig6(path: Path, summaries: dict[str, dict[str, float]], *, title: str,
              bound: float | None = None) -> Path:
    """Per policy: crashed tasks per episode, and mean reward per finished task; with the
    hindsight *bound* (mean return), a third panel: each return as a share of the bound
    and of ``upper_bound``'s."""
    plt = _pyplot()
    names = list(summaries)
    panels = 3 if bound else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 3.8))
    a1, a2 = axes[0], axes[1]
    colors = [f"C{k}" for k in range(len(names))]
    a1.bar(names, [summaries[n]["crashed_tasks"] for n in names], color=colors)
    a1.set_ylabel("crashed tasks per episode")
    a2.bar(names, [summaries[n]["reward_per_finished"] for n in names], color=colors)
    a2.set_ylabel("return per finished task")
    if bound:
        _shares_panel(axes[2], names, summaries, bound)
    for ax in axes:
        ax.tick_params(axis="x", rotation=30)
        ax.grid(axis="y", alpha=0.3)
    return _save(plt, fig, path, title)


def _shares_panel(ax: Any, names: list[str], summaries: dict[str, dict[str, float]],
                  bound: float) -> None:
    import numpy as np

    x = np.arange(len(names))
    ret = np.array([summaries[n]["return_mean"] for n in names])
    ax.bar(x - 0.2, 100 * ret / bound, width=0.4, color="C3", label="% of hindsight bound")
    prophet = summaries.get("upper_bound", {}).get("return_mean")
    if prophet:
        ax.bar(x + 0.2, 100 * ret / prophet, width=0.4, color="C7", label="% of upper_bound")
    ax.axhline(100, color="k", lw=0.8)
    ax.set_xticks(x, names)
    ax.set_ylim(min(0.0, float((100 * ret / bound).min()) - 5), 110)
    ax.set_ylabel(f"% of return (bound {bound:.0f})")
    ax.legend(fontsize=7, loc="lower right")


def plot_domains(path: Path, summaries: dict[str, dict[str, Any]], *, title: str) -> Path:
    """Per policy and content domain: the return, the finished quality per task, and the
    match (the share of the domain's tasks placed on a specialist of that domain)."""
    import numpy as np

    plt = _pyplot()
    names = [n for n in summaries if "domains" in summaries[n]]
    domains = list(summaries[names[0]]["domains"]) if names else []
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    x = np.arange(len(names))
    width = 0.8 / max(len(domains), 1)
    panels = (("ret", "return per episode"), ("quality_per_task", "quality per task"),
              ("match_share", "share placed on its specialists"))
    for ax, (key, label) in zip(axes, panels, strict=True):
        for k, d in enumerate(domains):
            ax.bar(x + (k - (len(domains) - 1) / 2) * width,
                   [summaries[n]["domains"][d][key] for n in names], width=width,
                   color=f"C{k}", label=d)
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[2].set_ylim(0, 1)
    axes[0].legend(fontsize=8, title="domain")
    return _save(plt, fig, path, title)
