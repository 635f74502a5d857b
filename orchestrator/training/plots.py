"""The paper's Fig. 5 (reward vs training) and Fig. 6 (crashes, reward per finished task)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

__all__ = ["plot_fig5", "plot_fig6", "read_log"]


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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_fig6(path: Path, summaries: dict[str, dict[str, float]], *, title: str) -> Path:
    """Per policy: crashed tasks per episode, and mean reward per finished task."""
    plt = _pyplot()
    names = list(summaries)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.8))
    colors = [f"C{k}" for k in range(len(names))]
    a1.bar(names, [summaries[n]["crashed_tasks"] for n in names], color=colors)
    a1.set_ylabel("crashed tasks per episode")
    a2.bar(names, [summaries[n]["reward_per_finished"] for n in names], color=colors)
    a2.set_ylabel("return per finished task")
    for ax in (a1, a2):
        ax.tick_params(axis="x", rotation=30)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
