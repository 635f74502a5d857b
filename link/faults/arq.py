"""ARQ: a failed frame is sent again, up to a retry limit; each try costs air time and bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import numpy as np

from ..channel import GilbertElliott, frame_sizes, per_array
from .airtime import air_time_s, frames_in_block
from .base import Fault, register_fault

if TYPE_CHECKING:
    from ..direction import DirectionChannel
    from ..profile import LinkProfile
    from ..transmission import Transmission

__all__ = ["Arq", "arq_tries"]


@register_fault
@dataclass(frozen=True, kw_only=True)
class Arq(Fault):
    """Put the packet's frames on the air; resend each failed one, then fall back on TCP.

    A frame fails with its PER at the block's SNR (and a Gilbert–Elliott loss when the
    channel has one); it is sent again up to ``retry_limit`` times. When the link gives
    up on frames, TCP resends them after ``rto_s``; after ``tcp_retries`` such rounds the
    connection is closed (``tx.closed = "retry_limit"``).
    """

    name = "arq"
    error_mode = True

    mtu_bytes: int = 1500
    """Packets are cut into frames of at most this many bytes."""
    retry_limit: int = 7
    """Resends of one frame before the link gives up on it."""
    rto_s: float = 0.2
    """Emulated TCP retransmission timeout after the link gave up on a frame."""
    tcp_retries: int = 8
    """TCP retransmissions of one packet before the connection is closed."""

    @classmethod
    def from_profile(cls, profile: LinkProfile) -> Self:
        return cls(mtu_bytes=profile.mtu_bytes, retry_limit=profile.retry_limit,
                   rto_s=profile.rto_s, tcp_retries=profile.tcp_retries)

    def apply(self, tx: Transmission, ch: DirectionChannel) -> None:
        if tx.closed is not None:
            return
        sizes = frame_sizes(len(tx.packet), self.mtu_bytes)
        tx.end_s = ch.busy_until = self._send(tx, ch, sizes, tx.end_s)

    def _send(self, tx: Transmission, ch: DirectionChannel, sizes: np.ndarray, t: float) -> float:
        first = np.ones(len(sizes), dtype=bool)
        rounds = 0
        while len(sizes):
            snr = ch.mean_snr * ch.fading.gain_at(t)
            rate = ch.rate(snr)
            k = frames_in_block(sizes, rate, ch.fading.block_left(t))
            chunk, chunk_first = sizes[:k], first[:k]
            p_fail = per_array(ch.ber(snr), chunk * 8)
            tries, failed = arq_tries(p_fail, self.retry_limit, ch.rng, ch.gilbert)
            t += air_time_s(float(np.dot(chunk, tries)) * 8.0, rate)
            tx.frames += int(tries.sum())
            tx.frames_retried += int(tries.sum() - chunk_first.sum())
            tx.bytes_payload += int(chunk[chunk_first].sum())
            tx.bytes_retx += int(np.dot(chunk, tries) - chunk[chunk_first].sum())
            sizes, first = sizes[k:], first[k:]
            if failed.any():
                rounds += 1
                tx.frames_failed += int(failed.sum())
                if rounds > self.tcp_retries:
                    tx.closed = "retry_limit"
                    return t
                t += self.rto_s
                sizes = np.concatenate((chunk[failed], sizes))
                first = np.concatenate((np.zeros(int(failed.sum()), dtype=bool), first))
        return t


def arq_tries(p_fail: np.ndarray, retry_limit: int, rng: np.random.Generator,
              gilbert: GilbertElliott | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(tries per frame, failed mask): a frame is tried until success or ``retry_limit + 1`` tries.

    Without Gilbert–Elliott the tries are geometric; with it each try also
    steps the chain, so losses come in bursts.
    """
    most = retry_limit + 1
    if gilbert is None:
        p_ok = np.clip(1.0 - p_fail, 1e-12, 1.0)
        needed = rng.geometric(p_ok)
        return np.minimum(needed, most), needed > most
    tries = np.zeros(len(p_fail), dtype=np.int64)
    failed = np.zeros(len(p_fail), dtype=bool)
    for i, p in enumerate(p_fail):
        for k in range(1, most + 1):
            lost = bool(gilbert.losses(1)[0]) or rng.random() < p
            if not lost:
                tries[i] = k
                break
        else:
            tries[i] = most
            failed[i] = True
    return tries, failed
