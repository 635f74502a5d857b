"""A user's link profile: where it is and how its radio behaves."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from aaas import ConfigError

from .channel import (
    PATHLOSS_MODELS,
    RATE_MODELS,
    GilbertParams,
    check_fading,
    check_modulation,
    db_to_linear,
    mean_snr_db,
    path_loss_db,
)

__all__ = ["ERROR_MODES", "LinkProfile"]

ERROR_MODES = ("arq", "corrupt")


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
    fading: str = "rayleigh"
    """none, rayleigh or rician."""
    rician_k: float = 6.0
    """Rician K factor (linear)."""
    coherence_s: float = 0.01
    """Coherence time: emulated seconds a fading block lasts."""
    mtu_bytes: int = 1500
    """Packets are cut into frames of at most this many bytes."""
    error_mode: str = "arq"
    """arq (resend a failed frame up to retry_limit times) or corrupt (flip payload bits)."""
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

    def __post_init__(self) -> None:
        check_modulation(self.modulation)
        check_fading(self.fading, self.rician_k)
        if self.pathloss not in PATHLOSS_MODELS:
            raise ConfigError(f"unknown path loss {self.pathloss!r} (one of {PATHLOSS_MODELS})")
        if self.rate not in RATE_MODELS:
            raise ConfigError(f"unknown rate model {self.rate!r} (one of {RATE_MODELS})")
        if self.error_mode not in ERROR_MODES:
            raise ConfigError(f"unknown error mode {self.error_mode!r} (one of {ERROR_MODES})")
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
        return cls(snr_db=math.inf, fading="none", rate_bps=math.inf, pathloss="none")

    @property
    def is_perfect(self) -> bool:
        return (self.snr_db == math.inf and self.fading == "none" and self.rate_bps == math.inf
                and self.latency_s == 0 and self.gilbert is None)

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
        """A copy with *changes* (validated); unknown names raise ConfigError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ConfigError(f"unknown link profile keys {sorted(unknown)} "
                              f"(known: {sorted(names)})")
        changes = {k: _coerce(k, v) for k, v in changes.items()}
        try:
            return dataclasses.replace(self, **changes)
        except TypeError as exc:
            raise ConfigError(f"bad link profile value: {exc}") from None


_STR_FIELDS = {"pathloss", "modulation", "rate", "fading", "error_mode"}
_INT_FIELDS = {"mtu_bytes", "retry_limit", "tcp_retries"}
_OPTIONAL = {"snr_db", "rate_bps", "gilbert"}


def _coerce(name: str, value: Any) -> Any:
    """Check the type of one profile value from TOML or JSON (numbers become floats)."""
    if value is None and name in _OPTIONAL:
        return None
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
