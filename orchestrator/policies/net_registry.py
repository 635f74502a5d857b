"""The network architectures of the learned policies, by name (a registry; no torch).

An architecture module registers what it defines next to its code, with
:func:`register_arch` (:mod:`.nets`: ``per_asp``, ``mlp``, ``residual``;
:mod:`.d2sac_net`: ``diffusion``), with the architecture of its critics, so no
if-chain elsewhere names it. Build one with
:func:`orchestrator.policies.archs.build_net`, which imports the in-repo
architecture modules first (the one place that lists them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aaas import ConfigError
from aaas.registry import Registry

if TYPE_CHECKING:
    from torch import nn

__all__ = ["ARCHS", "Arch", "NetBuilder", "per_asp_inputs", "register_arch"]


class NetBuilder(Protocol):
    """``build(obs_dim, n_asps, hidden)``: a network obs (B, obs_dim) → (B, n_asps).

    Raise :class:`aaas.ConfigError` for an observation layout it cannot read."""

    def __call__(self, obs_dim: int, n_asps: int, hidden: tuple[int, ...]) -> nn.Module: ...


@dataclass(frozen=True)
class Arch:
    """One registered architecture."""

    build: NetBuilder
    critic: str | None = None
    """The architecture of its twin critics in SAC training; None: its own. An
    actor-only architecture (``residual``, ``diffusion``) names one."""


ARCHS: Registry[Arch] = Registry("network architecture")


def register_arch(name: str, *, critic: str | None = None) -> Callable[[NetBuilder], NetBuilder]:
    """Decorator: register *build* as the architecture *name* (a checkpoint's ``arch``)."""

    def decorate(build: NetBuilder) -> NetBuilder:
        ARCHS.add(name, Arch(build, critic))
        return build

    return decorate


def per_asp_inputs(arch: str, obs_dim: int, n_asps: int) -> int:
    """k, the numbers per ASP of a flat observation of k·M + 2 inputs (ConfigError if not)."""
    per_asp, rest = divmod(obs_dim - 2, n_asps)
    if rest:
        raise ConfigError(f"{arch} network: {obs_dim} inputs are not k·{n_asps} + 2")
    return per_asp
