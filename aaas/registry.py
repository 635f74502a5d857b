"""Named plug-ins: one small registry type for every plug-in point.

A plug-in point (policies, edge backends, fading models, link faults, ...) is a
:class:`Registry` that lives next to its interface. Implementations register
themselves by name next to their code::

    POLICIES: Registry[PolicyFactory] = Registry("policy", entry_point_group="aaas.policies")

    @POLICIES.register("random")
    def _random(scenario, *, rng, checkpoint): ...

    POLICIES.add("least_loaded", make_least_loaded)      # the same, without a decorator

Packages outside this repository add theirs through an entry point of the
registry's group, declared in their ``pyproject.toml``::

    [project.entry-points."aaas.policies"]
    first_fit = "aaas_first_fit:make"

Entry points are discovered on the first lookup (``names``, ``get``, ``items``,
``in``), from the installed distributions' metadata, without importing them;
each is imported on its first ``get`` (``items`` imports them all). So a
command's ``--help`` can list every name without importing the plug-ins.
An entry point that fails to import (or whose object the registry's ``check``
refuses) is logged and dropped, never fatal to the others; ``get`` of that very
name raises :class:`ConfigError` with the reason. A name registered in code
wins over an entry point of the same name (logged), and the first distribution
wins among entry points of the same name.

Hand-written rather than a library (pluggy, stevedore): what is needed is a dict
with a clear error and lazy entry points, about 100 lines on the standard
library's :mod:`importlib.metadata`, and the vocabulary must stay light.
Not thread-safe for registration; plug-ins register at import time.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

import msgspec

from .errors import ConfigError

__all__ = ["Registry", "build_settings"]

T = TypeVar("T")
S = TypeVar("S")

log = logging.getLogger("aaas.registry")


class Registry(Generic[T]):
    """Plug-ins of one kind, by name, in registration order.

    *kind* names one plug-in in messages ("policy", "backend"). *entry_point_group*
    (e.g. ``"aaas.policies"``) is where outside packages add theirs; None: code only.
    *check* (optional) tells whether an entry point's object is a *T*; objects it
    refuses are logged and dropped like entry points that fail to import.
    """

    def __init__(self, kind: str, *, entry_point_group: str | None = None,
                 check: Callable[[Any], bool] | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._check = check
        self._items: dict[str, T] = {}
        self._pending: dict[str, EntryPoint] | None = None  # None: not discovered yet
        self._failed: dict[str, str] = {}  # entry point name -> why it was dropped

    # -- registering ---------------------------------------------------------------------

    def add(self, name: str, item: T) -> T:
        """Register *item* as *name*; returns *item*. A name registered twice in code
        is a programming error (:class:`ValueError`)."""
        if not name or name != name.strip():
            raise ValueError(f"{self.kind} name {name!r} is empty or has surrounding spaces")
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        if self._pending is not None and self._pending.pop(name, None) is not None:
            log.warning("%s %r: the one registered in code wins over the entry point",
                        self.kind, name)
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`: ``@REGISTRY.register("name")``."""

        def decorate(item: T) -> T:
            return self.add(name, item)

        return decorate

    # -- looking up ----------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """Every known name: code-registered ones in registration order, then the
        entry points' (sorted), which are not imported for this."""
        pending = self._discover()
        return (*self._items, *sorted(n for n in pending if n not in self._items))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def get(self, name: str) -> T:
        """The plug-in *name*; imports its entry point on first use.

        Raises :class:`ConfigError` naming the known names when *name* is unknown,
        or saying why when its entry point could not be loaded.
        """
        if name in self._items:
            return self._items[name]
        pending = self._discover()
        if name in pending:
            self._load(name, pending.pop(name))
            if name in self._items:
                return self._items[name]
        if name in self._failed:
            raise ConfigError(f"{self.kind} {name!r} could not be loaded: {self._failed[name]}")
        known = ", ".join(self.names()) or "none"
        raise ConfigError(f"unknown {self.kind} {name!r} (known: {known})")

    def items(self) -> list[tuple[str, T]]:
        """Every plug-in as (name, object), importing every entry point not yet loaded."""
        pending = self._discover()
        for name in sorted(pending):
            self._load(name, pending.pop(name))
        return list(self._items.items())

    # -- entry points --------------------------------------------------------------------

    def _discover(self) -> dict[str, EntryPoint]:
        if self._pending is None:
            self._pending = {}
            if self.entry_point_group is not None:
                for ep in entry_points(group=self.entry_point_group):
                    if ep.name in self._items:
                        log.warning("%s %r from entry point %s ignored: a built-in has that "
                                    "name", self.kind, ep.name, ep.value)
                    elif ep.name in self._pending:
                        log.warning("%s %r: entry point %s ignored, %s came first", self.kind,
                                    ep.name, ep.value, self._pending[ep.name].value)
                    else:
                        self._pending[ep.name] = ep
        return self._pending

    def _load(self, name: str, ep: EntryPoint) -> None:
        try:
            obj = ep.load()
        except Exception as exc:  # any import-time error of an outside package
            why = f"entry point {ep.value!r} of {self.entry_point_group} failed to import " \
                  f"({type(exc).__name__}: {exc})"
        else:
            if self._check is None or self._check(obj):
                self._items[name] = obj
                return
            why = f"entry point {ep.value!r} of {self.entry_point_group} is not a " \
                  f"{self.kind} ({type(obj).__name__})"
        self._failed[name] = why
        log.warning("%s %r skipped: %s", self.kind, name, why)


def build_settings(registry: Registry[type[S]], spec: str | Mapping[str, Any], *, key: str,
                   defaults: Mapping[str, Any] | None = None) -> S:
    """An instance of the settings dataclass *spec* names in *registry*.

    *spec* is a registered name (the class's defaults) or a table
    ``{key = name, **settings}`` as TOML and JSON give it. *defaults* fill the
    fields the class has and *spec* does not set; others are ignored. An unknown
    name, an unknown setting or a value of the wrong type is a :class:`ConfigError`.
    """
    if isinstance(spec, str):
        name, settings = spec, {}
    elif isinstance(spec, Mapping):
        settings = dict(spec)
        name = settings.pop(key, None)
        if not isinstance(name, str):
            raise ConfigError(f"a {registry.kind} table needs {key} = \"...\" "
                              f"(one of {list(registry.names())}), got {dict(spec)!r}")
    else:
        raise ConfigError(f"a {registry.kind} must be a name or a table, got {spec!r}")
    cls = registry.get(name)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(settings) - fields
    if unknown:
        raise ConfigError(f"{registry.kind} {name!r}: unknown settings {sorted(unknown)} "
                          f"(known: {sorted(fields)})")
    settings = {**{k: v for k, v in (defaults or {}).items() if k in fields}, **settings}
    try:
        return msgspec.convert(settings, cls)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{registry.kind} {name!r}: {exc}") from None
