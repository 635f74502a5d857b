"""The WebRTC data channel's wire format: the part of the contract that is not MQTT.

Content travels between an edge node and a user over one reliable, ordered data
channel (label :data:`CHANNEL_LABEL`) of their peer connection, set up by the
``rtc_offer``/``rtc_answer`` routes. Each frame is a JSON header (a text message)
followed by ``size`` bytes of content cut into binary messages of at most
:data:`CHUNK_BYTES` (SCTP reassembles each one; small messages keep one transfer from
holding the channel for long and stay under every peer's ``max-message-size``).
Frames of one channel never interleave: each side sends one frame at a time.

Frames (docs/protocol.md#webrtc):

* ``pull`` (node → user): send me the content of ``task_id``;
* ``request`` (user → node): image then mask (``split`` = image bytes), ``checksum``
  as in the TaskRequest;
* ``result`` (node → user): the restored PNG, ``checksum`` = its sha256;
* ``ack`` (user → node): ``ok`` when the result's checksum matched;
* ``preview`` (node → user): a small intermediate PNG at diffusion step ``step``.

Light on purpose (msgspec only; no aiortc): the channel is any object with
``send(str | bytes)`` and ``bufferedAmount``, so the format is tested without a peer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

import msgspec

from .errors import ProtocolError
from .schemas import SCHEMA_VERSION, ErrorCode

__all__ = [
    "CHANNEL_LABEL",
    "CHUNK_BYTES",
    "DeliveryMode",
    "DeliverySettings",
    "Frame",
    "FrameHeader",
    "FrameKind",
    "FramePeer",
    "FrameReader",
    "MessageChannel",
    "send_frame",
]

CHANNEL_LABEL = "aaas-content"
CHUNK_BYTES = 16 * 1024
_HIGH_WATER = 1 << 20
"""Bytes queued in the channel above which the sender waits (flow control)."""
_MAX_FRAME_BYTES = 256 << 20
"""No frame announces more than this (a bad header must not make us allocate GBs)."""

DeliveryMode = Literal["mqtt", "webrtc", "auto"]
"""``mqtt``: content inline in MQTT payloads (through the broker); ``webrtc``: every
content over the data channel; ``auto``: content of at least ``threshold_bytes`` over the
data channel. Both WebRTC modes fall back to MQTT when the peer connection fails."""


@dataclass(frozen=True, kw_only=True)
class DeliverySettings:
    """How a user agent or an edge node delivers content (``--delivery`` and friends).

    The timeouts are wall seconds: setting up a peer connection and moving bytes over
    it are real network work, not emulated time.
    """

    mode: DeliveryMode = "mqtt"
    threshold_bytes: int = 64 * 1024
    """``auto``: content of at least this many bytes goes over WebRTC."""
    setup_timeout_s: float = 10.0
    """Wall seconds from the offer to an open data channel before falling back to MQTT."""
    transfer_timeout_s: float = 30.0
    """Wall seconds one frame may take to be answered (acknowledged or sent back)."""
    idle_close_s: float = 30.0
    """Wall seconds a peer connection with nothing to do stays open for the next task."""
    preview_every: int = 0
    """Edge node, ``repaint`` backend: a small ``preview`` frame every this many diffusion
    steps to users that take WebRTC (0: none)."""

    def __post_init__(self) -> None:
        if self.mode not in ("mqtt", "webrtc", "auto"):
            raise ValueError(f"delivery mode must be mqtt, webrtc or auto, not {self.mode!r}")
        for name in ("setup_timeout_s", "transfer_timeout_s", "idle_close_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        if self.threshold_bytes < 0:
            raise ValueError("threshold_bytes must be >= 0")
        if self.preview_every < 0:
            raise ValueError("preview_every must be >= 0")

    def grace_wall_s(self) -> float:
        """Wall seconds a task may wait on WebRTC before every fallback is done: set up
        and move the upload, then (maybe over a new connection) the result."""
        return 0.0 if self.mode == "mqtt" else 2 * (self.setup_timeout_s
                                                     + self.transfer_timeout_s)

    def over_webrtc(self, size: int) -> bool:
        """Whether content of *size* bytes goes over the data channel in this mode."""
        return self.mode == "webrtc" or (self.mode == "auto" and size >= self.threshold_bytes)


FrameKind = Literal["pull", "request", "result", "ack", "preview"]
Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$")]


class FrameHeader(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The text message that starts a frame."""

    v: int = SCHEMA_VERSION
    kind: FrameKind
    task_id: Id
    size: Annotated[int, msgspec.Meta(ge=0, le=_MAX_FRAME_BYTES)] = 0
    """Bytes of content that follow in binary messages."""
    split: Annotated[int, msgspec.Meta(ge=0)] = 0
    """``request``: bytes of the image (the mask follows it)."""
    checksum: str = ""
    ok: bool = True
    """``ack``: whether the content matched its checksum."""
    step: int = 0
    """``preview``: the diffusion step it shows."""


@dataclass(frozen=True)
class Frame:
    header: FrameHeader
    data: bytes


class MessageChannel(Protocol):
    """What :func:`send_frame` needs of a data channel (aiortc's RTCDataChannel has it)."""

    @property
    def bufferedAmount(self) -> int: ...  # noqa: N802 (aiortc's name, from the W3C API)

    def send(self, data: str | bytes) -> None: ...


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(FrameHeader)


async def send_frame(channel: MessageChannel, header: FrameHeader, data: bytes = b"") -> int:
    """Send one frame; returns the content bytes sent. Waits while the channel is full.

    The caller makes sure no other frame is being sent on *channel* meanwhile.
    """
    if header.size != len(data):
        raise ValueError(f"header says {header.size} bytes, content has {len(data)}")
    channel.send(_encoder.encode(header).decode())
    view = memoryview(data)
    for i in range(0, len(data), CHUNK_BYTES):
        # Polled, not evented: aiortc's "bufferedamountlow" needs its event emitter,
        # and a 5 ms poll costs nothing next to a frame of this size.
        while channel.bufferedAmount > _HIGH_WATER:  # noqa: ASYNC110 (see above)
            await asyncio.sleep(0.005)
        channel.send(bytes(view[i:i + CHUNK_BYTES]))
    return len(data)


class FrameReader:
    """Reassembles frames from the messages of one channel, in order."""

    def __init__(self) -> None:
        self._header: FrameHeader | None = None
        self._parts: list[bytes] = []
        self._have = 0

    def feed(self, message: str | bytes) -> Frame | None:
        """The frame *message* completes, if any; ProtocolError for a message out of place."""
        if isinstance(message, str):
            if self._header is not None:
                raise ProtocolError(ErrorCode.MALFORMED, "a header arrived inside a frame")
            try:
                header = _decoder.decode(message)
            except msgspec.ValidationError as exc:
                raise ProtocolError(ErrorCode.INVALID, f"frame header: {exc}") from None
            except msgspec.DecodeError as exc:
                raise ProtocolError(ErrorCode.MALFORMED, f"frame header: {exc}") from None
            if header.v != SCHEMA_VERSION:
                raise ProtocolError(ErrorCode.SCHEMA_VERSION, f"frame version {header.v}")
            self._header, self._parts, self._have = header, [], 0
        else:
            if self._header is None:
                raise ProtocolError(ErrorCode.MALFORMED, "content arrived outside a frame")
            self._parts.append(bytes(message))
            self._have += len(message)
            if self._have > self._header.size:
                self._header = None
                raise ProtocolError(ErrorCode.MALFORMED, "more content than the header said")
        header = self._header
        if header is None or self._have < header.size:
            return None
        self._header = None
        return Frame(header, b"".join(self._parts))


class FramePeer:
    """Both ends' view of one data channel: frames out (one at a time), frames in.

    A frame asked for with :meth:`expect` resolves its future; any other goes to
    *on_frame*. ``last_used`` (monotonic) and ``busy`` let the owner close idle peers.
    """

    def __init__(self, channel: MessageChannel, *, on_frame: Callable[[Frame], None],
                 on_bad: Callable[[ProtocolError], None] | None = None) -> None:
        self.channel = channel
        self._on_frame = on_frame
        self._on_bad = on_bad
        self._reader = FrameReader()
        self._lock = asyncio.Lock()
        self._waiting: dict[tuple[str, str], asyncio.Future[Frame]] = {}
        self._sending = 0
        self.last_used = time.monotonic()
        self.bytes_sent = 0
        self.bytes_received = 0

    @property
    def busy(self) -> bool:
        return bool(self._waiting) or self._sending > 0

    def on_message(self, message: str | bytes) -> None:
        """Give it every message of the channel (aiortc: ``channel.on("message", ...)``)."""
        self.last_used = time.monotonic()
        if isinstance(message, bytes | bytearray):
            self.bytes_received += len(message)
        try:
            frame = self._reader.feed(message)
        except ProtocolError as exc:
            if self._on_bad is not None:
                self._on_bad(exc)
            return
        if frame is None:
            return
        fut = self._waiting.pop((frame.header.kind, frame.header.task_id), None)
        if fut is not None and not fut.done():
            fut.set_result(frame)
        else:
            self._on_frame(frame)

    def expect(self, kind: FrameKind, task_id: str) -> asyncio.Future[Frame]:
        """A future for the next *kind* frame of *task_id* (register before sending)."""
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._waiting[(kind, task_id)] = fut
        fut.add_done_callback(lambda f: self._forget(kind, task_id, f))
        return fut

    def _forget(self, kind: str, task_id: str, fut: asyncio.Future[Frame]) -> None:
        if not fut.cancelled():
            fut.exception()  # retrieved: a sender that failed first never awaits it
        if self._waiting.get((kind, task_id)) is fut:
            del self._waiting[(kind, task_id)]

    async def send(self, header: FrameHeader, data: bytes = b"") -> int:
        """Send one frame after any frame being sent; returns content bytes sent."""
        self._sending += 1
        try:
            async with self._lock:
                n = await send_frame(self.channel, header, data)
        finally:
            self._sending -= 1
            self.last_used = time.monotonic()
        self.bytes_sent += n
        return n

    def fail(self, exc: BaseException) -> None:
        """The channel is gone: every waiting future fails with *exc*."""
        for fut in list(self._waiting.values()):
            if not fut.done():
                fut.set_exception(exc)
        self._waiting.clear()
