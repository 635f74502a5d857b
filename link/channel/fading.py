"""Block fading: the interface of a fading model, its registry, and the block process.

A fading model gives the power gain ``x = |h|²`` (mean 1) of one block, so the
instantaneous SNR is ``γ = γ̄ x``. Each model is a small frozen settings struct,
registered by name next to its implementation (``no_fading.py``, ``rayleigh.py``,
``rician.py``); packages outside this repository add theirs through the entry
point group ``aaas.channel_models``. A profile names one in TOML as
``fading = "rayleigh"`` (the model with its default settings) or
``fading = { model = "rician", k = 4 }``.

Closed forms where they exist (a model overrides :meth:`FadingModel.outage_below`
or :meth:`FadingModel.expect`); otherwise expectations integrate numerically over
the model's density on a log grid.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from aaas import ConfigError
from aaas.registry import Registry, build_settings

__all__ = ["FADING_MODELS", "BlockFading", "FadingModel", "draw_gain", "expect", "gain_pdf",
           "make_fading", "outage_probability", "register_fading_model"]

# Log grid of power gains for numerical expectations (mass below 1e-12 is negligible).
_LOG_X = np.linspace(math.log(1e-12), math.log(200.0), 40_001)
_X = np.exp(_LOG_X)


@dataclass(frozen=True, kw_only=True, eq=False)
class FadingModel:
    """The settings of one fading model, and what the link asks of it.

    Subclasses are frozen dataclasses (``@dataclass(frozen=True, kw_only=True,
    eq=False)``: equality is defined here) whose fields are the model's settings.
    A model compares equal to its registered name, so ``profile.fading == "rayleigh"``
    reads as it did when the profile held only the name.
    """

    name: ClassVar[str] = ""
    """The name it is registered under (the TOML ``model``)."""
    fades: ClassVar[bool] = True
    """False for a constant gain of 1 (no fading): no draws, blocks never end an outage."""

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Power gains (mean 1) of *n* independent blocks, drawn from *rng*."""
        raise NotImplementedError

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Density of the power gain at *x* (used by the numerical expectations)."""
        raise ConfigError(f"no density for fading {self.name!r}")

    def expect(self, fn: Callable[[np.ndarray], np.ndarray]) -> float:
        """E[fn(x)] over the power gain x (fn vectorised)."""
        weights = self.pdf(_X) * _X  # dx = x d(ln x)
        return float(np.trapezoid(fn(_X) * weights, _LOG_X))

    def outage_below(self, ratio: float) -> float:
        """P(x < ratio): numerically unless the model has a closed form."""
        return self.expect(lambda x: (x < ratio).astype(float))

    def outage_probability(self, mean_snr: float, threshold_snr: float) -> float:
        """P(γ̄ x < γth)."""
        if mean_snr == math.inf:
            return 0.0
        return self.outage_below(threshold_snr / mean_snr)

    def as_table(self) -> dict[str, Any]:
        """The TOML/JSON form: ``{"model": name, **settings}``."""
        return {"model": self.name, **dataclasses.asdict(self)}

    def _key(self) -> tuple[Any, ...]:
        return (type(self), *(getattr(self, f.name) for f in dataclasses.fields(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other.lower() == self.name
        if isinstance(other, FadingModel):
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())


M = TypeVar("M", bound=type[FadingModel])

FADING_MODELS: Registry[type[FadingModel]] = Registry(
    "fading model", entry_point_group="aaas.channel_models",
    check=lambda obj: isinstance(obj, type) and issubclass(obj, FadingModel))
"""Fading models by name; ``aaas.channel_models`` entry points add more."""


def register_fading_model(cls: M) -> M:
    """Class decorator: register *cls* under its ``name``."""
    FADING_MODELS.add(cls.name, cls)
    return cls


def make_fading(spec: str | Mapping[str, Any] | FadingModel, **defaults: Any) -> FadingModel:
    """The model *spec* names: a model, its name, or a table ``{model = name, ...settings}``.

    *defaults* are settings used where the model has a field of that name and
    *spec* does not give it (the legacy flat keys, e.g. ``k`` from ``rician_k``;
    the ``aaas channel`` options); others are ignored. ConfigError when invalid.
    """
    if isinstance(spec, FadingModel):
        return spec
    if isinstance(spec, str):  # names are case-insensitive ("Rician")
        spec = spec.lower()
    elif isinstance(spec, Mapping) and isinstance(spec.get("model"), str):
        spec = {**spec, "model": spec["model"].lower()}
    return build_settings(FADING_MODELS, spec, key="model", defaults=defaults)


def _model(kind: str | FadingModel, rician_k: float | None) -> FadingModel:
    """A model from the functions' older (kind, rician_k) arguments."""
    return make_fading(kind, **({} if rician_k is None else {"k": rician_k}))


def draw_gain(kind: str | FadingModel, rng: np.random.Generator, size: int | None = None,
              *, rician_k: float | None = None) -> np.ndarray | float:
    """Power gains (mean 1) of *size* independent blocks (a float when size is None)."""
    out = _model(kind, rician_k).draw(rng, 1 if size is None else size)
    return float(out[0]) if size is None else out


def gain_pdf(kind: str | FadingModel, x: np.ndarray, *,
             rician_k: float | None = None) -> np.ndarray:
    """Density of the power gain (mean 1)."""
    return _model(kind, rician_k).pdf(x)


def expect(kind: str | FadingModel, fn: Callable[[np.ndarray], np.ndarray], *,
           rician_k: float | None = None) -> float:
    """E[fn(x)] over the power gain x (fn vectorised); fn(1) when there is no fading."""
    return _model(kind, rician_k).expect(fn)


def outage_probability(kind: str | FadingModel, mean_snr: float, threshold_snr: float,
                       *, rician_k: float | None = None) -> float:
    """P(γ̄ x < γth): closed form where the model has one, else numerically."""
    return _model(kind, rician_k).outage_probability(mean_snr, threshold_snr)


@dataclass(kw_only=True)
class BlockFading:
    """The gain of one link, redrawn at every coherence-time boundary (emulated time)."""

    kind: str | FadingModel = "rayleigh"
    """The fading model (or its name)."""
    coherence_s: float = 0.01
    """Emulated seconds a fading block lasts."""
    rng: np.random.Generator
    """Seeded generator the gains are drawn from."""
    model: FadingModel = field(init=False)
    _block: int = field(default=-1, init=False)
    _gain: float = field(default=1.0, init=False)

    def __post_init__(self) -> None:
        self.model = make_fading(self.kind)
        if not self.coherence_s > 0:
            raise ConfigError(f"coherence time must be > 0 s, got {self.coherence_s}")

    def gain_at(self, t: float) -> float:
        """The power gain during the block holding emulated time *t*."""
        if not self.model.fades:
            return 1.0
        block = math.floor(t / self.coherence_s)
        if block != self._block:
            self._block = block
            self._gain = float(self.model.draw(self.rng, 1)[0])
        return self._gain

    def block_left(self, t: float) -> float:
        """Emulated seconds until the gain may change (inf without fading)."""
        return math.inf if not self.model.fades else self.block_end(t) - t

    def block_end(self, t: float) -> float:
        """Emulated time at which the block holding *t* ends."""
        end = (math.floor(t / self.coherence_s) + 1) * self.coherence_s
        if end <= t:  # t/c rounded down across a boundary: that block has ended too
            end = (math.floor(t / self.coherence_s) + 2) * self.coherence_s
        return end
