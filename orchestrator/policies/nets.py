"""The layers of the learned policies' networks (torch; imported only when one is built).

``mlp`` (a plain ReLU MLP), ``PerAspNet`` (one small MLP shared by the ASPs) and
``ResidualNet`` (``PerAspNet`` as a correction to the prophet); this module
registers the architectures made of them, ``per_asp``, ``mlp`` and ``residual``,
in :data:`~orchestrator.policies.net_registry.ARCHS`.
"""

from __future__ import annotations

import torch
from torch import nn

from aaas import ConfigError

from .net_registry import per_asp_inputs, register_arch

__all__ = ["MASKED_LOGIT", "PerAspNet", "ResidualNet", "mlp"]

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


# The architectures (signature: net_registry.NetBuilder), in the order of the old ARCHS tuple.


@register_arch("per_asp")
def _per_asp(obs_dim: int, n_asps: int, hidden: tuple[int, ...]) -> nn.Module:
    return PerAspNet(n_asps, per_asp_inputs("per_asp", obs_dim, n_asps), hidden)


@register_arch("mlp")
def _mlp(obs_dim: int, n_asps: int, hidden: tuple[int, ...]) -> nn.Module:
    return mlp(obs_dim, hidden, n_asps)


@register_arch("residual", critic="per_asp")
def _residual(obs_dim: int, n_asps: int, hidden: tuple[int, ...]) -> nn.Module:
    per_asp = per_asp_inputs("residual", obs_dim, n_asps)
    if per_asp != 7:
        raise ConfigError("the residual network needs the 'quality' observation layout")
    return ResidualNet(n_asps, per_asp, hidden)
