"""The checkpoint format of the torch policies (``sac``, ``d2sac``): reading and writing it.

A checkpoint is two files side by side: ``NAME.pt`` holds the actor's weights
(a plain state dict, loadable with ``weights_only=True``) and ``NAME.json``
its metadata: scenario, observation layout (:class:`FeatureSpec`), network
architecture (``arch``, a name of :data:`~orchestrator.policies.net_registry.ARCHS`)
and sizes, versions and how it was trained.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aaas import ConfigError

__all__ = ["FORMAT", "load_checkpoint", "save_checkpoint", "versions"]

FORMAT = "aaas-sac/1"


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        aaas_version = version("aaas-edge-emulator")
    except PackageNotFoundError:
        aaas_version = "unknown"
    return {"aaas": aaas_version, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def _paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix == ".json":
        p = p.with_suffix(".pt")
    return p, p.with_suffix(".json")


def save_checkpoint(path: str | Path, actor: nn.Module, meta: dict[str, Any]) -> Path:
    """Write ``path`` (.pt weights) and its ``.json`` metadata; returns the .pt path."""
    pt, js = _paths(path)
    pt.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu().clone() for k, v in actor.state_dict().items()}, pt)
    js.write_text(json.dumps({"format": FORMAT, **meta, "versions": versions()}, indent=2) + "\n")
    return pt


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The actor's state dict and the metadata; ConfigError when missing or foreign."""
    pt, js = _paths(path)
    if not pt.is_file() or not js.is_file():
        raise ConfigError(f"SAC checkpoint {pt} needs both {pt.name} and {js.name}")
    try:
        meta = json.loads(js.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{js}: not valid JSON: {exc}") from None
    if meta.get("format") != FORMAT:
        raise ConfigError(f"{js}: not an {FORMAT} checkpoint (format {meta.get('format')!r})")
    state = torch.load(pt, map_location="cpu", weights_only=True)
    return state, meta
