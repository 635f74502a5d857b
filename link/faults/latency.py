"""Latency: a fixed extra delay after the air (propagation, scheduling)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aaas import ConfigError

from .base import Fault, register_fault

if TYPE_CHECKING:
    from ..transmission import Transmission
    from .air import Air

__all__ = ["Latency"]


@register_fault
@dataclass(frozen=True, kw_only=True)
class Latency(Fault):
    """Deliver ``latency_s`` emulated seconds after the packet left the air.

    The air is free meanwhile (the next packet does not wait for it); a close
    also takes effect that much later.
    """

    name = "latency"

    latency_s: float = 0.0
    """Emulated seconds added to each packet's delivery."""

    def __post_init__(self) -> None:
        if not self.latency_s >= 0:
            raise ConfigError(f"latency: latency_s must be >= 0, got {self.latency_s}")

    def apply(self, tx: Transmission, air: Air) -> None:
        tx.latency_s += self.latency_s
