"""D2SAC (the companion paper's diffusion actor with SAC's critics) as a :class:`Policy`.

The actor is :class:`~orchestrator.policies.d2sac_net.DiffusionActor`, trained by
``aaas train --algo d2sac``; its checkpoint has the SAC format with
``arch = "diffusion"``, so loading, the checks against the scenario and the
greedy choice (on the actor's noise-free path) are :class:`SacPolicy`'s.
Importing this module is light; torch is imported when a checkpoint loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from aaas import ConfigError, Scenario

from .base import Policy
from .registry import POLICIES
from .sac import SacPolicy

__all__ = ["D2sacPolicy", "default_d2sac_checkpoint"]


def default_d2sac_checkpoint(scenario: Scenario) -> Path:
    """``orchestrator/checkpoints/<name>-d2sac.pt``."""
    return Path(__file__).resolve().parent.parent / "checkpoints" / f"{scenario.name}-d2sac.pt"


class D2sacPolicy(SacPolicy):
    """Argmax of the diffusion actor's logits (noise-free reverse chain)."""

    name = "d2sac"


def _is_diffusion(path: Path) -> bool:
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(meta, dict) and meta.get("arch") == "diffusion"


@POLICIES.register("d2sac")
def _d2sac(scenario: Scenario, *, rng: np.random.Generator, checkpoint: Path | None) -> Policy:
    """The D2SAC actor from *checkpoint* when that is a D2SAC checkpoint (``--checkpoint``
    is shared with sac), else the one shipped for the scenario."""
    path = checkpoint if checkpoint is not None and _is_diffusion(checkpoint) \
        else default_d2sac_checkpoint(scenario)
    try:
        return D2sacPolicy.load(path, scenario)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"policy 'd2sac' needs {exc.name}, not installed here: "
                          "pip install 'aaas-edge-emulator[orchestrator]'") from None
