"""ARQ: a failed frame is sent again, up to a retry limit; each try costs air time and bytes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from aaas import ConfigError

from ..channel import frame_sizes, per_array
from .airtime import air_time_s, frames_in_block
from .base import Fault, register_fault

if TYPE_CHECKING:
    from ..transmission import Transmission
    from .air import Air

__all__ = ["Arq", "arq_tries"]


@register_fault
@dataclass(frozen=True, kw_only=True)
class Arq(Fault):
    """Put the packet's frames on the air; resend each failed one, then fall back on TCP.

    A frame fails with its PER at the block's SNR (and a Gilbert–Elliott loss when the
    channel has one); it is sent again up to ``retry_limit`` times. When the link gives
    up on frames, TCP resends them after ``rto_s``; when one frame has been given up
    ``tcp_retries + 1`` times the connection is closed (``tx.closed = "retry_limit"``).
    The count is per frame (a TCP segment), so a long packet is not closed for the sum
    of the fades it crosses.
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
    """TCP retransmissions of one frame (segment) before the connection is closed."""

    def __post_init__(self) -> None:
        for name, least in (("mtu_bytes", 1), ("retry_limit", 0), ("tcp_retries", 0)):
            if getattr(self, name) < least:
                raise ConfigError(f"arq: {name} must be >= {least}, got {getattr(self, name)}")
        if not self.rto_s >= 0:
            raise ConfigError(f"arq: rto_s must be >= 0, got {self.rto_s}")

    def apply(self, tx: Transmission, air: Air) -> None:
        if tx.closed is not None:
            return
        sizes = frame_sizes(len(tx.packet), self.mtu_bytes)
        tx.end_s = self._send(tx, air, sizes, tx.end_s)
        air.occupy(tx.end_s)

    def _send(self, tx: Transmission, air: Air, sizes: np.ndarray, t: float) -> float:
        first = np.ones(len(sizes), dtype=bool)
        rounds = np.zeros(len(sizes), dtype=np.int64)  # TCP resends of each frame so far
        bursts = air.burst_losses if air.bursty else None
        while len(sizes):
            snr = air.snr_at(t)
            rate = air.rate(snr)
            k = frames_in_block(sizes, rate, air.block_left(t))
            chunk, chunk_first = sizes[:k], first[:k]
            p_fail = per_array(air.ber(snr), chunk * 8)
            tries, failed = arq_tries(p_fail, self.retry_limit, air.rng, bursts)
            t += air_time_s(float(np.dot(chunk, tries)) * 8.0, rate)
            tx.frames += int(tries.sum())
            tx.frames_retried += int(tries.sum() - chunk_first.sum())
            tx.bytes_payload += int(chunk[chunk_first].sum())
            tx.bytes_retx += int(np.dot(chunk, tries) - chunk[chunk_first].sum())
            chunk_rounds = rounds[:k]
            sizes, first, rounds = sizes[k:], first[k:], rounds[k:]
            if failed.any():
                # TCP counts the resends of each segment, not of the whole message: a
                # long message through many fades closes only when one of its frames
                # fails tcp_retries + 1 times in a row.
                tx.frames_failed += int(failed.sum())
                again = chunk_rounds[failed] + 1
                if int(again.max()) > self.tcp_retries:
                    tx.closed = "retry_limit"
                    return t
                t += self.rto_s
                sizes = np.concatenate((chunk[failed], sizes))
                first = np.concatenate((np.zeros(int(failed.sum()), dtype=bool), first))
                rounds = np.concatenate((again, rounds))
        return t


def arq_tries(p_fail: np.ndarray, retry_limit: int, rng: np.random.Generator,
              bursts: Callable[[int], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(tries per frame, failed mask): a frame is tried until success or ``retry_limit + 1`` tries.

    Without burst losses the tries are geometric; with them (*bursts*: the
    Gilbert–Elliott chain, :meth:`Air.burst_losses`) each try also steps the
    chain, so losses come in bursts.
    """
    most = retry_limit + 1
    if bursts is None:
        p_ok = np.clip(1.0 - p_fail, 1e-12, 1.0)
        needed = rng.geometric(p_ok)
        return np.minimum(needed, most), needed > most
    tries = np.zeros(len(p_fail), dtype=np.int64)
    failed = np.zeros(len(p_fail), dtype=bool)
    for i, p in enumerate(p_fail):
        for k in range(1, most + 1):
            lost = bool(bursts(1)[0]) or rng.random() < p
            if not lost:
                tries[i] = k
                break
        else:
            tries[i] = most
            failed[i] = True
    return tries, failed
