"""Observation layouts: the numbers a learning policy sees.

Every layout is computed from what the live orchestrator also has (the
:class:`~orchestrator.policies.Observation` fields: capacity, free capacity,
steps, runtime), so a policy trained in the simulator runs live unchanged.
All functions are vectorised over a leading batch axis.

``basic`` (the default, 2M+2 numbers): per ASP capacity/C_norm and
free/C_norm, then steps/t_max and runtime/runtime(t_max).

``slack`` (3M+2): ``basic`` plus, per ASP, the free capacity after placing the
task, (free − t)/C_norm, which is negative exactly where the task would crash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aaas import ConfigError, Scenario

__all__ = ["LAYOUTS", "FeatureSpec"]

LAYOUTS = ("basic", "slack")


@dataclass(frozen=True, kw_only=True)
class FeatureSpec:
    """How observations are turned into network input; stored in checkpoints."""

    layout: str = "basic"
    """One of :data:`LAYOUTS`."""
    n_asps: int
    """M, the number of ASPs."""
    cap_norm: float
    """Capacities and free capacities are divided by this (the largest C_i)."""
    steps_norm: float
    """Steps are divided by this (the largest t)."""
    runtime_norm: float
    """Runtimes are divided by this (runtime of the largest t)."""

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ConfigError(f"unknown observation layout {self.layout!r}; "
                              f"choose one of {LAYOUTS}")

    @classmethod
    def for_scenario(cls, scenario: Scenario, layout: str = "basic") -> FeatureSpec:
        t_max = scenario.workload.steps_max
        return cls(layout=layout, n_asps=len(scenario.asps),
                   cap_norm=float(scenario.capacities.max()), steps_norm=float(t_max),
                   runtime_norm=float(scenario.runtime(t_max)))

    @property
    def dim(self) -> int:
        per_asp = 2 if self.layout == "basic" else 3
        return per_asp * self.n_asps + 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureSpec:
        return cls(layout=str(d["layout"]), n_asps=int(d["n_asps"]), cap_norm=float(d["cap_norm"]),
                   steps_norm=float(d["steps_norm"]), runtime_norm=float(d["runtime_norm"]))

    def build(self, capacity_M: npt.ArrayLike, free_BM: npt.ArrayLike, steps_B: npt.ArrayLike,
              runtime_B: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Features of shape (B, dim) (or (dim,) when free_BM is one row)."""
        free = np.asarray(free_BM, dtype=np.float32)
        single = free.ndim == 1
        free = np.atleast_2d(free)
        b = free.shape[0]
        steps = np.asarray(steps_B, dtype=np.float32).reshape(b, 1)
        runtime = np.asarray(runtime_B, dtype=np.float32).reshape(b, 1)
        cap = np.broadcast_to(np.asarray(capacity_M, dtype=np.float32), free.shape)
        parts = [cap / self.cap_norm, free / self.cap_norm]
        if self.layout == "slack":
            parts.append((free - steps) / self.cap_norm)
        parts += [steps / self.steps_norm, runtime / self.runtime_norm]
        out = np.concatenate(parts, axis=1)
        return out[0] if single else out
