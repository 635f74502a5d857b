"""What one direction of the channel does to a packet: air time, ARQ, outage, corruption."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aaas import ConfigError
from link import DirectionChannel, LinkProfile
from link.channel import GilbertParams


def _channel(seed: int = 1, **kw: object) -> DirectionChannel:
    return DirectionChannel(profile=LinkProfile().replace(**kw), uplink=True,
                            rng=np.random.default_rng(seed))


def _publish(payload: bytes, topic: bytes = b"aaas/v1/users/u/request") -> tuple[bytes, int]:
    body = len(topic).to_bytes(2, "big") + topic + b"\x00\x07" + payload  # QoS 1: packet id
    n = len(body)
    header = bytes([0x32]) + (bytes([n]) if n < 128 else bytes([(n & 0x7F) | 0x80, n >> 7]))
    return header + body, len(header) + 2 + len(topic) + 2


def test_perfect_channel_changes_nothing() -> None:
    ch = DirectionChannel(profile=LinkProfile.perfect(), uplink=True,
                          rng=np.random.default_rng(0))
    packet, at = _publish(b"hello" * 100)
    tx = ch.transmit(packet, now=5.0, payload_from=at)
    assert tx.packet == packet
    assert tx.end_s == 5.0
    assert tx.hold_s == 0.0
    assert tx.closed is None
    assert tx.bytes_retx == 0
    assert tx.bits_flipped == 0
    assert LinkProfile.perfect().is_perfect
    assert not LinkProfile().is_perfect


def test_error_free_air_time_follows_size_and_queue() -> None:
    ch = _channel(snr_db=math.inf, fading="none", rate_bps=8e6, mtu_bytes=1000)
    tx = ch.transmit(b"x" * 2500, now=0.0)
    assert tx.end_s == pytest.approx(2500 * 8 / 8e6)
    assert tx.frames == 3
    assert tx.bytes_payload == 2500
    assert tx.bytes_retx == 0
    # A second packet queues behind the first on the air.
    tx2 = ch.transmit(b"y" * 1000, now=0.0)
    assert tx2.start_s == pytest.approx(tx.end_s)
    assert tx2.end_s == pytest.approx(tx.end_s + 1000 * 8 / 8e6)


def test_modulation_rate_from_bandwidth() -> None:
    ch = _channel(snr_db=math.inf, fading="none", modulation="16qam", bandwidth_hz=1e6)
    tx = ch.transmit(b"x" * 500, now=0.0)
    assert tx.end_s == pytest.approx(500 * 8 / 4e6)


def test_arq_retransmits_and_counts_bytes() -> None:
    # BPSK at 7 dB: BER 7.7e-4, a 100-byte frame fails with p = 0.46 per try.
    ch = _channel(snr_db=7.0, fading="none", modulation="bpsk", rate_bps=1e6, mtu_bytes=100,
                  retry_limit=50, outage_snr_db=-10.0)
    total = retx = frames = 0
    for _ in range(200):
        tx = ch.transmit(b"z" * 1000, now=0.0)
        assert tx.closed is None
        assert tx.packet == b"z" * 1000
        total += tx.bytes_payload
        retx += tx.bytes_retx
        frames += tx.frames
    assert total == 200_000
    p_fail = 1 - (1 - 0.5 * math.erfc(math.sqrt(10**0.7))) ** 800
    expected_tries = 1 / (1 - p_fail)
    assert frames / 2000 == pytest.approx(expected_tries, rel=0.08)
    assert retx == pytest.approx(total * (expected_tries - 1), rel=0.1)
    assert ch.busy_until == pytest.approx((total + retx) * 8 / 1e6)


def test_arq_gives_up_and_closes_after_tcp_retries() -> None:
    ch = _channel(snr_db=-3.0, fading="none", modulation="16qam", rate_bps=1e6,
                  retry_limit=2, tcp_retries=3, rto_s=1.0, outage_snr_db=-20.0)
    tx = ch.transmit(b"q" * 1500, now=0.0)
    assert tx.closed == "retry_limit"
    assert tx.frames_failed == 4
    assert tx.frames == 12
    assert tx.end_s >= 3 * 1.0


def test_outage_holds_until_the_block_ends() -> None:
    ch = _channel(snr_db=10.0, fading="rayleigh", coherence_s=0.5, outage_snr_db=9.0,
                  rate_bps=math.inf, seed=4)
    held = 0
    for _ in range(400):
        t = (math.floor(ch.busy_until / 0.5) + 1) * 0.5 + 0.1  # a fresh block each time
        tx = ch.transmit(b"p", now=t)
        if tx.hold_s > 0:
            held += 1
            assert tx.closed is None
            # It leaves at the start of a later block, never within the bad one.
            assert math.isclose((tx.end_s / 0.5) % 1, 0, abs_tol=1e-9) or \
                math.isclose((tx.end_s / 0.5) % 1, 1, abs_tol=1e-9)
    # P(outage) = 1 - exp(-10^0.9 / 10) = 0.547
    assert held / 400 == pytest.approx(1 - math.exp(-(10**0.9) / 10), abs=0.1)


def test_forced_outage_then_long_outage_closes() -> None:
    ch = _channel(snr_db=30.0, fading="none", rate_bps=math.inf, outage_close_s=10.0)
    ch.forced_until = 4.0
    tx = ch.transmit(b"a", now=1.0)
    assert tx.closed is None
    assert tx.end_s == pytest.approx(4.0)
    assert tx.hold_s == pytest.approx(3.0)
    ch.forced_until = 100.0
    tx = ch.transmit(b"b", now=5.0)
    assert tx.closed == "outage"
    assert tx.end_s == pytest.approx(15.0)
    deep = _channel(snr_db=-30.0, fading="none", outage_close_s=2.0)
    assert deep.transmit(b"c", now=0.0).closed == "outage"


def test_corrupt_flips_only_payload_bits() -> None:
    ch = _channel(snr_db=6.0, fading="none", modulation="bpsk", error_mode="corrupt",
                  rate_bps=1e6, outage_snr_db=-10.0, mtu_bytes=300)
    payload = bytes(range(256)) * 8
    packet, at = _publish(payload)
    flipped = 0
    for _ in range(20):
        tx = ch.transmit(packet, now=0.0, payload_from=at)
        assert len(tx.packet) == len(packet)
        assert tx.packet[:at] == packet[:at]  # fixed header, topic, packet id kept
        diff = np.unpackbits(np.frombuffer(tx.packet, np.uint8) ^ np.frombuffer(packet, np.uint8))
        assert int(diff.sum()) == tx.bits_flipped
        assert tx.bytes_retx == 0
        flipped += tx.bits_flipped
    ber = 0.5 * math.erfc(math.sqrt(10**0.6))
    assert flipped / (20 * len(payload) * 8) == pytest.approx(ber, rel=0.15)


def test_corrupt_mode_sends_other_packets_by_arq() -> None:
    ch = _channel(snr_db=5.0, fading="none", modulation="bpsk", error_mode="corrupt",
                  retry_limit=100, outage_snr_db=-10.0)
    tx = ch.transmit(b"\x40\x02\x00\x07" * 100, now=0.0, payload_from=None)
    assert tx.packet == b"\x40\x02\x00\x07" * 100
    assert tx.bits_flipped == 0


def test_gilbert_elliott_adds_bursty_retries() -> None:
    ch = _channel(snr_db=math.inf, fading="none", rate_bps=1e6, mtu_bytes=100, retry_limit=100,
                  gilbert=GilbertParams(p_good_bad=0.1, p_bad_good=0.5, loss_bad=1.0))
    frames = sum(ch.transmit(b"g" * 10_000, now=0.0).frames for _ in range(20))
    # long-run loss 1/6 per try: 2000 frames need 2000 / (5/6) tries
    assert frames == pytest.approx(2000 * 6 / 5, rel=0.1)


def test_profile_validation() -> None:
    with pytest.raises(ConfigError):
        LinkProfile(modulation="8psk")
    with pytest.raises(ConfigError):
        LinkProfile(error_mode="drop")
    with pytest.raises(ConfigError):
        LinkProfile().replace(distance_m="far")
    with pytest.raises(ConfigError):
        LinkProfile().replace(nonsense=1)
    assert LinkProfile().replace(distance_m=10).distance_m == 10.0
    assert LinkProfile().replace(gilbert={"loss_bad": 1}).gilbert == GilbertParams(loss_bad=1.0)


def test_block_end_is_always_after_t() -> None:
    from link.channel import BlockFading

    f = BlockFading(kind="rayleigh", coherence_s=0.005, rng=np.random.default_rng(0))
    for k in range(1, 2000):
        t = f.block_end(k * 0.005 * (1 - 1e-16))
        assert f.block_end(t) > t  # 0.015 / 0.005 = 2.9999999999999996 must not stall


def test_a_perfect_user_is_perfect_again_after_a_forced_outage() -> None:
    from link.user import UserLink

    user = UserLink(user_id="u", profile=LinkProfile.perfect(), seed=1)
    assert user.perfect(0.0)
    user.force_outage(10.0)
    assert not user.perfect(5.0)
    tx = user.up.transmit(b"held", now=5.0)
    assert tx.end_s == pytest.approx(10.0)
    assert user.perfect(10.5)


def test_an_added_fault_runs_in_the_chain_of_each_direction() -> None:
    from dataclasses import dataclass

    from link import Fault, Transmission
    from link.faults import LINK_FAULTS

    @dataclass(frozen=True, kw_only=True)
    class Jitter(Fault):  # a fault as an outside package would write one
        name = "test-jitter"
        max_s: float = 1.0

        def apply(self, tx: Transmission, ch: DirectionChannel) -> None:
            tx.latency_s += float(ch.rng.uniform(0.0, self.max_s))

    if "test-jitter" not in LINK_FAULTS:
        LINK_FAULTS.add("test-jitter", Jitter)
    profile = LinkProfile.perfect().replace(
        latency_s=0.5, faults=[{"fault": "test-jitter", "max_s": 0.25}])
    assert not profile.is_perfect
    ch = DirectionChannel(profile=profile, uplink=False, rng=np.random.default_rng(3))
    tx = ch.transmit(b"x" * 100, now=2.0)
    assert tx.end_s == 2.0  # no air time: the latency comes after the air
    assert 0.5 <= tx.deliver_s - 2.0 <= 0.75
    assert ch.busy_until == 2.0
