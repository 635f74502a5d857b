"""Corrupt: bits of a PUBLISH payload are flipped; the MQTT framing is kept.

A frame's bit errors are drawn at its BER; those that fall inside the
application payload are flipped, those in the MQTT headers are taken as caught
by the (protected) link header. The receiver finds out through the content
checksum the contract carries.
"""

from __future__ import annotations

import numpy as np

__all__ = ["flip_bits", "frame_bit_errors"]


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
