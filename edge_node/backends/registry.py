"""The backend registry: which inpainting backend an ASP's ``backend = NAME`` builds.

Backends register a :class:`BackendPlugin` by name next to their implementation
(:mod:`.modeled`, :mod:`.repaint`); packages outside this repository add theirs
through the ``aaas.backends`` entry point group, whose objects are
:class:`BackendPlugin` instances (see docs/extending.md). The scenario keeps the
backend as a string (the vocabulary does not know the backends);
:func:`check_backends` checks it, and that the backend's modules are installed,
before a node starts.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from aaas import AspSpec, ConfigError, EmulatedClock, Scenario
from aaas.registry import Registry

from .base import InpaintBackend

__all__ = ["BACKENDS", "BackendFactory", "BackendPlugin", "check_backends"]


class BackendFactory(Protocol):
    """``factory(spec, *, scenario, clock, device) -> InpaintBackend``: the backend
    for one ASP (*spec*: its id, capacity, curve, ``model``), on the testbed's
    emulated *clock*; *device* is ``--device`` (a torch device, None: auto).
    Raise :class:`aaas.ConfigError` for a spec the backend cannot serve."""

    def __call__(self, spec: AspSpec, *, scenario: Scenario, clock: EmulatedClock,
                 device: str | None) -> InpaintBackend: ...


@dataclass(frozen=True, kw_only=True)
class BackendPlugin:
    """A registered backend: its factory and what it needs installed."""

    factory: BackendFactory
    requires: tuple[str, ...] = ()
    """Top-level modules the backend imports (checked without importing them)."""
    extra: str | None = None
    """The extra of *distribution* that installs :attr:`requires`."""
    distribution: str = "aaas-edge-emulator"
    """The package to ``pip install`` for them."""

    def missing(self) -> list[str]:
        """The required modules that are not installed."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def install_hint(self) -> str:
        """What to install: ``pip install 'DIST[EXTRA]'``."""
        extra = f"[{self.extra}]" if self.extra else ""
        return f"pip install '{self.distribution}{extra}'"


BACKENDS: Registry[BackendPlugin] = Registry(
    "backend", entry_point_group="aaas.backends", check=lambda o: isinstance(o, BackendPlugin))


def check_backends(names: Iterable[str]) -> None:
    """Refuse, in one line (:class:`aaas.ConfigError`), a backend that is unknown
    (naming the known ones) or whose required modules are not installed (naming
    the extra to install)."""
    for name in dict.fromkeys(names):
        plugin = BACKENDS.get(name)
        missing = plugin.missing()
        if missing:
            raise ConfigError(f"backend {name!r} needs {', '.join(missing)}, not installed "
                              f"here: {plugin.install_hint()}")
