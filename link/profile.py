"""A user's link profile: where it is and how its radio behaves."""

from __future__ import annotations

import dataclasses
import math
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
from .faults import Fault, check_error_mode, error_modes, make_fault

__all__ = ["LEGACY_FADING_KEYS", "LinkProfile", "error_modes"]

LEGACY_FADING_KEYS = {"rician_k": "k"}
"""Flat keys of older profiles that are now a setting of the fading model (old -> new)."""


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
    mtu_bytes: int = 1500
    """Packets are cut into frames of at most this many bytes."""
    error_mode: str = "arq"
    """The fault that puts frames on the air (``link.faults.LINK_FAULTS``): arq
    (resend a failed frame up to retry_limit times) or corrupt (flip payload bits)."""
    retry_limit: int = 7
    """ARQ: resends of one frame before the link gives up and TCP retransmits after rto_s."""
    rto_s: float = 0.2
    """Emulated TCP retransmission timeout after the link gave up on a frame."""
    tcp_retries: int = 8
    """TCP retransmissions of one packet before the connection is closed."""
    outage_snr_db: float = -5.0
    """Outage when the instantaneous SNR is below this; the link holds traffic meanwhile."""
    min_rate_bps: float = 0.0
    """Outage also when the Shannon rate is below this."""
    outage_close_s: float = 30.0
    """An outage longer than this (emulated s) closes the connection, as TCP would."""
    latency_s: float = 0.0
    """Fixed extra delay per packet (propagation, scheduling)."""
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
        for name in ("distance_m", "bandwidth_hz", "coherence_s", "carrier_ghz", "outage_close_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"link profile: {name} must be > 0, got {getattr(self, name)}")
        for name in ("rto_s", "latency_s", "min_rate_bps"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"link profile: {name} must be >= 0, got {getattr(self, name)}")
        if self.mtu_bytes < 1 or self.retry_limit < 0 or self.tcp_retries < 0:
            raise ConfigError("link profile: mtu_bytes >= 1, retry_limit >= 0, tcp_retries >= 0")
        if self.rate_bps is not None and not self.rate_bps > 0:
            raise ConfigError(f"link profile: rate_bps must be > 0, got {self.rate_bps}")

    @classmethod
    def perfect(cls) -> LinkProfile:
        """A channel that changes nothing: no errors, no fading, no air time, no delay."""
        return cls(snr_db=math.inf, fading=NoFading(), rate_bps=math.inf, pathloss="none")

    @property
    def is_perfect(self) -> bool:
        return (self.snr_db == math.inf and not self.fading.fades and self.rate_bps == math.inf
                and self.latency_s == 0 and self.gilbert is None and not self.faults)

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
        by_rate = 2.0 ** (self.min_rate_bps / self.bandwidth_hz) - 1.0
        return float(max(db_to_linear(self.outage_snr_db), by_rate))

    def replace(self, **changes: Any) -> LinkProfile:
        """A copy with *changes* (validated); unknown names raise ConfigError.

        ``fading`` may be a model, a table ``{model = ..., ...}`` or a name: the name of
        the current model keeps its settings, another name gives that model's defaults.
        The older flat keys (``rician_k``) change the new model's setting when it has one.
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names - set(LEGACY_FADING_KEYS)
        if unknown:
            raise ConfigError(f"unknown link profile keys {sorted(unknown)} "
                              f"(known: {sorted(names)})")
        legacy = {LEGACY_FADING_KEYS[k]: _coerce(k, changes.pop(k))
                  for k in list(changes) if k in LEGACY_FADING_KEYS}
        spec = changes.pop("fading", None)
        changes = {k: _coerce(k, v) for k, v in changes.items()}
        if spec is not None or legacy:
            if spec is None or (isinstance(spec, str) and spec.lower() == self.fading.name):
                spec = self.fading
            model = _fading(spec)
            settings = {k: v for k, v in legacy.items()
                        if k in {f.name for f in dataclasses.fields(model)}}
            changes["fading"] = _fading({**model.as_table(), **settings}) if settings else model
        try:
            return dataclasses.replace(self, **changes)
        except TypeError as exc:
            raise ConfigError(f"bad link profile value: {exc}") from None

    def as_table(self) -> dict[str, Any]:
        """The profile as a TOML/JSON table (the form ``[link.default]`` takes)."""
        table = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        table["fading"] = self.fading.as_table()
        table["gilbert"] = None if self.gilbert is None else dataclasses.asdict(self.gilbert)
        table["faults"] = [{"fault": f.name, **dataclasses.asdict(f)} for f in self.faults]
        return table


_STR_FIELDS = {"pathloss", "modulation", "rate", "error_mode"}
_INT_FIELDS = {"mtu_bytes", "retry_limit", "tcp_retries"}
_OPTIONAL = {"snr_db", "rate_bps", "gilbert"}


def _fading(spec: Any) -> FadingModel:
    if not isinstance(spec, FadingModel | str | Mapping):
        raise ConfigError(f"link profile: fading must be a model name or a table, got {spec!r}")
    return make_fading(spec.lower() if isinstance(spec, str) else spec)


def _faults(specs: Any) -> tuple[Fault, ...]:
    if not isinstance(specs, list | tuple):
        raise ConfigError(f"link profile: faults must be a list of tables, got {specs!r}")
    return tuple(make_fault(s) for s in specs)


def _coerce(name: str, value: Any) -> Any:
    """Check the type of one profile value from TOML or JSON (numbers become floats)."""
    if value is None and name in _OPTIONAL:
        return None
    if name == "faults":
        return _faults(value)
    if name == "gilbert":
        if isinstance(value, GilbertParams):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"link profile: gilbert must be a table, got {value!r}")
        try:
            return GilbertParams(**{k: float(v) for k, v in value.items()})
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"link profile: bad gilbert table: {exc}") from None
    if name in _STR_FIELDS:
        if not isinstance(value, str):
            raise ConfigError(f"link profile: {name} must be a string, got {value!r}")
        return value.lower()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"link profile: {name} must be a number, got {value!r}")
    if name in _INT_FIELDS:
        if value != int(value):
            raise ConfigError(f"link profile: {name} must be an integer, got {value!r}")
        return int(value)
    return float(value)
