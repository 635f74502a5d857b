"""What the link did to one packet: the record the faults of a direction fill in."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Transmission"]


@dataclass(kw_only=True)
class Transmission:
    """One packet going through a direction's fault chain (times in emulated seconds).

    ``end_s`` is the chain's clock: each fault starts from it and moves it on.
    """

    packet: bytes
    """The packet as delivered (bits flipped in corrupt mode)."""
    start_s: float
    """When it reached the head of the link's queue."""
    payload_from: int | None = None
    """Byte offset of a PUBLISH payload in *packet* (None: not a PUBLISH)."""
    end_s: float = 0.0
    """When its last frame left the air (or the connection closed)."""
    latency_s: float = 0.0
    """Extra delay after the air before delivery (propagation, scheduling)."""
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

    @property
    def deliver_s(self) -> float:
        """When the packet reaches the other side (or the close takes effect)."""
        return self.end_s + self.latency_s
