"""Learning the bid prices of :mod:`orchestrator.policies.bid_price` by the cross-entropy method.

The policy has M + 1 numbers (a log-price μ_i per ASP and a global scale g), so
a derivative-free search over whole episodes fits it directly on the return,
without a critic whose noise is larger than the small margins at stake (see
docs/policies.md: SAC's critics could not resolve them). Each iteration draws a
population of θ from a diagonal Gaussian, plays every θ on the same 16
training episodes in the batch simulator (common random numbers), refits the
Gaussian to the elite and validates the mean on the fixed validation episodes
(the same seeds as SAC's); the best validated θ is kept, starting from g = 0,
which *is* the prophet, so the result never validates below it. The cross-entropy
method is a few lines of numpy; a library (e.g. nevergrad) would add a
dependency for no gain here.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aaas import ConfigError, Scenario

from ..policies.bid_price import FORMAT, bid_price_scores
from ..sim import BatchSim
from .trainer import VALIDATION_SEED

__all__ = ["BidPriceConfig", "BidPriceResult", "bid_price_actions", "play", "train_bid_price"]

TRAIN_SEED = 2_000_000
"""Training episodes come from seeds TRAIN_SEED + 1000·iteration + k."""

LOG_FIELDS = ("update", "env_steps", "seconds", "eval_return", "eval_crashes", "eval_utility",
              "train_return", "g")


@dataclass(frozen=True, kw_only=True)
class BidPriceConfig:
    """The cross-entropy search."""

    iterations: int = 100
    """CEM iterations (each plays population + 1 batches of episodes)."""
    population: int = 12
    """Candidates per iteration."""
    elite: int = 4
    """Best candidates the Gaussian is refitted to."""
    episodes: int = 16
    """Training episodes per candidate (the same for all candidates of an iteration)."""
    eval_episodes: int = 16
    """Validation episodes."""
    init_g: float = 0.02
    """Mean of g at the start (g = 0 is the prophet)."""
    init_std_mu: float = 0.5
    """Initial spread of the log-prices."""
    init_std_g: float = 0.02
    """Initial spread of g."""
    min_std_mu: float = 0.05
    """Spread added after each refit, so the search does not collapse."""
    min_std_g: float = 0.002
    """The same for g."""
    time_budget_s: float | None = 840.0
    """Stop earlier when this much wall time has passed."""
    seed: int = 0
    """Seeds the candidates."""


@dataclass(frozen=True, kw_only=True)
class BidPriceResult:
    """What a search produced."""

    checkpoint: Path | None
    theta: list[float]
    best_return: float
    best_update: int
    updates: int
    env_steps: int
    seconds: float
    log_rows: list[dict[str, float]]


def bid_price_actions(x_BD: npt.NDArray[np.float32], free_BM: npt.NDArray[np.int64],
                      steps_B: npt.NDArray[np.int64], theta: npt.ArrayLike) -> np.ndarray:
    """The policy's ASP per row (batch form of ``BidPricePolicy.select``, all ASPs online)."""
    m = free_BM.shape[1]
    score = bid_price_scores(x_BD, theta, m)
    any_fits = (free_BM >= steps_B[:, None]).any(axis=1)
    return np.where(any_fits, score.argmax(1), free_BM.argmax(1))


def play(scenario: Scenario, theta: npt.ArrayLike, *, seed: int,
         episodes: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Returns and crashes of episodes seed..seed+episodes−1 and the steps played."""
    sim = BatchSim(scenario, episodes, seed=seed, layout="quality", autoreset=False)
    obs = sim.reset()
    ret, crashes, steps = np.zeros(episodes), np.zeros(episodes), 0
    while sim.active.any():
        steps += int(sim.active.sum())
        res = sim.step(bid_price_actions(obs, sim.free, sim.current_steps(), theta))
        for j, st in res.finished:
            ret[j], crashes[j] = st.ret, st.crashes
        obs = res.obs
    return ret, crashes, steps


def train_bid_price(scenario: Scenario, cfg: BidPriceConfig, *, out: Path | None = None,
                    log_csv: Path | None = None,
                    progress: Callable[[int, dict[str, float]], None] | None = None,
                    ) -> BidPriceResult:
    """Search θ; save the best validated one to *out* (a ``.json``)."""
    if min(cfg.iterations, cfg.population, cfg.elite, cfg.episodes, cfg.eval_episodes) < 1 \
            or cfg.elite > cfg.population:
        raise ConfigError("bid_price: iterations, population, episodes must be >= 1 and "
                          "1 <= elite <= population")
    t0 = time.perf_counter()
    m = len(scenario.asps)
    rng = np.random.default_rng(cfg.seed)
    mean = np.r_[np.zeros(m), cfg.init_g]
    std = np.r_[np.full(m, cfg.init_std_mu), cfg.init_std_g]
    floor = np.r_[np.full(m, cfg.min_std_mu), cfg.min_std_g]
    prophet = np.r_[np.zeros(m), 0.0]
    ret, _, _ = play(scenario, prophet, seed=VALIDATION_SEED, episodes=cfg.eval_episodes)
    best = (float(ret.mean()), 0, prophet.copy())
    rows: list[dict[str, float]] = []
    env_steps = 0
    fh = None
    writer = None
    if log_csv is not None:
        log_csv.parent.mkdir(parents=True, exist_ok=True)
        fh = log_csv.open("w", newline="")
        writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
        writer.writeheader()
    it = 0
    try:
        for it in range(1, cfg.iterations + 1):
            if cfg.time_budget_s is not None and time.perf_counter() - t0 > cfg.time_budget_s:
                it -= 1
                break
            pop = mean + std * rng.standard_normal((cfg.population, m + 1))
            pop[:, m] = np.abs(pop[:, m])
            seed = TRAIN_SEED + 1000 * it
            scores = []
            for theta in pop:
                r, _, n = play(scenario, theta, seed=seed, episodes=cfg.episodes)
                scores.append(r.mean())
                env_steps += n
            order = np.argsort(-np.asarray(scores))
            elite = pop[order[: cfg.elite]]
            mean, std = elite.mean(0), elite.std(0) + floor
            ret, cr, _ = play(scenario, mean, seed=VALIDATION_SEED, episodes=cfg.eval_episodes)
            row = {"update": it, "env_steps": env_steps,
                   "seconds": round(time.perf_counter() - t0, 2),
                   "eval_return": float(ret.mean()), "eval_crashes": float(cr.mean()),
                   "eval_utility": float("nan"), "train_return": float(np.mean(scores)),
                   "g": float(mean[m])}
            rows.append(row)
            if writer is not None and fh is not None:
                writer.writerow(row)
                fh.flush()
            if row["eval_return"] > best[0] and cr.sum() == 0:
                best = (row["eval_return"], it, mean.copy())
            if progress is not None:
                progress(it, row)
    finally:
        if fh is not None:
            fh.close()
    seconds = time.perf_counter() - t0
    path = None
    if out is not None:
        path = _save(out, scenario, cfg, best, it, env_steps, seconds, log_csv)
    return BidPriceResult(checkpoint=path, theta=[float(v) for v in best[2]],
                          best_return=best[0], best_update=best[1], updates=it,
                          env_steps=env_steps, seconds=seconds, log_rows=rows)


def _save(out: Path, scenario: Scenario, cfg: BidPriceConfig, best: tuple[float, int, Any],
          iterations: int, env_steps: int, seconds: float, log_csv: Path | None) -> Path:
    from ..policies.features import FeatureSpec

    path = out.with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    log_name = None
    if log_csv is not None:
        try:
            log_name = str(log_csv.resolve().relative_to(path.resolve().parent))
        except ValueError:
            log_name = str(log_csv)
    meta = {
        "format": FORMAT, "scenario": scenario.name, "scenario_seed": scenario.seed,
        "n_asps": len(scenario.asps), "capacities": scenario.capacities.tolist(),
        "features": FeatureSpec.for_scenario(scenario, "quality").to_dict(),
        "theta": [float(v) for v in best[2]],
        "train": {"algo": "bid_price (cross-entropy method)", "config": asdict(cfg),
                  "iterations": iterations, "env_steps": env_steps,
                  "seconds": round(seconds, 1), "best_eval_return": best[0],
                  "best_update": best[1], "validation_seed": VALIDATION_SEED},
        "log": log_name,
    }
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return path
