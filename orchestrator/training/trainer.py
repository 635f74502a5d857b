"""The training loop: vectorised collection from the batch simulator into replay,
SAC updates, periodic greedy evaluation on fixed validation episodes, a CSV log
and a checkpoint of the best validated actor."""

from __future__ import annotations

import copy
import csv
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aaas import ConfigError, Scenario

from ..policies.checkpoint import save_checkpoint
from ..sim import BatchSim
from .evaluation import summarise
from .replay import ReplayBuffer
from .sac_algo import SacAlgorithm, SacParams, UpdateStats

__all__ = ["TrainConfig", "TrainResult", "greedy_eval", "train"]

log = logging.getLogger("aaas.orchestrator.train")

VALIDATION_SEED = 1_000_000
"""Validation episodes are drawn from seeds VALIDATION_SEED + k (evaluation uses others)."""

LOG_FIELDS = ("update", "env_steps", "seconds", "eval_return", "eval_crashes", "eval_utility",
              "train_return", "critic_loss", "actor_loss", "alpha", "entropy", "q_mean")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How long and how to train."""

    layout: str = "basic"
    """Observation layout (see :mod:`orchestrator.policies.features`)."""
    n_envs: int = 16
    """Episodes collected in parallel by the batch simulator."""
    updates: int = 12_000
    """Gradient updates in all."""
    updates_per_step: int = 1
    """Gradient updates per batch step (each batch step adds n_envs transitions)."""
    time_budget_s: float | None = 840.0
    """Stop earlier when this much wall time has passed."""
    learning_starts: int = 2_000
    """Transitions collected with uniform random actions before learning."""
    batch_size: int = 256
    """Replay batch size of one update."""
    buffer_size: int = 300_000
    """Replay capacity in transitions."""
    eval_every: int = 500
    """Updates between greedy evaluations."""
    eval_episodes: int = 16
    """Validation episodes per evaluation."""
    seed: int = 0
    """Seeds the simulator, replay sampling and the networks."""
    sac: SacParams = field(default_factory=SacParams)
    """The algorithm's hyperparameters."""


@dataclass(frozen=True, kw_only=True)
class TrainResult:
    """What a training run produced."""

    checkpoint: Path | None
    """The saved .pt (None when no path was given)."""
    best_return: float
    """Best mean validation return (the saved actor's)."""
    best_update: int
    """Update count at which it was reached."""
    updates: int
    """Updates done."""
    env_steps: int
    """Transitions collected."""
    seconds: float
    """Wall time."""
    log_rows: list[dict[str, float]]
    """The rows written to the CSV log."""


def greedy_eval(algo: SacAlgorithm, scenario: Scenario, layout: str, *, seed: int,
                episodes: int) -> dict[str, float]:
    """Argmax actions on episodes seed..seed+episodes-1; Table V summary."""
    sim = BatchSim(scenario, episodes, seed=seed, layout=layout, autoreset=False)
    obs, stats = sim.reset(), []
    while sim.active.any():
        res = sim.step(algo.act(obs, greedy=True))
        stats += [s for _, s in res.finished]
        obs = res.obs
    return summarise(stats)


def _check(cfg: TrainConfig) -> None:
    for name in ("n_envs", "updates", "updates_per_step", "batch_size", "eval_every",
                 "eval_episodes"):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"train: {name} must be >= 1")


def train(scenario: Scenario, cfg: TrainConfig, *, out: Path | None = None,
          log_csv: Path | None = None,
          progress: Callable[[int, dict[str, float]], None] | None = None) -> TrainResult:
    """Train discrete SAC on *scenario*; save the best validated actor to *out*."""
    _check(cfg)
    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    sim = BatchSim(scenario, cfg.n_envs, seed=cfg.seed, layout=cfg.layout)
    spec = sim.features
    algo = SacAlgorithm(spec.dim, sim.n_asps, cfg.sac, seed=cfg.seed)
    buf = ReplayBuffer(cfg.buffer_size, spec.dim)
    obs = sim.reset()
    rows: list[dict[str, float]] = []
    best = (-np.inf, 0, copy.deepcopy(algo.actor.state_dict()))
    updates = env_steps = 0
    stats: UpdateStats | None = None
    train_returns: list[float] = []
    writer, fh = _open_log(log_csv)
    try:
        while updates < cfg.updates:
            if cfg.time_budget_s is not None and time.perf_counter() - t0 > cfg.time_budget_s:
                log.info("time budget of %.0f s reached after %d updates", cfg.time_budget_s,
                         updates)
                break
            random_phase = env_steps < cfg.learning_starts
            act = (rng.integers(0, sim.n_asps, cfg.n_envs) if random_phase
                   else algo.act(obs, greedy=False))
            res = sim.step(act)
            buf.add(obs, act, res.reward, res.obs, res.done)
            train_returns += [s.ret for _, s in res.finished]
            obs = res.obs
            env_steps += cfg.n_envs
            if random_phase or buf.size < cfg.batch_size:
                continue
            for _ in range(cfg.updates_per_step):
                stats = algo.update(buf.sample(cfg.batch_size, rng))
                updates += 1
                if updates % cfg.eval_every == 0 or updates == cfg.updates:
                    row = _evaluate_row(algo, scenario, cfg, updates, env_steps, t0, stats,
                                        train_returns)
                    train_returns = []
                    rows.append(row)
                    if writer is not None:
                        writer.writerow(row)
                        fh.flush()
                    if row["eval_return"] > best[0]:
                        best = (row["eval_return"], updates, copy.deepcopy(algo.actor.state_dict()))
                    if progress is not None:
                        progress(updates, row)
                elif progress is not None and updates % 50 == 0:
                    progress(updates, {})
    finally:
        if fh is not None:
            fh.close()
    seconds = time.perf_counter() - t0
    if not rows:  # too short to evaluate: evaluate once so the checkpoint has a score
        rows.append(_evaluate_row(algo, scenario, cfg, updates, env_steps, t0, stats, []))
        best = (rows[-1]["eval_return"], updates, copy.deepcopy(algo.actor.state_dict()))
    algo.actor.load_state_dict(best[2])
    path = None
    if out is not None:
        path = save_checkpoint(out, algo.actor, _meta(scenario, spec.to_dict(), spec.dim, cfg,
                                                      best, updates, env_steps, seconds, log_csv,
                                                      out))
    return TrainResult(checkpoint=path, best_return=float(best[0]), best_update=best[1],
                       updates=updates, env_steps=env_steps, seconds=seconds, log_rows=rows)


def _open_log(path: Path | None) -> tuple[Any, Any]:
    if path is None:
        return None, None
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("w", newline="")
    writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
    writer.writeheader()
    return writer, fh


def _evaluate_row(algo: SacAlgorithm, scenario: Scenario, cfg: TrainConfig, updates: int,
                  env_steps: int, t0: float, stats: UpdateStats | None,
                  train_returns: list[float]) -> dict[str, float]:
    ev = greedy_eval(algo, scenario, cfg.layout, seed=VALIDATION_SEED, episodes=cfg.eval_episodes)
    row: dict[str, float] = {
        "update": updates, "env_steps": env_steps, "seconds": round(time.perf_counter() - t0, 2),
        "eval_return": ev["return_mean"], "eval_crashes": ev["crashes"],
        "eval_utility": ev["utility"],
        "train_return": float(np.mean(train_returns)) if train_returns else float("nan"),
    }
    if stats is not None:
        row.update(asdict(stats))
    log.debug("update %d: %s", updates, row)
    return row


def _meta(scenario: Scenario, features: dict[str, Any], dim: int, cfg: TrainConfig,
          best: tuple[float, int, Any], updates: int, env_steps: int, seconds: float,
          log_csv: Path | None, out: Path) -> dict[str, Any]:
    log_name = None
    if log_csv is not None:
        try:
            log_name = str(log_csv.resolve().relative_to(out.resolve().parent))
        except ValueError:
            log_name = str(log_csv)
    cfg_d = asdict(cfg)
    return {
        "scenario": scenario.name, "scenario_seed": scenario.seed,
        "n_asps": len(scenario.asps), "capacities": scenario.capacities.tolist(),
        "features": features, "obs_dim": dim, "arch": cfg.sac.arch,
        "hidden": list(cfg.sac.hidden),
        "train": {"config": cfg_d, "updates": updates, "env_steps": env_steps,
                  "seconds": round(seconds, 1), "best_eval_return": best[0],
                  "best_update": best[1], "validation_seed": VALIDATION_SEED},
        "log": log_name,
    }
