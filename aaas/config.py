"""Scenario files: TOML testbeds loaded into typed, validated config.

A scenario fixes the physical testbed (its ASPs: capacity, quality curve,
backend), the workload (users, Poisson arrivals, steps), the runtime model and
the crash rule. The ASPs are drawn once from the scenario's seed, so every
process that loads the same file sees the same ASPs. See
``scenarios/paper.toml`` for every key with its meaning.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError
from .models import CrashRule, QualityCurve, RuntimeModel

__all__ = [
    "AspSpec",
    "Range",
    "Scenario",
    "Workload",
    "load_scenario",
    "scenario_dir",
]

def scenario_dir() -> Path:
    """The repository's ``scenarios/`` folder."""
    return Path(__file__).resolve().parent.parent / "scenarios"


@dataclass(frozen=True, kw_only=True)
class Range:
    """Values from ``min`` to ``max``: a grid when ``step`` is set, else continuous."""

    min: float
    max: float
    step: float | None = None
    inclusive: bool = False
    """Whether ``max`` itself can be drawn (grids only)."""

    def grid(self) -> np.ndarray:
        if self.step is None:
            raise ConfigError("a continuous range has no grid")
        n = int(np.floor((self.max - self.min) / self.step + 1e-9)) + 1
        values = self.min + self.step * np.arange(n)
        if not self.inclusive:
            values = values[values < self.max - 1e-12]
        return values

    def draw(self, rng: np.random.Generator) -> float:
        if self.step is None:
            return float(rng.uniform(self.min, self.max))
        return float(rng.choice(self.grid()))


@dataclass(frozen=True, kw_only=True)
class AspSpec:
    """One AIGC service provider (edge node)."""

    id: str
    """Node id, also its MQTT client id and topic level."""
    capacity: int
    """C_i: total diffusion steps it can run at once."""
    curve: QualityCurve
    """Its quality curve (the orchestrator does not know it)."""
    backend: str = "modeled"
    """A name in edge_node's backend registry (``modeled``, ``repaint``, or one added by an
    entry point); edge_node checks it when a node starts."""
    model: str | None = None
    """For ``repaint``: a local directory or a hub id."""


@dataclass(frozen=True, kw_only=True)
class Workload:
    """The users and their Poisson task arrivals."""

    users: int = 1000
    arrival_rate: float = 0.001
    """λ: tasks per emulated second, over the whole population."""
    horizon_s: float = 1_000_000.0
    """Length of the episode in emulated seconds."""
    steps_min: int = 100
    steps_max: int = 250
    steps_step: int = 10

    @property
    def steps_choices(self) -> np.ndarray:
        return np.arange(self.steps_min, self.steps_max + 1, self.steps_step)

    @property
    def expected_tasks(self) -> float:
        return self.arrival_rate * self.horizon_s


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Input limits every process enforces."""

    max_image_bytes: int = 1_048_576
    """Largest encoded image (or mask) a request may carry."""
    image_size: int = 64
    """Side in pixels of the images the emulated users generate."""
    queue_timeout_s: float = 3600.0
    """Emulated seconds a task may wait for an online node before rejection."""


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A whole testbed description."""

    name: str
    seed: int
    asps: tuple[AspSpec, ...]
    workload: Workload = field(default_factory=Workload)
    runtime: RuntimeModel = field(default_factory=RuntimeModel)
    crash: CrashRule = field(default_factory=CrashRule)
    limits: Limits = field(default_factory=Limits)
    description: str = ""
    source: str = ""
    """Where it was loaded from."""

    def asp(self, node_id: str) -> AspSpec:
        for a in self.asps:
            if a.id == node_id:
                return a
        raise ConfigError(f"scenario {self.name!r} has no ASP {node_id!r}")

    @property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.asps)

    @property
    def capacities(self) -> np.ndarray:
        return np.array([a.capacity for a in self.asps], dtype=np.int64)

    def user_ids(self) -> list[str]:
        width = max(4, len(str(self.workload.users - 1)))
        return [f"user-{i:0{width}d}" for i in range(self.workload.users)]

    def check_steps(self, steps: int) -> bool:
        w = self.workload
        return w.steps_min <= steps <= w.steps_max


# --- parsing ---------------------------------------------------------------

def _table(d: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = d.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _number(
    d: dict[str, Any], key: str, default: float, where: str, *, positive: bool = False
) -> float:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
    if positive and not value > 0:
        raise ConfigError(f"{where}: {key} must be > 0, got {value!r}")
    return float(value)


def _range(d: dict[str, Any], key: str, default: Range, where: str) -> Range:
    raw = d.get(key)
    if raw is None:
        return default
    if isinstance(raw, list):  # an explicit list of choices: a grid given by its values
        raise ConfigError(f"{where}: {key} must be a table {{min, max[, step]}}")
    if not isinstance(raw, dict) or "min" not in raw or "max" not in raw:
        raise ConfigError(f"{where}: {key} must be a table with min and max, got {raw!r}")
    unknown = set(raw) - {"min", "max", "step", "inclusive"}
    if unknown:
        raise ConfigError(f"{where}: {key} has unknown keys {sorted(unknown)}")
    r = Range(
        min=_number(raw, "min", 0, f"{where}.{key}"),
        max=_number(raw, "max", 0, f"{where}.{key}"),
        step=(None if "step" not in raw
              else _number(raw, "step", 1, f"{where}.{key}", positive=True)),
        inclusive=bool(raw.get("inclusive", False)),
    )
    if r.max < r.min:
        raise ConfigError(f"{where}: {key} has max < min")
    return r


def _check_keys(d: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(d) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(allowed)})")


def _draw_asps(asps: dict[str, Any], seed: int, where: str) -> tuple[AspSpec, ...]:
    _check_keys(asps, {"count", "capacity", "ax", "ay", "bx", "by", "backend", "model", "override"},
                where + " [asps]")
    count = int(_number(asps, "count", 20, where, positive=True))
    cap = _range(asps, "capacity", Range(min=600, max=1500, step=100, inclusive=True), where)
    ranges = {
        "ax": _range(asps, "ax", Range(min=0, max=100), where),
        "ay": _range(asps, "ay", Range(min=0.0, max=0.5), where),
        "bx": _range(asps, "bx", Range(min=150, max=250), where),
        "by": _range(asps, "by", Range(min=0.5, max=1.0), where),
    }
    backend = str(asps.get("backend", "modeled"))
    # One generator, drawn in a fixed order: the same seed gives the same ASPs.
    rng = np.random.default_rng(seed)
    width = max(2, len(str(count - 1)))
    out: dict[int, AspSpec] = {}
    for i in range(count):
        capacity = int(cap.draw(rng))
        params = {k: r.draw(rng) for k, r in ranges.items()}
        out[i] = AspSpec(id=f"asp-{i:0{width}d}", capacity=capacity, curve=QualityCurve(**params),
                         backend=backend, model=asps.get("model"))
    for k, ov in enumerate(asps.get("override", [])):
        w = f"{where} [[asps.override]] #{k}"
        _check_keys(ov, {"index", "id", "capacity", "ax", "ay", "bx", "by", "backend", "model"}, w)
        idx = int(_number(ov, "index", -1, w))
        if idx not in out:
            raise ConfigError(f"{w}: index {idx} is not an ASP (0..{count - 1})")
        base = out[idx]
        c = base.curve
        out[idx] = AspSpec(
            id=str(ov.get("id", base.id)),
            capacity=int(_number(ov, "capacity", base.capacity, w, positive=True)),
            curve=QualityCurve(ax=_number(ov, "ax", c.ax, w), ay=_number(ov, "ay", c.ay, w),
                               bx=_number(ov, "bx", c.bx, w), by=_number(ov, "by", c.by, w)),
            backend=str(ov.get("backend", base.backend)),
            model=ov.get("model", base.model),
        )
    ids = [a.id for a in out.values()]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{where}: ASP ids are not unique")
    return tuple(out[i] for i in range(count))


def _workload(w: dict[str, Any], where: str) -> Workload:
    _check_keys(w, {"users", "arrival_rate", "horizon_s", "steps"}, where + " [workload]")
    steps = _range(w, "steps", Range(min=100, max=250, step=10, inclusive=True), where)
    wl = Workload(
        users=int(_number(w, "users", 1000, where, positive=True)),
        arrival_rate=_number(w, "arrival_rate", 0.001, where, positive=True),
        horizon_s=_number(w, "horizon_s", 1e6, where, positive=True),
        steps_min=int(steps.min), steps_max=int(steps.max), steps_step=int(steps.step or 1),
    )
    if wl.steps_min < 1:
        raise ConfigError(f"{where}: steps.min must be >= 1")
    return wl


def parse_scenario(data: dict[str, Any], *, source: str = "<dict>") -> Scenario:
    """Build a Scenario from parsed TOML; raise ConfigError on anything invalid."""
    where = source
    # [link] is read by the link proxy (broker/link/_profiles.py).
    top = {"name", "seed", "description", "asps", "workload", "runtime", "crash", "limits", "link"}
    _check_keys(data, top, where)
    seed = int(_number(data, "seed", 0, where))
    rt = _table(data, "runtime", where)
    _check_keys(rt, {"a", "b", "c", "unit_s"}, where + " [runtime]")
    cr = _table(data, "crash", where)
    _check_keys(cr, {"base_penalty", "lost_weight"}, where + " [crash]")
    lim = _table(data, "limits", where)
    _check_keys(lim, {"max_image_bytes", "image_size", "queue_timeout_s"}, where + " [limits]")
    return Scenario(
        name=str(data.get("name", Path(source).stem)),
        seed=seed,
        description=str(data.get("description", "")),
        asps=_draw_asps(_table(data, "asps", where), seed, where),
        workload=_workload(_table(data, "workload", where), where),
        runtime=RuntimeModel(a=_number(rt, "a", 0.001, where), b=_number(rt, "b", 2.5, where),
                             c=_number(rt, "c", -14.0, where),
                             unit_s=_number(rt, "unit_s", 60.0, where, positive=True)),
        crash=CrashRule(base_penalty=_number(cr, "base_penalty", 2.0, where),
                        lost_weight=_number(cr, "lost_weight", 2.0, where)),
        limits=Limits(
            max_image_bytes=int(_number(lim, "max_image_bytes", 1_048_576, where, positive=True)),
            image_size=int(_number(lim, "image_size", 64, where, positive=True)),
            queue_timeout_s=_number(lim, "queue_timeout_s", 3600.0, where, positive=True),
        ),
        source=source,
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario by path, or by name from the repository's ``scenarios/``."""
    path = Path(name_or_path)
    if not path.exists():
        candidate = scenario_dir() / f"{name_or_path}.toml"
        if not candidate.exists():
            known = sorted(p.stem for p in scenario_dir().glob("*.toml"))
            raise ConfigError(f"no scenario file {str(name_or_path)!r} (known names: {known})")
        path = candidate
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_scenario(data, source=str(path))
