"""Corrupt: bits of a PUBLISH payload are flipped; the MQTT framing is kept.

A frame's bit errors are drawn at its BER; those that fall inside the
application payload are flipped, those in the MQTT headers are taken as caught
by the (protected) link header. The receiver finds out through the content
checksum the contract carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..channel import frame_sizes
from .airtime import air_time_s, frames_in_block
from .arq import Arq
from .base import Fault, register_fault

if TYPE_CHECKING:
    from ..transmission import Transmission
    from .air import Air

__all__ = ["Corrupt", "flip_bits", "frame_bit_errors"]


@register_fault
@dataclass(frozen=True, kw_only=True)
class Corrupt(Fault):
    """Send each frame once and flip the bits its errors hit in a PUBLISH payload.

    Frames are cut at ``arq.mtu_bytes``; packets other than PUBLISH (CONNECT,
    PUBACK, ...) go by ``arq``.
    """

    name = "corrupt"
    error_mode = True

    arq: Arq = field(default_factory=Arq)
    """The frame size, and how packets without a payload go (the profile's ARQ settings)."""

    def apply(self, tx: Transmission, air: Air) -> None:
        if tx.closed is not None:
            return
        if tx.payload_from is None:
            self.arq.apply(tx, air)
            return
        sizes = frame_sizes(len(tx.packet), self.arq.mtu_bytes)
        tx.end_s = self._send(tx, air, sizes, tx.end_s, 8 * tx.payload_from)
        air.occupy(tx.end_s)

    @staticmethod
    def _send(tx: Transmission, air: Air, sizes: np.ndarray, t: float,
              payload_bit: int) -> float:
        packet, done = tx.packet, 0
        while done < len(sizes):
            snr = air.snr_at(t)
            rate = air.rate(snr)
            k = frames_in_block(sizes[done:], rate, air.block_left(t))
            chunk = sizes[done:done + k]
            lost = air.burst_losses(k) if air.bursty else None
            errors = frame_bit_errors(chunk, air.ber(snr), air.rng, lost)
            first_bit = 8 * int(sizes[:done].sum())
            packet, flipped = flip_bits(packet, errors, chunk, first_bit, payload_bit, air.rng)
            tx.bits_flipped += flipped
            t += air_time_s(float(chunk.sum()) * 8.0, rate)
            tx.frames += k
            tx.bytes_payload += int(chunk.sum())
            done += k
        tx.packet = packet
        return t


def frame_bit_errors(sizes: np.ndarray, ber: float, rng: np.random.Generator,
                     lost: np.ndarray | None = None) -> np.ndarray:
    """Bit error count of each frame (a Gilbert–Elliott loss garbles half its bits)."""
    bits = sizes * 8
    errors = rng.binomial(bits, min(max(ber, 0.0), 1.0))
    if lost is not None:
        errors = np.where(lost, bits // 2, errors)
    return np.asarray(errors, dtype=np.int64)


def flip_bits(packet: bytes, errors: np.ndarray, sizes: np.ndarray, first_bit: int,
              payload_from: int, rng: np.random.Generator) -> tuple[bytes, int]:
    """Flip *errors* random bits in each frame of *packet*, only at bits >= *payload_from*.

    *first_bit* is the bit offset of the first frame in *packet*. Returns the
    new packet and the number of bits flipped.
    """
    starts = first_bit + np.concatenate(([0], np.cumsum(sizes[:-1] * 8)))
    hit = errors > 0
    if not hit.any():
        return packet, 0
    pos = np.concatenate([rng.integers(s, s + 8 * n, e) for s, n, e in
                          zip(starts[hit], sizes[hit], errors[hit], strict=True)])
    pos = np.unique(pos[pos >= payload_from])
    if len(pos) == 0:
        return packet, 0
    buf = np.frombuffer(packet, dtype=np.uint8).copy()
    np.bitwise_xor.at(buf, pos >> 3, (1 << (7 - (pos & 7))).astype(np.uint8))
    return buf.tobytes(), len(pos)
