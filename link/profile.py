"""A user's link profile: where it is, how its radio behaves, and the faults it runs.

The profile holds the settings structs of its built-in faults (``arq``, ``outage``,
``latency``), so each of their defaults is written once, on the struct. The outside
forms keep flat keys: a ``[link]`` profile table, a ``LinkProfilePatch`` on the control
topic and :meth:`LinkProfile.as_table` say ``retry_limit = 7``, ``latency_s``,
``outage_close_s``. :data:`FAULT_KEYS` maps those keys onto the structs, and
:meth:`LinkProfile.replace` is the one place that parses them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aaas import ConfigError

from .channel import (
    PATHLOSS_MODELS,
    RATE_MODELS,
    FadingModel,
    GilbertParams,
    NoFading,
    Rayleigh,
    check_modulation,
    db_to_linear,
    make_fading,
    mean_snr_db,
    path_loss_db,
)
from .faults import (
    Arq,
    Fault,
    Latency,
    Outage,
    check_error_mode,
    error_mode_fault,
    error_modes,
    make_fault,
)

__all__ = ["FAULT_KEYS", "LEGACY_FADING_KEYS", "LinkProfile", "error_modes", "fault_chain"]

LEGACY_FADING_KEYS = {"rician_k": "k"}
"""Flat keys of older profiles that are now a setting of the fading model (old -> new)."""

FAULT_KEYS: dict[str, tuple[str, str]] = {
    "mtu_bytes": ("arq", "mtu_bytes"),
    "retry_limit": ("arq", "retry_limit"),
    "rto_s": ("arq", "rto_s"),
    "tcp_retries": ("arq", "tcp_retries"),
    "outage_snr_db": ("outage", "snr_db"),
    "min_rate_bps": ("outage", "min_rate_bps"),
    "outage_close_s": ("outage", "close_s"),
    "latency_s": ("latency", "latency_s"),
}
"""The flat keys of a profile table that set a fault struct of the profile:
key -> (the profile's field, the struct's setting)."""

_STRUCTS = frozenset(name for name, _ in FAULT_KEYS.values())


@dataclass(frozen=True, kw_only=True)
class LinkProfile:
    """One user's channel, both directions (uplink: user -> broker)."""

    distance_m: float = 50.0
    """Distance from the user to its access point."""
    pathloss: str = "umi_los"
    """none, free_space, log_distance, umi_los or umi_nlos (3GPP TR 38.901 UMi street canyon)."""
    exponent: float = 3.0
    """Path loss exponent of the log-distance model."""
    carrier_ghz: float = 3.5
    """Carrier frequency."""
    snr_db: float | None = None
    """Mean SNR; when set it replaces the link budget (path loss, powers, noise)."""
    ue_tx_power_dbm: float = 23.0
    """Transmit power of the user device (uplink)."""
    ap_tx_power_dbm: float = 30.0
    """Transmit power of the access point (downlink)."""
    noise_figure_db: float = 7.0
    """Receiver noise figure."""
    bandwidth_hz: float = 20e6
    """Channel bandwidth."""
    modulation: str = "qpsk"
    """bpsk, qpsk or 16qam."""
    rate: str = "modulation"
    """modulation (B × bits/symbol) or shannon (B log2(1+SNR) at the instantaneous SNR)."""
    rate_bps: float | None = None
    """A fixed bit rate that replaces the rate model (``inf``: no air time)."""
    fading: FadingModel = field(default_factory=Rayleigh)
    """The fading model with its settings (``link.channel.FADING_MODELS``: none,
    rayleigh, rician); its name alone is taken as that model with its default settings."""
    coherence_s: float = 0.01
    """Coherence time: emulated seconds a fading block lasts."""
    error_mode: str = "arq"
    """The fault that puts frames on the air (``link.faults.LINK_FAULTS``): arq
    (resend a failed frame up to retry_limit times) or corrupt (flip payload bits)."""
    arq: Arq = field(default_factory=Arq)
    """How frames go on the air (keys ``mtu_bytes``, ``retry_limit``, ``rto_s``,
    ``tcp_retries``); ``corrupt`` cuts frames and sends the packets it leaves alone by it."""
    outage: Outage = field(default_factory=Outage)
    """When the link holds traffic, and after how long it closes the connection (keys
    ``outage_snr_db``, ``min_rate_bps``, ``outage_close_s``)."""
    latency: Latency = field(default_factory=Latency)
    """Fixed extra delay per packet: propagation, scheduling (key ``latency_s``)."""
    gilbert: GilbertParams | None = None
    """Optional Gilbert–Elliott bursty frame loss on top of the bit errors."""
    faults: tuple[Fault, ...] = ()
    """Extra faults (``link.faults.LINK_FAULTS``) after the built-in chain, in order."""

    def __post_init__(self) -> None:
        # A name or a table stands for the model (TOML, JSON, the old ``fading="rician"``).
        object.__setattr__(self, "fading", _fading(self.fading))
        object.__setattr__(self, "faults", _faults(self.faults))
        check_modulation(self.modulation)
        if self.pathloss not in PATHLOSS_MODELS:
            raise ConfigError(f"unknown path loss {self.pathloss!r} (one of {PATHLOSS_MODELS})")
        if self.rate not in RATE_MODELS:
            raise ConfigError(f"unknown rate model {self.rate!r} (one of {RATE_MODELS})")
        check_error_mode(self.error_mode)
        for name, kind in (("arq", Arq), ("outage", Outage), ("latency", Latency)):
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(f"link profile: {name} must be a {kind.__name__}, "
                                  f"got {getattr(self, name)!r}")
        for name in ("distance_m", "bandwidth_hz", "coherence_s", "carrier_ghz"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"link profile: {name} must be > 0, got {getattr(self, name)}")
        if self.rate_bps is not None and not self.rate_bps > 0:
            raise ConfigError(f"link profile: rate_bps must be > 0, got {self.rate_bps}")

    @classmethod
    def perfect(cls) -> LinkProfile:
        """A channel that changes nothing: no errors, no fading, no air time, no delay."""
        return cls(snr_db=math.inf, fading=NoFading(), rate_bps=math.inf, pathloss="none")

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The flat keys of a profile table (``[link.default]``, a ``LinkProfilePatch``), in
        order: the fields, with each fault struct's keys (:data:`FAULT_KEYS`) in its place."""
        out: list[str] = []
        for f in dataclasses.fields(cls):
            if f.name in _STRUCTS:
                out += [key for key, (name, _) in FAULT_KEYS.items() if name == f.name]
            else:
                out.append(f.name)
        return tuple(out)

    @property
    def is_perfect(self) -> bool:
        return (self.snr_db == math.inf and not self.fading.fades and self.rate_bps == math.inf
                and self.latency.latency_s == 0 and self.gilbert is None and not self.faults)

    @property
    def rician_k(self) -> float:
        """The K factor of a Rician fading model (6.0, its default, for other models).

        Kept for code written when K was a flat profile field; prefer ``fading.k``.
        """
        return float(getattr(self.fading, "k", 6.0))

    def mean_snr(self, uplink: bool) -> float:
        """Linear mean SNR of one direction."""
        if self.snr_db is not None:
            return db_to_linear(self.snr_db)
        loss = path_loss_db(self.pathloss, self.distance_m, carrier_ghz=self.carrier_ghz,
                            exponent=self.exponent)
        power = self.ue_tx_power_dbm if uplink else self.ap_tx_power_dbm
        return db_to_linear(mean_snr_db(tx_power_dbm=power, path_loss_db=loss,
                                        noise_figure_db=self.noise_figure_db,
                                        bandwidth_hz=self.bandwidth_hz))

    def outage_threshold(self) -> float:
        """Linear SNR below which the link is in outage (SNR or required rate)."""
        return self.outage.threshold(self.bandwidth_hz)

    def replace(self, **changes: Any) -> LinkProfile:
        """A copy with *changes*, given by flat key (:meth:`keys`) and validated; an unknown
        key or a bad value raises a ConfigError that names the key.

        ``fading`` may be a model, a table ``{model = ..., ...}`` or a name: the name of
        the current model keeps its settings, another name gives that model's defaults.
        The older flat keys (``rician_k``) change the new model's setting when it has one.
        """
        known = self.keys()
        unknown = set(changes) - set(known) - set(LEGACY_FADING_KEYS)
        if unknown:
            raise ConfigError(f"unknown link profile keys {sorted(unknown)} "
                              f"(known: {sorted(known)})")
        legacy = {LEGACY_FADING_KEYS[k]: _coerce(k, changes.pop(k))
                  for k in list(changes) if k in LEGACY_FADING_KEYS}
        spec = changes.pop("fading", None)
        values = {k: _coerce(k, v) for k, v in changes.items()}
        fields = {k: v for k, v in values.items() if k not in FAULT_KEYS}
        fields.update(self._structs_with({k: v for k, v in values.items() if k in FAULT_KEYS}))
        if spec is not None or legacy:
            fields["fading"] = self._fading_with(spec, legacy)
        try:
            return dataclasses.replace(self, **fields)
        except TypeError as exc:
            raise ConfigError(f"bad link profile value: {exc}") from None

    def _structs_with(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The fault structs that flat *values* (keys of :data:`FAULT_KEYS`) change."""
        settings: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            name, setting = FAULT_KEYS[key]
            settings.setdefault(name, {})[setting] = value
        out: dict[str, Any] = {}
        for name, changed in settings.items():
            try:
                out[name] = dataclasses.replace(getattr(self, name), **changed)
            except ConfigError as exc:
                keys = ", ".join(k for k in values if FAULT_KEYS[k][0] == name)
                raise ConfigError(f"link profile {keys}: {exc}") from None
        return out

    def _fading_with(self, spec: Any, legacy: Mapping[str, Any]) -> FadingModel:
        if spec is None or (isinstance(spec, str) and spec.lower() == self.fading.name):
            spec = self.fading
        model = _fading(spec)
        settings = {k: v for k, v in legacy.items()
                    if k in {f.name for f in dataclasses.fields(model)}}
        return _fading({**model.as_table(), **settings}) if settings else model

    def as_table(self) -> dict[str, Any]:
        """The profile as a TOML/JSON table (the form ``[link.default]`` takes), flat keys."""
        table: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in _STRUCTS:
                struct = getattr(self, f.name)
                table.update({key: getattr(struct, setting)
                              for key, (name, setting) in FAULT_KEYS.items() if name == f.name})
            else:
                table[f.name] = getattr(self, f.name)
        table["fading"] = self.fading.as_table()
        table["gilbert"] = None if self.gilbert is None else dataclasses.asdict(self.gilbert)
        table["faults"] = [{"fault": f.name, **dataclasses.asdict(f)} for f in self.faults]
        return table


def fault_chain(profile: LinkProfile) -> tuple[Fault, ...]:
    """The faults one direction applies to each packet, in order: the profile's outage,
    its error mode (on its ARQ settings), its latency, then its extra faults."""
    return (profile.outage, error_mode_fault(profile.error_mode, profile.arq), profile.latency,
            *profile.faults)


@functools.cache
def _key_types() -> dict[str, Any]:
    """The type of each flat key: the profile field's, or the fault struct setting's."""
    hints = typing.get_type_hints(LinkProfile)
    out = {k: v for k, v in hints.items() if k not in _STRUCTS}
    for key, (name, setting) in FAULT_KEYS.items():
        out[key] = typing.get_type_hints(hints[name])[setting]
    return out


def _fading(spec: Any) -> FadingModel:
    if not isinstance(spec, FadingModel | str | Mapping):
        raise ConfigError(f"link profile: fading must be a model name or a table, got {spec!r}")
    return make_fading(spec.lower() if isinstance(spec, str) else spec)


def _faults(specs: Any) -> tuple[Fault, ...]:
    if not isinstance(specs, list | tuple):
        raise ConfigError(f"link profile: faults must be a list of tables, got {specs!r}")
    return tuple(make_fault(s) for s in specs)


def _gilbert(value: Any) -> GilbertParams | None:
    if value is None or isinstance(value, GilbertParams):
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"link profile: gilbert must be a table, got {value!r}")
    try:
        return GilbertParams(**{k: float(v) for k, v in value.items()})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"link profile: bad gilbert table: {exc}") from None


def _coerce(name: str, value: Any) -> Any:
    """Check the type of one flat profile value from TOML or JSON (numbers become floats)."""
    if name == "faults":
        return _faults(value)
    if name == "gilbert":
        return _gilbert(value)
    kind = _key_types().get(name, float)  # a legacy key (rician_k) is a number
    if value is None and type(None) in typing.get_args(kind):
        return None
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"link profile: {name} must be a string, got {value!r}")
        return value.lower()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"link profile: {name} must be a number, got {value!r}")
    if kind is int:
        if value != int(value):
            raise ConfigError(f"link profile: {name} must be an integer, got {value!r}")
        return int(value)
    return float(value)
