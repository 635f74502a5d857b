"""Link budget: transmit power, path loss, noise figure and bandwidth give the mean SNR."""

from __future__ import annotations

import math

from aaas import ConfigError

__all__ = ["THERMAL_NOISE_DBM_HZ", "db_to_linear", "linear_to_db", "mean_snr_db", "noise_dbm"]

THERMAL_NOISE_DBM_HZ = -174.0
"""kT at 290 K in dBm per Hz."""


def noise_dbm(bandwidth_hz: float, noise_figure_db: float) -> float:
    """Noise power: -174 dBm/Hz + 10 log10(B) + NF."""
    if not bandwidth_hz > 0:
        raise ConfigError(f"bandwidth must be > 0 Hz, got {bandwidth_hz}")
    return THERMAL_NOISE_DBM_HZ + 10.0 * math.log10(bandwidth_hz) + noise_figure_db


def mean_snr_db(*, tx_power_dbm: float, path_loss_db: float, noise_figure_db: float,
                bandwidth_hz: float, antenna_gain_db: float = 0.0) -> float:
    """SNR = P_tx + G - PL - N (all dB)."""
    return tx_power_dbm + antenna_gain_db - path_loss_db - noise_dbm(bandwidth_hz, noise_figure_db)


def db_to_linear(db: float) -> float:
    return math.inf if db == math.inf else 10.0 ** (db / 10.0)


def linear_to_db(x: float) -> float:
    if x <= 0:
        return -math.inf
    return math.inf if x == math.inf else 10.0 * math.log10(x)
