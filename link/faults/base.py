"""The interface of a link fault, and the registry of faults by name.

After toxiproxy's toxics: a fault is a small frozen settings struct with one
method, :meth:`Fault.apply`, that does its part to a packet on one direction of
a user's link, touching the channel only through the :class:`~link.faults.air.Air`
it is given. Each direction runs a chain of them, the structs its
:class:`~link.profile.LinkProfile` holds (:func:`link.profile.fault_chain`)::

    outage → <error_mode: arq | corrupt> → latency → <profile.faults ...>

State that lasts across packets (the fading block, the Gilbert–Elliott chain,
the air queue, the seeded generator) lives behind the ``Air``, not in the fault,
so a fault is just its settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from aaas import ConfigError
from aaas.registry import Registry, build_settings

if TYPE_CHECKING:
    from ..transmission import Transmission
    from .air import Air

__all__ = ["LINK_FAULTS", "Fault", "check_error_mode", "error_mode_fault", "error_modes",
           "make_fault", "register_fault"]


@dataclass(frozen=True, kw_only=True)
class Fault:
    """The settings of one fault, and what it does to a packet."""

    name: ClassVar[str] = ""
    """The name it is registered under (``error_mode`` or a ``faults`` entry's ``fault``)."""
    error_mode: ClassVar[bool] = False
    """True for a fault that puts the frames on the air (``arq``, ``corrupt``): exactly one
    of them, named by the profile's ``error_mode``, is in every chain. One with a field
    ``arq`` gets the profile's ARQ settings there (``corrupt`` sends by them what it does
    not corrupt)."""

    def apply(self, tx: Transmission, air: Air) -> None:
        """Do this fault's part to *tx* (move ``tx.end_s`` on, fill its counters, set
        ``tx.closed``), drawing from ``air.rng``. Called even after an earlier fault closed
        the connection: a fault that must not act then returns when ``tx.closed`` is set."""
        raise NotImplementedError


F = TypeVar("F", bound=type[Fault])

LINK_FAULTS: Registry[type[Fault]] = Registry(
    "link fault", entry_point_group="aaas.link_faults",
    check=lambda obj: isinstance(obj, type) and issubclass(obj, Fault))
"""Link faults by name; ``aaas.link_faults`` entry points add more."""


def register_fault(cls: F) -> F:
    """Class decorator: register *cls* under its ``name``."""
    LINK_FAULTS.add(cls.name, cls)
    return cls


def error_modes() -> tuple[str, ...]:
    """Names of the faults a profile's ``error_mode`` may name."""
    return tuple(name for name, cls in LINK_FAULTS.items() if cls.error_mode)


def make_fault(spec: str | Mapping[str, Any] | Fault) -> Fault:
    """A fault from its name or a table ``{fault = name, ...settings}`` (ConfigError if bad)."""
    if isinstance(spec, Fault):
        return spec
    return build_settings(LINK_FAULTS, spec, key="fault")


def check_error_mode(name: str) -> None:
    """ConfigError unless *name* is a registered fault that can be an error mode."""
    if not LINK_FAULTS.get(name).error_mode:
        raise ConfigError(f"link fault {name!r} is not an error mode "
                          f"(error modes: {list(error_modes())})")



def error_mode_fault(name: str, arq: Fault) -> Fault:
    """The error mode *name* on a link whose ARQ settings are *arq* (the profile's ``arq``).

    ``arq`` itself is *arq*; an error mode with a field ``arq`` gets *arq* there; any
    other its own defaults. ConfigError unless *name* is an error mode.
    """
    check_error_mode(name)
    cls = LINK_FAULTS.get(name)
    if isinstance(arq, cls):
        return arq
    if "arq" in {f.name for f in dataclasses.fields(cls)}:
        # a subclass field, found just above: the base Fault has none for mypy to see
        return cls(arq=arq)  # type: ignore[call-arg]
    return cls()
