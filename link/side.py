"""One socket of a relayed connection: whole packets read from it, fast-forwarded when perfect.

On a perfect channel the packets go straight from ``data_received`` to the
other socket, without waking a task (each message crosses the proxy four
times, so a wake-up per crossing is most of the proxy's latency). Any other
channel, or a batch arriving while earlier packets are still in the slow path,
queues the packets for the direction's pump: bytes are never reordered.
"""

from __future__ import annotations

import asyncio
from collections import deque

from aaas import EmulatedClock, ErrorCode, ProtocolError

from .metrics import LinkMetrics
from .mqtt_frames import scan_packets
from .user import UserLink

__all__ = ["Batch", "LinkSide"]

Batch = tuple[bytes, list[tuple[int, int, int]]]
"""Bytes of whole packets and their (start, header length, end) bounds."""

_QUEUE_HIGH = 4 << 20
"""Queued bytes above which the side stops reading until its pump catches up."""
_QUEUE_LOW = 1 << 20
_SMALL_READ = 256 << 10
_BIG_READ = 1 << 20
"""Bytes asked of the socket per read while a large packet is coming in."""
_BIG_PARTIAL = 64 << 10
_WRITE_HIGH = 1 << 20
"""Write buffer of a socket above which the other socket stops reading."""
_WRITE_LOW = 256 << 10


class LinkSide(asyncio.Protocol):
    """Reads one socket; its packets go to ``peer``'s socket (fast) or to the pump (queued)."""

    def __init__(self, *, direction: str, user: UserLink, clock: EmulatedClock,
                 metrics: LinkMetrics) -> None:
        self.direction = direction
        """Direction of what is read from this socket (up: from the client)."""
        self.user, self.clock, self.metrics = user, clock, metrics
        self.transport: asyncio.Transport | None = None
        self.peer: LinkSide | None = None
        self._buf = bytearray()
        self._queue: deque[Batch | BaseException | None] = deque()
        self._queued = 0
        self._busy = True  # the pump holds packets (the first one, a batch): no fast path
        self._ended = False
        self._waiter: asyncio.Future[None] | None = None
        self._pauses: set[str] = set()
        self._write_paused = False
        self._drainers: list[asyncio.Future[None]] = []
        self._lost: BaseException | None = None
        self._big = False  # reading large packets in large reads

    # -- the transport's callbacks ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.attach(transport)  # type: ignore[arg-type]

    def attach(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(high=_WRITE_HIGH, low=_WRITE_LOW)

    def data_received(self, data: bytes) -> None:
        if self._ended:
            return
        buf = self._buf
        if buf:
            buf += data
        try:
            bounds = scan_packets(buf or data)
        except ProtocolError as exc:
            self._end(exc)
            return
        if not bounds:
            if not buf:
                buf += data
            if not self._big and len(buf) >= _BIG_PARTIAL:
                self._read_size(_BIG_READ)
            return
        end = bounds[-1][2]
        if buf:  # complete packets out of the buffer, the partial one stays
            data = bytes(buf[:end])
            del buf[:end]
        elif end < len(data):
            buf += data[end:]
            data = data[:end]
        if self._big and len(buf) < _BIG_PARTIAL:
            self._read_size(_SMALL_READ)
        peer = self.peer
        if (not self._busy and not self._queue and peer is not None
                and peer.transport is not None and self.user.perfect(self.clock.now())):
            peer.transport.write(data)
            self.metrics.forwarded(self.direction, end, len(bounds))
            return
        self._push((data, bounds))
        self._queued += end
        if self._queued > _QUEUE_HIGH:
            self._pause("queue", True)

    def eof_received(self) -> bool:
        if self._buf:
            self._end(ProtocolError(ErrorCode.MALFORMED, "stream ended inside a packet"))
        else:
            self._end(None)
        # Half-close: the other direction may still flow (TLS has no half-close: there
        # asyncio closes the transport whatever this returns, and warns if it is True).
        return self.transport is None or self.transport.get_extra_info("sslcontext") is None

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = exc or ConnectionResetError("connection lost")
        if not self._ended:
            self._end(ConnectionResetError(str(exc)) if exc is not None else None)
        self._wake_drainers()

    def pause_writing(self) -> None:
        self._write_paused = True
        if self.peer is not None:
            self.peer._pause("write", True)

    def resume_writing(self) -> None:
        self._write_paused = False
        if self.peer is not None:
            self.peer._pause("write", False)
        self._wake_drainers()

    # -- for the pump -----------------------------------------------------------------------
    async def next_batch(self) -> Batch | None:
        """The next queued batch, or ``None`` at a clean end of stream (raises on errors)."""
        self._busy = False
        while not self._queue:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._queue[0]
        if item is None or isinstance(item, BaseException):
            if item is None:
                return None
            raise item
        self._queue.popleft()
        self._busy = True
        self._queued -= len(item[0])
        if self._queued < _QUEUE_LOW:
            self._pause("queue", False)
        return item

    def write(self, data: bytes | bytearray) -> None:
        """Write to this side's socket."""
        if self.transport is not None:
            self.transport.write(data)

    async def drain(self) -> None:
        """Wait while this side's socket has too much to write."""
        while self._write_paused and self._lost is None:
            fut = asyncio.get_running_loop().create_future()
            self._drainers.append(fut)
            await fut
        if self._lost is not None:
            raise ConnectionResetError("connection lost")

    def pending_write(self) -> int:
        return 0 if self.transport is None else self.transport.get_write_buffer_size()

    # -- internals ---------------------------------------------------------------------------
    def _push(self, item: Batch | BaseException | None) -> None:
        self._queue.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _end(self, item: BaseException | None) -> None:
        self._ended = True
        self._push(item)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def _pause(self, reason: str, on: bool) -> None:
        before = bool(self._pauses)
        if on:
            self._pauses.add(reason)
        else:
            self._pauses.discard(reason)
        t = self.transport
        if t is None or t.is_closing() or self._ended or before == bool(self._pauses):
            return
        if self._pauses:
            t.pause_reading()
        else:
            t.resume_reading()

    def _read_size(self, size: int) -> None:
        """Ask asyncio's selector transport for reads of *size* bytes (it reads 256 KiB).

        Large payloads relay ~20 % faster in fewer, larger reads; small packets do
        better with the default (each read allocates its full size first).
        """
        self._big = size == _BIG_READ
        if isinstance(getattr(self.transport, "max_size", None), int):
            self.transport.max_size = size  # type: ignore[union-attr]

    def _wake_drainers(self) -> None:
        for fut in self._drainers:
            if not fut.done():
                fut.set_result(None)
        self._drainers.clear()

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"LinkSide({self.direction}, queued={self._queued}, busy={self._busy})"
