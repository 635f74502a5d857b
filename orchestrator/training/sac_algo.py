"""Discrete Soft Actor-Critic (Christodoulou 2019, arXiv 1910.07207).

The Algorithm owns the actor, the twin critics and their target copies, the
optimisers and the temperature; :meth:`SacAlgorithm.update` does one gradient
step on a replay batch and returns typed stats. The critic target is the exact
expectation over the actor's action probabilities with the min of the twin
target critics, as in CleanRL's ``sac_atari.py``. Inference is
:class:`orchestrator.policies.SacPolicy`, which needs only the actor.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as fn

from ..policies.archs import build_net, critic_arch

__all__ = ["SacAlgorithm", "SacParams", "UpdateStats"]


@dataclass(frozen=True, kw_only=True)
class SacParams:
    """Hyperparameters of discrete SAC."""

    arch: str = "per_asp"
    """Actor network: ``per_asp`` (one MLP shared by the ASPs), ``mlp`` (plain, flat),
    ``residual`` (``per_asp`` as a correction to the prophet) or ``diffusion`` (D2SAC's
    denoising actor); the critics of the last two are ``per_asp``."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the actor and of each critic."""
    gamma: float = 0.9
    """Discount factor."""
    tau: float = 0.01
    """Soft update rate of the target critics."""
    actor_lr: float = 3e-4
    """Adam learning rate of the actor."""
    critic_lr: float = 1e-3
    """Adam learning rate of the critics."""
    alpha: float = 0.05
    """Initial (or fixed) entropy temperature."""
    autotune: bool = True
    """Tune alpha towards the target entropy."""
    alpha_lr: float = 3e-4
    """Adam learning rate of log alpha."""
    target_entropy_ratio: float = 0.1
    """Target entropy as a fraction of the maximum, log(M)."""
    reward_scale: float = 1.0
    """Rewards are multiplied by this before learning."""


@dataclass(frozen=True, kw_only=True)
class UpdateStats:
    """Scalars of one update, under stable names for the CSV log."""

    critic_loss: float
    """Mean of the two critics' MSE."""
    actor_loss: float
    """E_π[α log π − min Q]."""
    alpha: float
    """The temperature after the update."""
    entropy: float
    """Mean entropy of the actor on the batch."""
    q_mean: float
    """Mean of min(Q1, Q2) of the taken actions."""


class SacAlgorithm:
    """Actor, twin critics, targets, optimisers, temperature."""

    def __init__(self, obs_dim: int, n_actions: int, params: SacParams, *, seed: int) -> None:
        torch.manual_seed(seed)
        self.params = params
        self.actor = build_net(params.arch, obs_dim, n_actions, params.hidden)
        critic = critic_arch(params.arch)
        self.q1 = build_net(critic, obs_dim, n_actions, params.hidden)
        self.q2 = build_net(critic, obs_dim, n_actions, params.hidden)
        self.q1_target = copy.deepcopy(self.q1).requires_grad_(False)
        self.q2_target = copy.deepcopy(self.q2).requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=params.actor_lr)
        self.critic_opt = torch.optim.Adam([*self.q1.parameters(), *self.q2.parameters()],
                                           lr=params.critic_lr)
        self.log_alpha = torch.tensor(math.log(params.alpha), requires_grad=True)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=params.alpha_lr)
        self.target_entropy = params.target_entropy_ratio * math.log(n_actions)
        self._gen = torch.Generator().manual_seed(seed)

    @property
    def alpha(self) -> float:
        return float(self.log_alpha.detach().exp())

    def act(self, obs_BD: np.ndarray, *, greedy: bool) -> np.ndarray:
        """Actions for a batch of observations: sampled, or the argmax."""
        with torch.no_grad():
            if greedy:  # eval(): the diffusion actor follows its noise-free path
                self.actor.eval()
                try:
                    logits_BA = self.actor(torch.from_numpy(obs_BD))
                finally:
                    self.actor.train()
                return np.asarray(logits_BA.argmax(1).numpy())
            logits_BA = self.actor(torch.from_numpy(obs_BD))
            probs_BA = torch.softmax(logits_BA, 1)
            return np.asarray(torch.multinomial(probs_BA, 1, generator=self._gen)[:, 0].numpy())

    def update(self, batch: tuple[np.ndarray, ...]) -> UpdateStats:
        obs, act, rew, nxt, done = (torch.from_numpy(x) for x in batch)
        p = self.params
        alpha = self.log_alpha.exp().detach()
        with torch.no_grad():
            logits_BA = self.actor(nxt)
            probs_BA, logp_BA = torch.softmax(logits_BA, 1), torch.log_softmax(logits_BA, 1)
            q_next_BA = torch.min(self.q1_target(nxt), self.q2_target(nxt))
            v_next_B = (probs_BA * (q_next_BA - alpha * logp_BA)).sum(1)
            target_B = p.reward_scale * rew + (1.0 - done) * p.gamma * v_next_B
        q1_BA, q2_BA = self.q1(obs), self.q2(obs)
        a = act.unsqueeze(1)
        q1_B, q2_B = q1_BA.gather(1, a)[:, 0], q2_BA.gather(1, a)[:, 0]
        critic_loss = 0.5 * (fn.mse_loss(q1_B, target_B) + fn.mse_loss(q2_B, target_B))
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()

        logits_BA = self.actor(obs)
        probs_BA, logp_BA = torch.softmax(logits_BA, 1), torch.log_softmax(logits_BA, 1)
        q_min_BA = torch.min(q1_BA, q2_BA).detach()
        actor_loss = (probs_BA * (alpha * logp_BA - q_min_BA)).sum(1).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()

        entropy_B = -(probs_BA.detach() * logp_BA.detach()).sum(1)
        if p.autotune:
            alpha_loss = (self.log_alpha * (entropy_B - self.target_entropy)).mean()
            self.alpha_opt.zero_grad()
            alpha_loss.backward()
            self.alpha_opt.step()
        self._soft_update()
        return UpdateStats(critic_loss=float(critic_loss.detach()),
                           actor_loss=float(actor_loss.detach()), alpha=self.alpha,
                           entropy=float(entropy_B.mean()),
                           q_mean=float(torch.min(q1_B, q2_B).detach().mean()))

    def _soft_update(self) -> None:
        tau = self.params.tau
        with torch.no_grad():
            for net, target in ((self.q1, self.q1_target), (self.q2, self.q2_target)):
                for w, tw in zip(net.parameters(), target.parameters(), strict=True):
                    tw.lerp_(w, tau)
