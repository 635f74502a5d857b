"""Observation layouts: the numbers a learning policy sees.

Every layout is computed from what the live orchestrator also has (the
:class:`~orchestrator.policies.Observation` fields: capacity, free capacity,
steps, runtime), so a policy trained in the simulator runs live unchanged.
All functions are vectorised over a leading batch axis.

``basic`` (the default, 2M+2 numbers): per ASP capacity/C_norm and
free/C_norm, then steps/t_max and runtime/runtime(t_max).

``slack`` (3M+2): ``basic`` plus, per ASP, the free capacity after placing the
task, (free − t)/C_norm, which is negative exactly where the task would crash.

``quality`` (7M+2, feature version 2): ``slack`` plus, per ASP, what the prophet
knows: the task's quality there q_i(t), its shortfall from the best ASP that has
room, q_i(t) − max_{j: free_j ≥ t} q_j(t), its shortfall from the best ASP
ignoring room, and the ASP's share of free capacity, free_i / C_i. The
quality curves (Ax, Ay, Bx, By per ASP) are part of the spec, so the features
are computed from the :class:`~orchestrator.policies.Observation` and the
scenario alone, live as in the simulator.

With several content domains (``[domains]``), every layout but ``quality`` adds D
blocks of M numbers, one per domain, after its own blocks: block d is 1 for every ASP
when the task is of domain d, else 0 (the task's domain, one-hot, repeated per ASP, so
a per-ASP network sees it beside each ASP's numbers). The learned policies see the
domain, never the per-domain curves: they learn the match from the rewards. ``quality``,
which shows the curves, is refused for such scenarios. One domain adds nothing.

The spec's ``version`` says which feature set a checkpoint was trained with:
1 for ``basic`` and ``slack`` (the shipped checkpoints before version 2 carry no
version field and read as 1), 2 for ``quality``. A spec whose version does not
match its layout is refused, so an old checkpoint keeps the exact numbers it
was trained on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aaas import ConfigError, CrashRule, QualityCurve, Scenario

__all__ = ["LAYOUTS", "FeatureSpec"]

LAYOUTS = ("basic", "slack", "quality")

LAYOUT_VERSION = {"basic": 1, "slack": 1, "quality": 2}
"""The feature-set version of each layout (stored in checkpoints)."""

PER_ASP = {"basic": 2, "slack": 3, "quality": 7}
"""Numbers per ASP of each layout (then two numbers of the task)."""


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
    version: int = 1
    """The feature-set version (:data:`LAYOUT_VERSION`)."""
    curves: tuple[tuple[float, ...], ...] | None = None
    """``quality`` only: the ASPs' (Ax, Ay, Bx, By) as four rows of M numbers."""
    n_domains: int = 1
    """D, the scenario's content domains (above 1: the task's domain, one-hot, per ASP)."""

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ConfigError(f"unknown observation layout {self.layout!r}; "
                              f"choose one of {LAYOUTS}")
        if self.version != LAYOUT_VERSION[self.layout]:
            raise ConfigError(f"observation layout {self.layout!r} is feature version "
                              f"{LAYOUT_VERSION[self.layout]}, not {self.version}")
        if self.layout == "quality" and (self.curves is None or len(self.curves) != 4
                                         or any(len(r) != self.n_asps for r in self.curves)):
            raise ConfigError("observation layout 'quality' needs the 4 x M quality curve "
                              "parameters")
        if self.n_domains < 1 or (self.n_domains > 1 and self.layout == "quality"):
            raise ConfigError("observation layout 'quality' shows the quality curves, which "
                              "the learned policies must not see in a scenario with several "
                              "domains; use 'basic' or 'slack'")

    @classmethod
    def for_scenario(cls, scenario: Scenario, layout: str = "basic") -> FeatureSpec:
        t_max = scenario.workload.steps_max
        curves = None
        if layout == "quality":
            params = QualityCurve.params([a.curve for a in scenario.asps])
            curves = tuple(tuple(float(x) for x in row) for row in params)
        return cls(layout=layout, n_asps=len(scenario.asps),
                   cap_norm=float(scenario.capacities.max()), steps_norm=float(t_max),
                   runtime_norm=float(scenario.runtime(t_max)),
                   version=LAYOUT_VERSION.get(layout, 1), curves=curves,
                   n_domains=len(scenario.domains.names))

    @property
    def domain_blocks(self) -> int:
        """Blocks of M numbers the task's domain takes (0 with one domain)."""
        return self.n_domains if self.n_domains > 1 else 0

    @property
    def dim(self) -> int:
        return (PER_ASP[self.layout] + self.domain_blocks) * self.n_asps + 2

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.n_domains == 1:  # one-domain dicts stay as they were
            del d["n_domains"]
        if self.curves is None:  # version-1 dicts stay as they were
            del d["curves"]
        else:
            d["curves"] = [list(r) for r in self.curves]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureSpec:
        curves = d.get("curves")
        return cls(layout=str(d["layout"]), n_asps=int(d["n_asps"]), cap_norm=float(d["cap_norm"]),
                   steps_norm=float(d["steps_norm"]), runtime_norm=float(d["runtime_norm"]),
                   version=int(d.get("version", 1)), n_domains=int(d.get("n_domains", 1)),
                   curves=None if curves is None else tuple(tuple(float(x) for x in r)
                                                            for r in curves))

    def build(self, capacity_M: npt.ArrayLike, free_BM: npt.ArrayLike, steps_B: npt.ArrayLike,
              runtime_B: npt.ArrayLike,
              domain_B: npt.ArrayLike | None = None) -> npt.NDArray[np.float32]:
        """Features of shape (B, dim) (or (dim,) when free_BM is one row); *domain_B* is
        the tasks' domain index (needed with several domains, ignored with one)."""
        free = np.asarray(free_BM, dtype=np.float32)
        single = free.ndim == 1
        free = np.atleast_2d(free)
        b = free.shape[0]
        steps = np.asarray(steps_B, dtype=np.float32).reshape(b, 1)
        runtime = np.asarray(runtime_B, dtype=np.float32).reshape(b, 1)
        cap = np.broadcast_to(np.asarray(capacity_M, dtype=np.float32), free.shape)
        parts = [cap / self.cap_norm, free / self.cap_norm]
        if self.layout in ("slack", "quality"):
            parts.append((free - steps) / self.cap_norm)
        if self.layout == "quality":
            parts += self._quality(cap, free, steps)
        if self.domain_blocks:
            if domain_B is None:
                raise ConfigError("features of a scenario with several domains need the "
                                  "task's domain")
            d = np.asarray(domain_B, dtype=np.int64).reshape(b, 1)
            m = free.shape[1]
            parts += [np.broadcast_to((d == k).astype(np.float32), (b, m))
                      for k in range(self.n_domains)]
        parts += [steps / self.steps_norm, runtime / self.runtime_norm]
        out = np.concatenate(parts, axis=1)
        return out[0] if single else out

    def _quality(self, cap: np.ndarray, free: np.ndarray,
                 steps: np.ndarray) -> list[np.ndarray]:
        assert self.curves is not None  # checked in __post_init__
        ax, ay, bx, by = (np.asarray(r, dtype=np.float64)[None, :] for r in self.curves)
        q = QualityCurve.piecewise(steps.astype(np.float64), ax, ay, bx, by)  # (B, M)
        fits = ~CrashRule.crashes(free, steps)
        best_fit = np.where(fits, q, -np.inf).max(axis=1, keepdims=True)
        best_fit = np.where(np.isfinite(best_fit), best_fit, 0.0)
        best = q.max(axis=1, keepdims=True)
        return [q.astype(np.float32), (q - best_fit).astype(np.float32),
                (q - best).astype(np.float32), free / np.maximum(cap, 1.0)]
