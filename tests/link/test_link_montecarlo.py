"""Monte-Carlo estimates fall inside statistical bounds of the closed forms; the CLI prints them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from link.channel import ber_array, channel_report, expect
from testbed.cli import main


def _within(empirical: float, analytic: float, n: int, sigmas: float = 5.0) -> bool:
    sd = math.sqrt(max(analytic * (1 - analytic), 1e-12) / n)
    return abs(empirical - analytic) <= sigmas * sd + 1e-9


@pytest.mark.parametrize(("mod", "fading", "snr_db"), [
    ("bpsk", "none", 6.0), ("qpsk", "none", 8.0), ("16qam", "none", 14.0),
    ("bpsk", "rayleigh", 10.0), ("qpsk", "rician", 10.0), ("16qam", "rayleigh", 18.0),
])
def test_monte_carlo_within_bounds(mod: str, fading: str, snr_db: float) -> None:
    frames = 20_000
    r = channel_report(snr_db=snr_db, modulation=mod, fading=fading, frame_bytes=25,
                       frames=frames, outage_snr_db=5.0, rng=np.random.default_rng(7))
    assert _within(r.per_empirical, r.per_analytic, frames)
    assert _within(r.outage_empirical, r.outage_analytic, frames)
    if fading == "none":  # bits are independent: a binomial bound on the bits simulated
        assert _within(r.ber_empirical, r.ber_analytic, r.bits_simulated)
    else:  # errors cluster in deep fades: bound on the spread of BER across fading blocks
        blocks = r.bits_simulated // 200
        snr = 10 ** (snr_db / 10)
        second = expect(fading, lambda x: ber_array(mod, snr * x) ** 2)
        sd = math.sqrt((second - r.ber_analytic**2) / blocks + r.ber_analytic / r.bits_simulated)
        assert abs(r.ber_empirical - r.ber_analytic) <= 5 * sd


def test_channel_cli_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["channel", "--snr-db", "10", "--modulation", "bpsk", "--fading", "rayleigh",
                 "--frame-bytes", "50", "--frames", "2000", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("ber", "per", "outage"):
        assert 0.0 <= data[f"{key}.analytic"] <= 1.0
        assert 0.0 <= data[f"{key}.empirical"] <= 1.0
    assert data["ber.analytic"] == pytest.approx(0.5 * (1 - math.sqrt(10 / 11)), rel=1e-3)


def test_channel_cli_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["channel", "--snr-db", "3", "--frames", "500", "--frame-bytes", "10"]) == 0
    out = capsys.readouterr().out
    assert "BER" in out
    assert "OUTAGE" in out
