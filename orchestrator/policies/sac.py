"""The trained discrete SAC actor as a :class:`Policy` (inference only).

Training lives in :mod:`orchestrator.training`; this module only loads a
checkpoint and picks the most probable ASP (argmax, deterministic). The
network input is built from the :class:`Observation` alone, so the same
policy runs in the simulator and in the live orchestrator. Offline ASPs are
never chosen while any ASP is online.

Importing this module is light (it registers ``sac`` in the policy registry);
torch is imported when a checkpoint is loaded.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aaas import ConfigError, Scenario

from .base import Observation, Policy
from .features import FeatureSpec
from .registry import POLICIES

if TYPE_CHECKING:
    import torch

__all__ = ["SacPolicy", "default_checkpoint"]

log = logging.getLogger("aaas.orchestrator.sac")


def default_checkpoint(scenario: Scenario) -> Path:
    """The shipped checkpoint for a scenario: ``orchestrator/checkpoints/<name>.pt``."""
    return Path(__file__).resolve().parent.parent / "checkpoints" / f"{scenario.name}.pt"


class SacPolicy(Policy):
    """Argmax of the SAC actor's action probabilities."""

    name = "sac"

    def __init__(self, actor: torch.nn.Module, features: FeatureSpec,
                 meta: dict[str, Any] | None = None) -> None:
        self.actor = actor.eval()
        self.features = features
        self.meta = meta or {}

    @classmethod
    def load(cls, path: str | Path, scenario: Scenario) -> SacPolicy:
        """Load a checkpoint and check that it fits *scenario*'s ASPs."""
        from .archs import build_net  # torch: only for sac
        from .checkpoint import load_checkpoint

        state, meta = load_checkpoint(path)
        try:
            spec = FeatureSpec.from_dict(meta["features"])
            hidden = tuple(int(h) for h in meta["hidden"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"SAC checkpoint {path}: bad metadata ({exc})") from None
        m = len(scenario.asps)
        if spec.n_asps != m:
            raise ConfigError(f"SAC checkpoint {path} was trained for {spec.n_asps} ASPs, "
                              f"scenario {scenario.name!r} has {m}")
        expected = FeatureSpec.for_scenario(scenario, spec.layout)
        if spec.dim != expected.dim or meta.get("obs_dim") != spec.dim:
            raise ConfigError(f"SAC checkpoint {path}: observation layout {spec.layout!r} "
                              f"({meta.get('obs_dim')} inputs) does not match scenario "
                              f"{scenario.name!r} ({expected.dim} inputs)")
        if meta.get("scenario") != scenario.name or meta.get("capacities") != \
                scenario.capacities.tolist():
            log.warning("SAC checkpoint %s was trained on scenario %r, not %r with these "
                        "capacities; its choices may be poor", path, meta.get("scenario"),
                        scenario.name)
        try:
            actor = build_net(str(meta.get("arch", "mlp")), spec.dim, m, hidden)
            actor.load_state_dict(state)
        except RuntimeError as exc:
            raise ConfigError(f"SAC checkpoint {path}: weights do not fit the metadata: {exc}") \
                from None
        return cls(actor, spec, meta)

    def select(self, obs: Observation) -> int:
        import torch  # loaded by then (load built the actor); a dict lookup per call

        x = self.features.build(obs.capacity_M, obs.free_M, obs.steps, obs.runtime_s,
                                obs.domain)
        with torch.inference_mode():
            logits = self.actor(torch.from_numpy(x).unsqueeze(0))[0].numpy()
        if obs.online_M.any() and not obs.online_M.all():
            logits = np.where(obs.online_M, logits, -np.inf)
        return int(np.argmax(logits))


@POLICIES.register("sac")
def _sac(scenario: Scenario, *, rng: np.random.Generator, checkpoint: Path | None) -> Policy:
    """The SAC actor from *checkpoint*, by default the one shipped for the scenario."""
    try:
        return SacPolicy.load(checkpoint or default_checkpoint(scenario), scenario)
    except ModuleNotFoundError as exc:  # a light install: one line, not a traceback
        raise ConfigError(f"policy 'sac' needs {exc.name}, not installed here: "
                          "pip install 'aaas-edge-emulator[orchestrator]'") from None
