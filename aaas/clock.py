"""The emulated clock shared by every process of a testbed.

    emulated = epoch + (wall - wall_epoch) * scale

Every duration in the system is in emulated seconds; a process sleeps
``emulated / scale`` seconds of wall time. With ``scale=1`` the testbed runs in
real time; with ``scale=3600`` the paper's 288 hours pass in about 5 minutes.
Wall time is ``time.time()`` so processes on different hosts (kept in step by
NTP) agree on the emulated time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from .errors import ConfigError
from .schemas import ClockSpec

__all__ = ["EmulatedClock"]


@dataclass(frozen=True, kw_only=True)
class EmulatedClock:
    """Maps wall time to emulated time at a fixed scale."""

    scale: float = 1.0
    """Emulated seconds per wall second."""
    epoch: float = 0.0
    """Emulated time at ``wall_epoch``."""
    wall_epoch: float = field(default_factory=time.time)
    """Wall time (Unix seconds) at which emulated time was ``epoch``."""

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ConfigError(f"time scale must be > 0, got {self.scale}")

    def now(self) -> float:
        """The emulated time now."""
        return self.epoch + (time.time() - self.wall_epoch) * self.scale

    def to_wall(self, emulated_s: float) -> float:
        """Wall seconds that a duration of *emulated_s* takes."""
        return emulated_s / self.scale

    async def sleep(self, emulated_s: float) -> None:
        """Sleep for an emulated duration (cancellable like asyncio.sleep)."""
        await asyncio.sleep(max(0.0, emulated_s) / self.scale)

    async def sleep_until(self, emulated_t: float) -> None:
        """Sleep until the emulated time reaches *emulated_t*."""
        await self.sleep(emulated_t - self.now())

    def spec(self) -> ClockSpec:
        """The clock as the contract's retained ``clock`` payload."""
        return ClockSpec(scale=self.scale, epoch=self.epoch, wall_epoch=self.wall_epoch)

    @classmethod
    def from_spec(cls, spec: ClockSpec) -> EmulatedClock:
        return cls(scale=spec.scale, epoch=spec.epoch, wall_epoch=spec.wall_epoch)
