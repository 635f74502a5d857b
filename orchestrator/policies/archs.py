"""Every network architecture of the learned policies, built by name (torch).

Importing this module imports the in-repo architecture modules, :mod:`.nets` and
:mod:`.d2sac_net`, and with that registers their architectures in
:data:`~orchestrator.policies.net_registry.ARCHS`; a new architecture module is
added to the import below.
"""

from __future__ import annotations

from torch import nn

from . import d2sac_net, nets  # noqa: F401 - importing them registers their architectures
from .net_registry import ARCHS

__all__ = ["ARCHS", "build_net", "critic_arch"]


def build_net(arch: str, obs_dim: int, n_asps: int, hidden: tuple[int, ...]) -> nn.Module:
    """An actor or critic: obs (B, obs_dim) → one value per ASP (B, n_asps).

    ConfigError for an unknown *arch* (naming the known ones) or an observation
    layout it cannot read."""
    return ARCHS.get(arch).build(obs_dim, n_asps, hidden)


def critic_arch(arch: str) -> str:
    """The architecture of the critics that train the actor *arch* (``residual`` and
    ``diffusion`` are actors only: theirs are ``per_asp``)."""
    return ARCHS.get(arch).critic or arch
