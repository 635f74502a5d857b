"""Path loss models: log-distance and 3GPP TR 38.901 UMi street canyon.

Pure functions of the distance; every constant is a parameter. Losses are in dB.
"""

from __future__ import annotations

import math

from aaas import ConfigError

__all__ = ["PATHLOSS_MODELS", "free_space_db", "log_distance_db", "path_loss_db", "umi_los_db",
           "umi_nlos_db"]

SPEED_OF_LIGHT = 299_792_458.0
PATHLOSS_MODELS = ("none", "free_space", "log_distance", "umi_los", "umi_nlos")


def free_space_db(distance_m: float, carrier_ghz: float) -> float:
    """Friis free-space loss: 20 log10(4π d f / c)."""
    _check(distance_m, carrier_ghz)
    return 20.0 * math.log10(4.0 * math.pi * distance_m * carrier_ghz * 1e9 / SPEED_OF_LIGHT)


def log_distance_db(distance_m: float, *, exponent: float = 3.0, ref_distance_m: float = 1.0,
                    ref_loss_db: float | None = None, carrier_ghz: float = 3.5) -> float:
    """PL(d) = PL(d0) + 10 n log10(d / d0); PL(d0) defaults to free space at d0."""
    _check(distance_m, carrier_ghz)
    if not ref_distance_m > 0:
        raise ConfigError(f"reference distance must be > 0, got {ref_distance_m}")
    pl0 = free_space_db(ref_distance_m, carrier_ghz) if ref_loss_db is None else ref_loss_db
    return pl0 + 10.0 * exponent * math.log10(max(distance_m, ref_distance_m) / ref_distance_m)


def _breakpoint_m(carrier_ghz: float, h_bs: float, h_ut: float) -> float:
    """d'_BP = 4 h'_BS h'_UT f_c / c with effective heights (h_E = 1 m), TR 38.901 Table 7.4.1-1."""
    return 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * carrier_ghz * 1e9 / SPEED_OF_LIGHT


def umi_los_db(distance_m: float, *, carrier_ghz: float = 3.5, h_bs: float = 10.0,
               h_ut: float = 1.5) -> float:
    """UMi street canyon, LOS (TR 38.901 Table 7.4.1-1), d taken as the 3D distance."""
    _check(distance_m, carrier_ghz)
    d = max(distance_m, 10.0)
    d_bp = _breakpoint_m(carrier_ghz, h_bs, h_ut)
    fc = 20.0 * math.log10(carrier_ghz)
    if d <= d_bp:
        return 32.4 + 21.0 * math.log10(d) + fc
    return 32.4 + 40.0 * math.log10(d) + fc - 9.5 * math.log10(d_bp**2 + (h_bs - h_ut) ** 2)


def umi_nlos_db(distance_m: float, *, carrier_ghz: float = 3.5, h_bs: float = 10.0,
                h_ut: float = 1.5) -> float:
    """UMi street canyon, NLOS: max(PL_LOS, PL'_NLOS) (TR 38.901 Table 7.4.1-1)."""
    _check(distance_m, carrier_ghz)
    d = max(distance_m, 10.0)
    nlos = 35.3 * math.log10(d) + 22.4 + 21.3 * math.log10(carrier_ghz) - 0.3 * (h_ut - 1.5)
    return max(umi_los_db(d, carrier_ghz=carrier_ghz, h_bs=h_bs, h_ut=h_ut), nlos)


def path_loss_db(model: str, distance_m: float, *, carrier_ghz: float = 3.5,
                 exponent: float = 3.0) -> float:
    """Dispatch on the model name (one of PATHLOSS_MODELS)."""
    if model == "none":
        return 0.0
    if model == "free_space":
        return free_space_db(distance_m, carrier_ghz)
    if model == "log_distance":
        return log_distance_db(distance_m, exponent=exponent, carrier_ghz=carrier_ghz)
    if model == "umi_los":
        return umi_los_db(distance_m, carrier_ghz=carrier_ghz)
    if model == "umi_nlos":
        return umi_nlos_db(distance_m, carrier_ghz=carrier_ghz)
    raise ConfigError(f"unknown path loss model {model!r} (one of {PATHLOSS_MODELS})")


def _check(distance_m: float, carrier_ghz: float) -> None:
    if not distance_m > 0:
        raise ConfigError(f"distance must be > 0 m, got {distance_m}")
    if not carrier_ghz > 0:
        raise ConfigError(f"carrier frequency must be > 0 GHz, got {carrier_ghz}")
