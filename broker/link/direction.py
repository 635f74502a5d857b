"""One direction of one user's link: its fading, its air queue, what it does to a packet."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .channel import BlockFading, GilbertElliott, ber, bit_rate, frame_sizes, per_array
from .faults import (
    air_time_s,
    arq_tries,
    flip_bits,
    frame_bit_errors,
    frames_in_block,
    wait_for_signal,
)
from .profile import LinkProfile

__all__ = ["DirectionChannel", "Transmission"]


@dataclass(kw_only=True)
class Transmission:
    """What the link did to one packet (times in emulated seconds)."""

    packet: bytes
    """The packet as delivered (bits flipped in corrupt mode)."""
    start_s: float
    """When it reached the head of the link's queue."""
    end_s: float = 0.0
    """When its last frame left the air (or the connection closed)."""
    hold_s: float = 0.0
    """Time held by an outage."""
    closed: str | None = None
    """Why the connection must close instead of delivering (outage, retry_limit)."""
    frames: int = 0
    """Frames put on the air, every try counted."""
    frames_retried: int = 0
    """Tries beyond each frame's first."""
    frames_failed: int = 0
    """Frames the link gave up on (TCP sent them again after its timeout)."""
    bytes_payload: int = 0
    """Bytes on the air in first tries."""
    bytes_retx: int = 0
    """Bytes on the air in retransmissions."""
    bits_flipped: int = 0
    """Bits flipped in corrupt mode."""


@dataclass(kw_only=True)
class DirectionChannel:
    """The channel state of one direction (uplink or downlink) of one user."""

    profile: LinkProfile
    uplink: bool
    rng: np.random.Generator
    """Seeded generator of this direction (fading, bit errors, retries)."""
    busy_until: float = 0.0
    """Emulated time at which the air is free for the next packet."""
    forced_until: float = -1e300
    """A forced outage (control topic) lasts until this emulated time."""
    fading: BlockFading = field(init=False)
    gilbert: GilbertElliott | None = field(init=False)
    mean_snr: float = field(init=False)
    threshold: float = field(init=False)

    def __post_init__(self) -> None:
        self.reconfigure(self.profile)

    def reconfigure(self, profile: LinkProfile) -> None:
        """Take a new profile; the queue (busy_until) and any forced outage are kept."""
        self.profile = profile
        self.fading = BlockFading(kind=profile.fading, coherence_s=profile.coherence_s,
                                  rician_k=profile.rician_k, rng=self.rng)
        self.gilbert = (None if profile.gilbert is None
                        else GilbertElliott(params=profile.gilbert, rng=self.rng))
        self.mean_snr = profile.mean_snr(self.uplink)
        self.threshold = profile.outage_threshold()

    def _rate(self, snr: float) -> float:
        p = self.profile
        if p.rate_bps is not None:
            return p.rate_bps
        return bit_rate(p.rate, modulation=p.modulation, bandwidth_hz=p.bandwidth_hz, snr=snr)

    def transmit(self, packet: bytes, now: float, payload_from: int | None = None) -> Transmission:
        """Send *packet* (whole MQTT packet) that arrived at emulated *now*.

        *payload_from*: byte offset of a PUBLISH payload in *packet*; in corrupt
        mode only those bits may flip (other packets go by ARQ).
        """
        tx = Transmission(packet=packet, start_s=max(now, self.busy_until))
        t, _, closed = wait_for_signal(self, tx.start_s)
        tx.hold_s = t - tx.start_s if not closed else max(0.0, t - tx.start_s)
        if closed:
            tx.closed, tx.end_s = "outage", t
            return tx
        sizes = frame_sizes(len(packet), self.profile.mtu_bytes)
        if self.profile.error_mode == "corrupt" and payload_from is not None:
            t = self._send_corrupt(tx, sizes, t, 8 * payload_from)
        else:
            t = self._send_arq(tx, sizes, t)
        tx.end_s = t
        self.busy_until = t
        return tx

    def _block_left(self, t: float) -> float:
        return math.inf if self.profile.fading == "none" else self.fading.block_end(t) - t

    def _send_arq(self, tx: Transmission, sizes: np.ndarray, t: float) -> float:
        first = np.ones(len(sizes), dtype=bool)
        rounds = 0
        while len(sizes):
            snr = self.mean_snr * self.fading.gain_at(t)
            rate = self._rate(snr)
            k = frames_in_block(sizes, rate, self._block_left(t))
            chunk, chunk_first = sizes[:k], first[:k]
            p_fail = per_array(ber(self.profile.modulation, snr), chunk * 8)
            tries, failed = arq_tries(p_fail, self.profile.retry_limit, self.rng, self.gilbert)
            t += air_time_s(float(np.dot(chunk, tries)) * 8.0, rate)
            tx.frames += int(tries.sum())
            tx.frames_retried += int(tries.sum() - chunk_first.sum())
            tx.bytes_payload += int(chunk[chunk_first].sum())
            tx.bytes_retx += int(np.dot(chunk, tries) - chunk[chunk_first].sum())
            sizes, first = sizes[k:], first[k:]
            if failed.any():
                rounds += 1
                tx.frames_failed += int(failed.sum())
                if rounds > self.profile.tcp_retries:
                    tx.closed = "retry_limit"
                    return t
                t += self.profile.rto_s
                sizes = np.concatenate((chunk[failed], sizes))
                first = np.concatenate((np.zeros(int(failed.sum()), dtype=bool), first))
        return t

    def _send_corrupt(self, tx: Transmission, sizes: np.ndarray, t: float,
                      payload_bit: int) -> float:
        packet, done = tx.packet, 0
        while done < len(sizes):
            snr = self.mean_snr * self.fading.gain_at(t)
            rate = self._rate(snr)
            k = frames_in_block(sizes[done:], rate, self._block_left(t))
            chunk = sizes[done:done + k]
            lost = None if self.gilbert is None else self.gilbert.losses(k)
            errors = frame_bit_errors(chunk, ber(self.profile.modulation, snr), self.rng, lost)
            first_bit = 8 * int(sizes[:done].sum())
            packet, flipped = flip_bits(packet, errors, chunk, first_bit, payload_bit, self.rng)
            tx.bits_flipped += flipped
            t += air_time_s(float(chunk.sum()) * 8.0, rate)
            tx.frames += k
            tx.bytes_payload += int(chunk.sum())
            done += k
        tx.packet = packet
        return t
