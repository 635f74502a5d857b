"""The node's side of WebRTC delivery (aiortc): it offers, the user answers over MQTT.

One peer connection per user, opened when the node first has content to move for
that user (a result to deliver, or a request's content to fetch) and reused for the
user's later tasks; a connection with nothing to do for ``idle_close_s`` is closed.
Every operation returns ``None``/``False`` instead of raising when the peer cannot
be reached in time: the caller then falls back to MQTT and counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from aaas import EmulatedClock, ErrorCode, ProtocolError, RtcAnswer, RtcOffer
from aaas.datachannel import CHANNEL_LABEL, DeliverySettings, Frame, FrameHeader, FramePeer
from aaas.images import checksum
from monitoring import DeliveryMetrics, FallbackReason

__all__ = ["PeerUnavailableError", "RtcNodeDelivery", "fallback_reason"]

_SERVICE = "edge"
_BROKEN: dict[str, FallbackReason] = {"closed": "peer_closed", "failed": "peer_failed",
                                      "stalled": "peer_stalled"}


class PeerUnavailableError(Exception):
    """The peer connection could not be set up (or broke) in time."""

    def __init__(self, reason: FallbackReason) -> None:
        super().__init__(reason)
        self.reason: FallbackReason = reason


def fallback_reason(exc: BaseException) -> FallbackReason:
    """Why a transfer that raised *exc* falls back to MQTT (``aaas_delivery_fallbacks``)."""
    if isinstance(exc, PeerUnavailableError):
        return exc.reason
    if isinstance(exc, TimeoutError):
        return "transfer_timeout"
    return "send_failed"


@dataclass(eq=False)
class _Peer:
    user_id: str
    session: str
    pc: RTCPeerConnection
    answer: asyncio.Future[str]
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    frames: FramePeer | None = None
    dead: bool = False


class RtcNodeDelivery:
    """Peer connections of one node, one per user (see the module doc)."""

    def __init__(self, settings: DeliverySettings, *, node_id: str, clock: EmulatedClock,
                 send_offer: Callable[[RtcOffer], None], metrics: DeliveryMetrics,
                 logger: logging.Logger | None = None) -> None:
        self.settings = settings
        self.node_id = node_id
        self.clock = clock
        self._send_offer = send_offer
        self.metrics = metrics
        self.log = logger or logging.getLogger(f"aaas.edge.{node_id}.rtc")
        self.peers: dict[str, _Peer] = {}
        self._setups: dict[str, asyncio.Task[_Peer]] = {}
        self._ids = itertools.count()
        self._reaper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap(), name=f"rtc-reaper:{self.node_id}")

    async def aclose(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        for t in self._setups.values():
            t.cancel()
        await asyncio.gather(*self._setups.values(), return_exceptions=True)
        await asyncio.gather(*(self._close(p) for p in list(self.peers.values())),
                             return_exceptions=True)

    async def _reap(self) -> None:
        idle = self.settings.idle_close_s
        while True:
            await asyncio.sleep(min(1.0, idle / 2))
            now = time.monotonic()
            for p in list(self.peers.values()):
                f = p.frames
                if p.dead or (f is not None and not f.busy and now - f.last_used > idle):
                    await self._close(p)

    async def _close(self, p: _Peer) -> None:
        if self.peers.get(p.user_id) is p:
            del self.peers[p.user_id]
            self.metrics.peers.labels(_SERVICE).dec()
        p.dead = True
        if p.frames is not None:
            p.frames.fail(PeerUnavailableError("peer_closed"))
        with contextlib.suppress(Exception):
            await p.pc.close()

    # -- signalling --------------------------------------------------------------------
    def on_answer(self, answer: RtcAnswer) -> None:
        """An ``rtc_answer`` from a user (the node's dispatcher calls this)."""
        p = self.peers.get(answer.user_id)
        if p is None or p.session != answer.session:
            raise ProtocolError(ErrorCode.INVALID, f"no open offer {answer.session!r} to "
                                f"{answer.user_id!r}")
        if not p.answer.done():
            p.answer.set_result(answer.sdp)

    async def _peer(self, user_id: str) -> FramePeer:
        p = self.peers.get(user_id)
        if p is not None and not p.dead and p.frames is not None and p.opened.is_set():
            return p.frames
        setup = self._setups.get(user_id)
        if setup is None:  # one setup per user at a time; others wait for it
            setup = self._setups[user_id] = asyncio.create_task(
                self._setup(user_id), name=f"rtc-setup:{self.node_id}:{user_id}")
            setup.add_done_callback(lambda t: self._setup_done(user_id, t))
        p = await asyncio.shield(setup)
        assert p.frames is not None  # set before _setup returns
        return p.frames

    def _setup_done(self, user_id: str, setup: asyncio.Task[_Peer]) -> None:
        """A setup ended. Its failure is retrieved here: every task waiting for it got
        PeerUnavailableError (and falls back to MQTT), but the one that started it may have
        been cancelled meanwhile (its task crashed or timed out), leaving the exception to
        nobody ("Task exception was never retrieved"). _setup logged it once."""
        self._setups.pop(user_id, None)
        if not setup.cancelled():
            setup.exception()

    async def _setup(self, user_id: str) -> _Peer:
        old = self.peers.get(user_id)
        if old is not None:
            await self._close(old)
        t0 = time.monotonic()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        p = _Peer(user_id, f"{self.node_id}.{next(self._ids)}", pc,
                  asyncio.get_running_loop().create_future())
        self.peers[user_id] = p
        self.metrics.peers.labels(_SERVICE).inc()
        channel = pc.createDataChannel(CHANNEL_LABEL)
        p.frames = FramePeer(channel, on_frame=lambda f: self._unexpected(user_id, f),
                             on_bad=lambda e: self.log.warning("%s: bad frame: %s", user_id, e))
        channel.on("message", p.frames.on_message)
        channel.on("open", p.opened.set)
        channel.on("close", lambda: self._broken(p, "closed"))
        pc.on("connectionstatechange",
              lambda: self._broken(p, "failed") if pc.connectionState == "failed" else None)
        try:
            async with asyncio.timeout(self.settings.setup_timeout_s):
                await pc.setLocalDescription(await pc.createOffer())
                self._send_offer(RtcOffer(node_id=self.node_id, user_id=user_id,
                                          session=p.session, sdp=pc.localDescription.sdp,
                                          at=self.clock.now()))
                sdp = await p.answer
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
                await p.opened.wait()
        except Exception as exc:  # aiortc raises many kinds; each one means "no peer"
            reason = "timeout" if isinstance(exc, TimeoutError) else "error"
            self.metrics.peer_failures.labels(_SERVICE, reason).inc()
            self.log.info("no peer connection to %s after %.1f wall s (%s: %r)", user_id,
                          time.monotonic() - t0, reason, exc)
            await self._close(p)
            raise PeerUnavailableError("peer_setup_timeout" if reason == "timeout"
                                       else "peer_setup_failed") from None
        self.metrics.peer_setup.labels(_SERVICE).observe(time.monotonic() - t0)
        return p

    def _stalled(self, user_id: str) -> None:
        """A frame to *user_id* timed out, maybe in the middle: the channel cannot be
        trusted to be at a frame boundary; the next task sets up a new one."""
        p = self.peers.get(user_id)
        if p is not None:
            self._broken(p, "stalled")

    def _broken(self, p: _Peer, reason: Literal["closed", "failed", "stalled"]) -> None:
        if p.dead:
            return
        self.metrics.peer_failures.labels(_SERVICE, reason).inc()
        p.dead = True
        if p.frames is not None:
            p.frames.fail(PeerUnavailableError(_BROKEN[reason]))

    def _unexpected(self, user_id: str, frame: Frame) -> None:
        self.log.info("%s: unexpected %s frame for %s", user_id, frame.header.kind,
                      frame.header.task_id)

    # -- content -------------------------------------------------------------------------
    async def deliver_result(self, user_id: str, task_id: str,
                             image: bytes) -> FallbackReason | None:
        """Send a result's image: None once the user acknowledged it intact, else why it
        must go over MQTT (logged here, once)."""
        try:
            peer = await self._peer(user_id)
            ack = peer.expect("ack", task_id)
            # The send too: a channel whose datagrams the link loses can stall a frame
            # (and the frames queued behind it) for good; the user's deadline cannot wait.
            async with asyncio.timeout(self.settings.transfer_timeout_s):
                n = await peer.send(FrameHeader(kind="result", task_id=task_id,
                                                size=len(image), checksum=checksum(image)),
                                    image)
                self.metrics.bytes.labels("webrtc", _SERVICE, "sent").inc(n)
                frame = await ack
        except Exception as exc:  # a broken channel, a timeout: the caller falls back
            return self._failed(user_id, exc, f"result of {task_id} not delivered over "
                                "WebRTC (%s): it goes over MQTT")
        if not frame.header.ok:
            self.log.info("result of %s damaged over WebRTC: it goes over MQTT", task_id)
            return "result_damaged"
        return None

    async def fetch_content(self, user_id: str,
                            task_id: str) -> tuple[bytes, bytes] | FallbackReason:
        """A request's image and mask from its user (not yet checked), or why not (logged
        here, once)."""
        try:
            peer = await self._peer(user_id)
            content = peer.expect("request", task_id)
            await peer.send(FrameHeader(kind="pull", task_id=task_id))
            async with asyncio.timeout(self.settings.transfer_timeout_s):
                frame = await content
        except Exception as exc:  # a broken channel, a timeout: the caller falls back
            return self._failed(user_id, exc, f"content of {task_id} not fetched over WebRTC "
                                "(%s): its user is asked to send it over MQTT")
        self.metrics.bytes.labels("webrtc", _SERVICE, "received").inc(len(frame.data))
        split = frame.header.split
        return frame.data[:split], frame.data[split:]

    def _failed(self, user_id: str, exc: Exception, what: str) -> FallbackReason:
        """Why a transfer to or from *user_id* failed with *exc*; logs *what* (its %s: the
        reason and *exc*)."""
        reason = fallback_reason(exc)
        self.log.info(what, f"{reason}: {exc!r}")
        if reason == "transfer_timeout":
            self._stalled(user_id)
        return reason

    def connect_soon(self, user_id: str) -> None:
        """Open a peer connection to *user_id* in the background unless one is open (so
        that previews of a task whose content came over MQTT have somewhere to go)."""
        p = self.peers.get(user_id)
        if p is not None and not p.dead and p.opened.is_set():
            return

        async def connect() -> None:
            with contextlib.suppress(Exception):  # counted in _setup; results fall back
                await self._peer(user_id)

        task = asyncio.get_running_loop().create_task(connect(), name=f"rtc-warm:{user_id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def send_preview(self, user_id: str, task_id: str, step: int, image: bytes) -> None:
        """Send a preview if the user's peer connection is open (never sets one up)."""
        p = self.peers.get(user_id)
        if p is None or p.dead or p.frames is None or not p.opened.is_set():
            return
        frames = p.frames

        async def send() -> None:
            with contextlib.suppress(Exception):
                n = await frames.send(FrameHeader(kind="preview", task_id=task_id, step=step,
                                                  size=len(image)), image)
                self.metrics.bytes.labels("webrtc", _SERVICE, "sent").inc(n)

        task = asyncio.get_running_loop().create_task(send(), name=f"preview:{task_id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
