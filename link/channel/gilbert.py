"""Gilbert–Elliott bursty loss: a two-state Markov chain stepped once per frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aaas import ConfigError

__all__ = ["GilbertElliott", "GilbertParams"]


@dataclass(frozen=True, kw_only=True)
class GilbertParams:
    """Transition and loss probabilities of the chain (per frame)."""

    p_good_bad: float = 0.01
    """P(good -> bad) per frame."""
    p_bad_good: float = 0.3
    """P(bad -> good) per frame."""
    loss_good: float = 0.0
    """Frame loss probability in the good state."""
    loss_bad: float = 0.5
    """Frame loss probability in the bad state."""

    def __post_init__(self) -> None:
        for name in ("p_good_bad", "p_bad_good", "loss_good", "loss_bad"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"gilbert.{name} must be in [0, 1], got {value}")

    @property
    def stationary_loss(self) -> float:
        """Long-run frame loss probability."""
        total = self.p_good_bad + self.p_bad_good
        if total == 0:
            return self.loss_good
        pi_bad = self.p_good_bad / total
        return (1 - pi_bad) * self.loss_good + pi_bad * self.loss_bad


@dataclass(kw_only=True)
class GilbertElliott:
    """The chain's state for one link."""

    params: GilbertParams
    rng: np.random.Generator
    bad: bool = field(default=False)
    """Whether the chain is in the bad state."""

    def losses(self, n: int) -> np.ndarray:
        """Step the chain *n* frames; True where that frame is lost."""
        p = self.params
        u_step = self.rng.random(n)
        u_loss = self.rng.random(n)
        out = np.empty(n, dtype=bool)
        bad = self.bad
        for i in range(n):
            bad = (u_step[i] >= p.p_bad_good) if bad else (u_step[i] < p.p_good_bad)
            out[i] = u_loss[i] < (p.loss_bad if bad else p.loss_good)
        self.bad = bool(bad)
        return out
