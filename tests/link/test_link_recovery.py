"""The users recover from bit errors the link's corrupt mode puts into payloads."""

from __future__ import annotations

from pathlib import Path

from aaas import BrokerURL, load_scenario
from testbed.demo import DemoOptions, run_demo


async def test_users_ask_again_when_the_link_corrupts_content(embedded: BrokerURL,
                                                              tmp_path: Path) -> None:
    scen = tmp_path / "corrupt.toml"
    scen.write_text(
        'name = "corrupt"\nseed = 5\n[asps]\ncount = 3\n'
        '[workload]\nusers = 10\nhorizon_s = 100000\narrival_rate = 0.0003\n'
        # A fixed 13 dB QPSK channel, bits flipped instead of retransmitted: about one
        # 1500-byte frame in ten arrives damaged, so some requests and results do.
        '[link.default]\nsnr_db = 13.0\nmodulation = "qpsk"\n'
        'fading = "none"\nerror_mode = "corrupt"\n')
    summary = await run_demo(DemoOptions(scenario=load_scenario(scen), broker=embedded,
                                         time_scale=20_000, progress=False))
    tasks = summary["tasks"]
    assert sum(v for k, v in tasks.items() if k != "sent") == tasks["sent"]
    assert summary["link"]["corrupted_packets"] > 0
    assert summary["retries"] > 0  # damaged content was noticed and asked again
    assert tasks["finished"] >= 0.8 * tasks["sent"]
