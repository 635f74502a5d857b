"""A learned bid-price policy: the prophet's choice corrected by learned capacity prices.

The prophet (``upper_bound``) is myopic: it gives every task the best ASP that
has room, even when the task gains almost nothing there over the next-best one
and the capacity it holds would have served a later task much better. This
policy scores ASP i for a task of t steps as

    score_i = q_i(t) − exp(μ_i) · g · (t / t_max) · (runtime(t) / runtime(t_max)) · u_i²

among the ASPs with room (any ASP when none has room, like the prophet), where
u_i = 1 − (free_i − t)/C_i is the share of ASP i in use after placing the task.
The price of taking an ASP grows with the capacity·time the task holds and with
how full the ASP would be; μ_i (one per ASP: how scarce its capacity is) and g
are learned from simulated episodes (:mod:`orchestrator.training.bid_price`).
With g = 0 it is exactly the prophet.

Every number comes from the versioned ``quality`` observation layout
(:class:`~orchestrator.policies.FeatureSpec`, version 2), so it runs live unchanged.
Pure numpy: no torch needed.

A checkpoint is one JSON file: format, scenario, features, ``theta`` (μ_1..μ_M, g)
and how it was trained.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aaas import ConfigError, CrashRule, Scenario

from .base import Observation, Policy
from .features import FeatureSpec
from .registry import POLICIES

__all__ = ["FORMAT", "BidPricePolicy", "bid_price_scores", "default_bid_price_checkpoint"]

log = logging.getLogger("aaas.orchestrator.bid_price")

FORMAT = "aaas-bid-price/1"

# Block indices in the ``quality`` layout (see orchestrator.policies.features).
_CAP, _SLACK, _Q = 0, 2, 3


def bid_price_scores(x_BD: npt.NDArray[np.float32], theta: npt.ArrayLike,
                     n_asps: int) -> npt.NDArray[np.float64]:
    """Scores (B, M) from ``quality`` features (B, D); ASPs without room get −inf
    while any ASP of the row has room."""
    th = np.asarray(theta, dtype=np.float64)
    m = n_asps
    x = np.asarray(x_BD, dtype=np.float64)
    cap, slack, q = (x[:, k * m:(k + 1) * m] for k in (_CAP, _SLACK, _Q))
    steps, runtime = x[:, -2:-1], x[:, -1:]
    used_after = 1.0 - slack / np.maximum(cap, 1e-9)
    price = np.exp(th[:m])[None, :] * th[m] * steps * runtime * used_after**2
    score = q - price
    fits = slack >= 0
    ok = fits | ~fits.any(axis=1, keepdims=True)
    out: npt.NDArray[np.float64] = np.where(ok, score, -np.inf)
    return out


def default_bid_price_checkpoint(scenario: Scenario) -> Path:
    """``orchestrator/checkpoints/<name>-bid_price.json``."""
    return (Path(__file__).resolve().parent.parent / "checkpoints"
            / f"{scenario.name}-bid_price.json")


class BidPricePolicy(Policy):
    """Argmax of :func:`bid_price_scores` over the online ASPs."""

    name = "bid_price"

    def __init__(self, features: FeatureSpec, theta: npt.ArrayLike,
                 meta: dict[str, Any] | None = None) -> None:
        if features.layout != "quality":
            raise ConfigError("bid_price needs the 'quality' observation layout")
        self.features = features
        self.theta = np.asarray(theta, dtype=np.float64)
        if self.theta.shape != (features.n_asps + 1,):
            raise ConfigError(f"bid_price: theta must have {features.n_asps + 1} numbers")
        self.meta = meta or {}

    @classmethod
    def load(cls, path: str | Path, scenario: Scenario) -> BidPricePolicy:
        p = Path(path)
        try:
            meta = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"bid_price checkpoint {p}: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ConfigError(f"{p}: not an {FORMAT} checkpoint")
        try:
            spec = FeatureSpec.from_dict(meta["features"])
            theta = [float(v) for v in meta["theta"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"bid_price checkpoint {p}: bad metadata ({exc})") from None
        if spec.n_asps != len(scenario.asps):
            raise ConfigError(f"bid_price checkpoint {p} was trained for {spec.n_asps} ASPs, "
                              f"scenario {scenario.name!r} has {len(scenario.asps)}")
        if meta.get("scenario") != scenario.name:
            log.warning("bid_price checkpoint %s was trained on scenario %r, not %r; its "
                        "prices may not fit", p, meta.get("scenario"), scenario.name)
        # the curves are the scenario's (the truth live), the learned prices the checkpoint's
        here = FeatureSpec.for_scenario(scenario, "quality")
        spec = type(spec).from_dict({**spec.to_dict(), "curves": here.to_dict()["curves"]})
        return cls(spec, theta, meta)

    def select(self, obs: Observation) -> int:
        cand = obs.candidates()
        fits = cand[~CrashRule.crashes(obs.free_M[cand], obs.steps)]
        if fits.size == 0:  # the prophet's fallback: the most free online ASP
            return int(cand[np.argmax(obs.free_M[cand])])
        x = self.features.build(obs.capacity_M, obs.free_M, obs.steps, obs.runtime_s,
                                obs.domain)
        score = bid_price_scores(x[None, :], self.theta, self.features.n_asps)[0]
        return int(fits[np.argmax(score[fits])])


@POLICIES.register("bid_price")
def _bid_price(scenario: Scenario, *, rng: np.random.Generator,
               checkpoint: Path | None) -> Policy:
    """The learned bid prices from *checkpoint*, by default the ones shipped for the scenario.

    ``--checkpoint`` is shared by the policies with weights; a ``.json`` that is
    not a bid-price checkpoint falls back to the shipped one."""
    path = default_bid_price_checkpoint(scenario)
    if checkpoint is not None and checkpoint.suffix == ".json":
        try:
            if json.loads(checkpoint.read_text()).get("format") == FORMAT:
                path = checkpoint
        except (OSError, json.JSONDecodeError, AttributeError):
            pass
    return BidPricePolicy.load(path, scenario)
