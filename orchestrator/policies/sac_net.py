"""The SAC networks and the checkpoint format (torch; imported only for ``sac``).

A checkpoint is two files side by side: ``NAME.pt`` holds the actor's weights
(a plain state dict, loadable with ``weights_only=True``) and ``NAME.json``
its metadata: scenario, observation layout (:class:`FeatureSpec`), network
sizes, versions and how it was trained.
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

__all__ = ["ARCHS", "FORMAT", "PerAspNet", "build_net", "load_checkpoint", "mlp", "save_checkpoint"]

FORMAT = "aaas-sac/1"
ARCHS = ("per_asp", "mlp", "residual", "diffusion")

MASKED_LOGIT = -1e4
"""The logit of an ASP the ``residual`` actor rules out (finite, so 0·log π stays 0)."""


def mlp(n_in: int, hidden: tuple[int, ...], n_out: int) -> nn.Sequential:
    """ReLU MLP: n_in → hidden… → n_out."""
    layers: list[nn.Module] = []
    last = n_in
    for h in hidden:
        layers += [nn.Linear(last, h), nn.ReLU()]
        last = h
    layers.append(nn.Linear(last, n_out))
    return nn.Sequential(*layers)


class PerAspNet(nn.Module):
    """One small MLP shared by every ASP, scoring ASP i from its own features.

    The input is the flat observation (per-ASP blocks of M numbers, then the
    task's steps and runtime). For ASP i the shared MLP sees its k numbers,
    their mean over all ASPs (the global load), the task's two numbers and a
    learned embedding of i (which stands for its unknown quality curve), and
    outputs one value: a logit for the actor, a Q value for a critic. Sharing
    the weights means every transition teaches the crash rule for all ASPs.
    """

    def __init__(self, n_asps: int, per_asp: int, hidden: tuple[int, ...], emb: int = 16) -> None:
        super().__init__()
        self.n_asps, self.per_asp = n_asps, per_asp
        self.embedding = nn.Parameter(torch.randn(n_asps, emb) * 0.1)
        self.body = mlp(2 * per_asp + 2 + emb, hidden, 1)

    def forward(self, x_BD: torch.Tensor) -> torch.Tensor:
        b, m, k = x_BD.shape[0], self.n_asps, self.per_asp
        own_BMK = x_BD[:, : k * m].reshape(b, k, m).transpose(1, 2)
        mean_BMK = own_BMK.mean(1, keepdim=True).expand(b, m, k)
        task_BM2 = x_BD[:, k * m:].unsqueeze(1).expand(b, m, 2)
        emb_BME = self.embedding.unsqueeze(0).expand(b, m, -1)
        z = torch.cat([own_BMK, mean_BMK, task_BM2, emb_BME], dim=2)
        out_BM: torch.Tensor = self.body(z).squeeze(2)
        return out_BM


class ResidualNet(PerAspNet):
    """The ``per_asp`` scorer as a correction to the prophet (``quality`` layout only).

    logit_i = (q_i(t) − max_{j with room} q_j(t)) / ``prophet_temp`` + MLP_i, and
    ASPs without room for the task get :data:`MASKED_LOGIT` while any ASP has
    room (invalid-action masking, as in MaskablePPO). The MLP's last layer starts
    at zero, so the untrained actor's argmax *is* the prophet's choice; training
    only has to learn where leaving the best ASP for later tasks pays (a
    non-myopic correction), not to rediscover the crash rule and the curves.
    """

    SLACK, SHORTFALL = 2, 4
    """Block indices of (free − t)/C and q_i(t) − best_fit in the ``quality`` layout."""

    def __init__(self, n_asps: int, per_asp: int, hidden: tuple[int, ...], emb: int = 16,
                 prophet_temp: float = 0.01) -> None:
        super().__init__(n_asps, per_asp, hidden, emb)
        self.prophet_temp = prophet_temp
        last = self.body[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, x_BD: torch.Tensor) -> torch.Tensor:
        m = self.n_asps
        slack_BM = x_BD[:, self.SLACK * m:(self.SLACK + 1) * m]
        short_BM = x_BD[:, self.SHORTFALL * m:(self.SHORTFALL + 1) * m]
        logits_BM = short_BM / self.prophet_temp + super().forward(x_BD)
        fits_BM = slack_BM >= 0
        mask_BM = fits_BM | ~fits_BM.any(1, keepdim=True)
        return torch.where(mask_BM, logits_BM, torch.full_like(logits_BM, MASKED_LOGIT))


def build_net(arch: str, obs_dim: int, n_asps: int, hidden: tuple[int, ...]) -> nn.Module:
    """An actor or critic: obs (B, obs_dim) → one value per ASP (B, n_asps).

    ``residual`` and ``diffusion`` are actors only (their critics are ``per_asp``)."""
    if arch == "mlp":
        return mlp(obs_dim, hidden, n_asps)
    if arch in ("per_asp", "residual", "diffusion"):
        per_asp, rest = divmod(obs_dim - 2, n_asps)
        if rest:
            raise ConfigError(f"{arch} network: {obs_dim} inputs are not k·{n_asps} + 2")
        if arch == "residual":
            if per_asp != 7:
                raise ConfigError("the residual network needs the 'quality' observation layout")
            return ResidualNet(n_asps, per_asp, hidden)
        if arch == "diffusion":
            from .d2sac_net import DiffusionActor  # D2SAC's actor (a cycle otherwise)

            return DiffusionActor(n_asps, per_asp, hidden)
        return PerAspNet(n_asps, per_asp, hidden)
    raise ConfigError(f"unknown network architecture {arch!r}; choose one of {ARCHS}")


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
