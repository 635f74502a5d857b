"""Closed forms of the channel models against known values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aaas import ConfigError
from link.channel import (
    GilbertElliott,
    GilbertParams,
    ber,
    ber_array,
    bit_rate,
    db_to_linear,
    expect,
    frame_sizes,
    free_space_db,
    log_distance_db,
    mean_snr_db,
    noise_dbm,
    outage_probability,
    per,
    umi_los_db,
    umi_nlos_db,
)


def test_bpsk_on_awgn_at_10_db_is_3_87e_6() -> None:
    assert ber("bpsk", db_to_linear(10.0)) == pytest.approx(3.87e-6, rel=2e-3)


@pytest.mark.parametrize(("mod", "snr_db", "expected"), [
    ("qpsk", 10.0, 7.827e-4),     # Q(sqrt(10))
    ("bpsk", 0.0, 7.865e-2),      # Q(sqrt(2))
    ("16qam", 20.0, 0.75 * 3.872e-6),  # 3/4 Q(sqrt(20)); Q(3a), Q(5a) vanish
])
def test_ber_known_values(mod: str, snr_db: float, expected: float) -> None:
    assert ber(mod, db_to_linear(snr_db)) == pytest.approx(expected, rel=5e-3)


def test_ber_array_matches_scalar_and_infinite_snr_is_error_free() -> None:
    snrs = np.array([0.1, 1.0, 3.0, 10.0, 100.0])
    for mod in ("bpsk", "qpsk", "16qam"):
        np.testing.assert_allclose(ber_array(mod, snrs), [ber(mod, s) for s in snrs], rtol=1e-9)
        assert ber(mod, math.inf) == 0.0
    with pytest.raises(ConfigError):
        ber("64qam", 1.0)


@pytest.mark.parametrize(("mean_db", "th_db"), [(10.0, 0.0), (0.0, 0.0), (20.0, 5.0)])
def test_rayleigh_outage_is_one_minus_exp(mean_db: float, th_db: float) -> None:
    g, th = db_to_linear(mean_db), db_to_linear(th_db)
    assert outage_probability("rayleigh", g, th) == pytest.approx(1 - math.exp(-th / g), rel=1e-12)


def test_rician_with_k_zero_is_rayleigh_and_large_k_tends_to_awgn() -> None:
    g, th = 10.0, 1.0
    assert outage_probability("rician", g, th, rician_k=0.0) == pytest.approx(
        1 - math.exp(-th / g), rel=2e-3)
    assert outage_probability("rician", g, th, rician_k=200.0) < 1e-6
    assert outage_probability("none", g, th) == 0.0
    assert outage_probability("none", 0.5, th) == 1.0


def test_mean_ber_over_rayleigh_matches_closed_form() -> None:
    for snr_db in (0.0, 10.0, 20.0):
        g = db_to_linear(snr_db)
        closed = 0.5 * (1 - math.sqrt(g / (1 + g)))  # BPSK on Rayleigh
        assert expect("rayleigh", lambda x, g=g: ber_array("bpsk", g * x)) == pytest.approx(
            closed, rel=1e-3)


def test_per_and_frames() -> None:
    assert per(0.0, 12000) == 0.0
    assert per(1e-4, 8000) == pytest.approx(1 - (1 - 1e-4) ** 8000, rel=1e-12)
    assert list(frame_sizes(3100, 1500)) == [1500, 1500, 100]
    assert list(frame_sizes(1500, 1500)) == [1500]
    assert frame_sizes(3100, 1500).sum() == 3100


def test_path_loss_values() -> None:
    # 3GPP TR 38.901 UMi street canyon at 3.5 GHz, 100 m (before the 210 m breakpoint).
    assert umi_los_db(100.0) == pytest.approx(32.4 + 42.0 + 20 * math.log10(3.5), abs=1e-9)
    assert umi_nlos_db(100.0) == pytest.approx(35.3 * 2 + 22.4 + 21.3 * math.log10(3.5), abs=1e-9)
    # LOS is continuous at the breakpoint d'_BP = 4 (h_BS - 1)(h_UT - 1) f / c = 210 m.
    d_bp = 4 * 9.0 * 0.5 * 3.5e9 / 299_792_458.0
    assert umi_los_db(d_bp * (1 - 1e-9)) == pytest.approx(umi_los_db(d_bp * (1 + 1e-9)), abs=0.05)
    assert umi_nlos_db(500.0) >= umi_los_db(500.0)
    # Log-distance with exponent 2 is free space; each decade adds 10 n dB.
    assert log_distance_db(250.0, exponent=2.0) == pytest.approx(free_space_db(250.0, 3.5))
    assert log_distance_db(100.0, exponent=3.5) - log_distance_db(10.0, exponent=3.5) == \
        pytest.approx(35.0)
    with pytest.raises(ConfigError):
        umi_los_db(-1.0)


def test_link_budget() -> None:
    assert noise_dbm(20e6, 7.0) == pytest.approx(-174 + 73.0103 + 7, abs=1e-3)
    snr = mean_snr_db(tx_power_dbm=23.0, path_loss_db=100.0, noise_figure_db=7.0, bandwidth_hz=20e6)
    assert snr == pytest.approx(23 - 100 + 93.99, abs=0.01)


def test_rate_models() -> None:
    assert bit_rate("modulation", modulation="16qam", bandwidth_hz=10e6, snr=5.0) == 40e6
    assert bit_rate("shannon", modulation="bpsk", bandwidth_hz=1e6, snr=3.0) == pytest.approx(2e6)


def test_gilbert_elliott_long_run_loss() -> None:
    params = GilbertParams(p_good_bad=0.05, p_bad_good=0.2, loss_good=0.0, loss_bad=0.8)
    ge = GilbertElliott(params=params, rng=np.random.default_rng(3))
    losses = ge.losses(50_000)
    assert params.stationary_loss == pytest.approx(0.16)
    assert losses.mean() == pytest.approx(0.16, abs=0.02)
    # Bursty: a loss is far more likely right after a loss than on average.
    after_loss = losses[1:][losses[:-1]].mean()
    assert after_loss > 2 * losses.mean()
