"""The users' side of WebRTC delivery (aiortc): answer the nodes' offers, move content.

A user answers every ``rtc_offer`` of a node (replacing its earlier connection to
that node) and then serves the node's frames: ``pull`` gets the held content of a
request, ``result`` is checked against its checksum, kept for the MQTT result that
follows, and acknowledged. Connections idle for ``idle_close_s`` are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from aaas import EmulatedClock, RtcAnswer, RtcOffer
from aaas.datachannel import CHANNEL_LABEL, DeliverySettings, Frame, FrameHeader, FramePeer
from aaas.images import checksum
from monitoring import DeliveryMetrics

from .sdp import PathHook, first_ipv4_candidate, with_only_candidate

__all__ = ["RtcUserDelivery"]

_SERVICE = "user"


@dataclass(eq=False)
class _Peer:
    user_id: str
    node_id: str
    pc: RTCPeerConnection
    frames: FramePeer | None = None
    dead: bool = False
    created: float = field(default_factory=time.monotonic)


class RtcUserDelivery:
    """Peer connections of the users of one agent, one per (user, node)."""

    def __init__(self, settings: DeliverySettings, *, clock: EmulatedClock,
                 send_answer: Callable[[RtcAnswer], None], metrics: DeliveryMetrics,
                 path: PathHook | None = None,
                 on_preview: Callable[[str, int], None] | None = None,
                 logger: logging.Logger | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self._send_answer = send_answer
        self.metrics = metrics
        self._path = path
        self._on_preview = on_preview
        self.log = logger or logging.getLogger("aaas.user.rtc")
        self.peers: dict[tuple[str, str], _Peer] = {}
        self._uploads: dict[str, tuple[str, bytes, bytes]] = {}
        self._results: dict[str, bytes] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None

    # -- what the agent asks -------------------------------------------------------------
    def hold_upload(self, task_id: str, user_id: str, image: bytes, mask: bytes) -> None:
        """Keep a request's content until a node pulls it (or :meth:`forget`)."""
        self._uploads[task_id] = (user_id, image, mask)

    def take_result(self, task_id: str) -> bytes | None:
        """The result image that came (intact) over the data channel, once."""
        return self._results.pop(task_id, None)

    def forget(self, task_id: str) -> None:
        """The task is settled: drop what is held for it."""
        self._uploads.pop(task_id, None)
        self._results.pop(task_id, None)

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap(), name="rtc-reaper:users")

    async def aclose(self) -> None:
        tasks = [*self._background, *([self._reaper] if self._reaper else [])]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(self._close(p) for p in list(self.peers.values())),
                             return_exceptions=True)

    async def _reap(self) -> None:
        idle = self.settings.idle_close_s
        while True:
            await asyncio.sleep(min(1.0, idle / 2))
            now = time.monotonic()
            for p in list(self.peers.values()):
                f = p.frames
                last = f.last_used if f is not None else p.created
                if p.dead or ((f is None or not f.busy) and now - last > idle):
                    await self._close(p)

    async def _close(self, p: _Peer) -> None:
        if self.peers.get((p.user_id, p.node_id)) is p:
            del self.peers[(p.user_id, p.node_id)]
            self.metrics.peers.labels(_SERVICE).dec()
        p.dead = True
        with contextlib.suppress(Exception):
            await p.pc.close()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        """Retrieve what a background task raised, and log it once (no exception is left
        to "Task exception was never retrieved"): the task's content falls back to MQTT."""
        self._background.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        self.log.info("%s failed: %r; its tasks' content goes over MQTT", task.get_name(),
                      task.exception())

    # -- signalling ----------------------------------------------------------------------
    def on_offer(self, offer: RtcOffer) -> None:
        """An ``rtc_offer`` for one of our users (the agent's dispatcher calls this)."""
        self._spawn(self._answer(offer), f"rtc-answer:{offer.user_id}:{offer.node_id}")

    async def _answer(self, offer: RtcOffer) -> None:
        key = (offer.user_id, offer.node_id)
        old = self.peers.get(key)
        if old is not None:
            await self._close(old)
        t0 = time.monotonic()
        p = _Peer(offer.user_id, offer.node_id, RTCPeerConnection(RTCConfiguration(iceServers=[])))
        self.peers[key] = p
        self.metrics.peers.labels(_SERVICE).inc()
        p.pc.on("datachannel", lambda ch: self._attach(p, ch))
        p.pc.on("connectionstatechange", lambda: self._state(p))
        try:
            sdp = offer.sdp
            seen_by_node = None
            if self._path is not None:
                node_addr = first_ipv4_candidate(sdp)
                if node_addr is None:
                    raise ValueError("the offer has no IPv4 UDP candidate")
                seen_by_user, seen_by_node = await self._path(offer.user_id, node_addr)
                sdp = with_only_candidate(sdp, seen_by_user)
            await p.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await p.pc.setLocalDescription(await p.pc.createAnswer())
            answer = p.pc.localDescription.sdp
            if seen_by_node is not None:
                answer = with_only_candidate(answer, seen_by_node)
        except Exception as exc:  # aiortc raises many kinds; the node falls back on MQTT
            self.metrics.peer_failures.labels(_SERVICE, "error").inc()
            self.log.info("%s: cannot answer %s: %r", offer.user_id, offer.node_id, exc)
            await self._close(p)
            return
        self._send_answer(RtcAnswer(node_id=offer.node_id, user_id=offer.user_id,
                                    session=offer.session, sdp=answer, at=self.clock.now()))
        self.metrics.peer_setup.labels(_SERVICE).observe(time.monotonic() - t0)

    def _state(self, p: _Peer) -> None:
        if p.pc.connectionState == "failed" and not p.dead:
            self.metrics.peer_failures.labels(_SERVICE, "failed").inc()
            p.dead = True

    def _attach(self, p: _Peer, channel: object) -> None:
        if getattr(channel, "label", None) != CHANNEL_LABEL:
            return
        frames = FramePeer(channel,  # type: ignore[arg-type]
                           on_frame=lambda f: self._on_frame(p, f),
                           on_bad=lambda e: self.log.warning("%s: bad frame: %s", p.user_id, e))
        p.frames = frames
        channel.on("message", frames.on_message)  # type: ignore[attr-defined]

    # -- content -------------------------------------------------------------------------
    def _on_frame(self, p: _Peer, frame: Frame) -> None:
        h = frame.header
        if h.kind == "pull":
            self._spawn(self._upload(p, h.task_id), f"rtc-upload:{h.task_id}")
        elif h.kind == "result":
            ok = checksum(frame.data) == h.checksum
            if ok:
                self._results[h.task_id] = frame.data
            self.metrics.bytes.labels("webrtc", _SERVICE, "received").inc(len(frame.data))
            self._spawn(self._send(p, FrameHeader(kind="ack", task_id=h.task_id, ok=ok)),
                        f"rtc-ack:{h.task_id}")
        elif h.kind == "preview":
            self.metrics.bytes.labels("webrtc", _SERVICE, "received").inc(len(frame.data))
            if self._on_preview is not None:
                self._on_preview(h.task_id, h.step)

    async def _upload(self, p: _Peer, task_id: str) -> None:
        held = self._uploads.get(task_id)
        if held is None or held[0] != p.user_id:
            self.log.info("%s: %s asked for content of %s, which we do not hold",
                          p.user_id, p.node_id, task_id)
            return
        _, image, mask = held
        data = image + mask
        await self._send(p, FrameHeader(kind="request", task_id=task_id, size=len(data),
                                        split=len(image)), data)

    async def _send(self, p: _Peer, header: FrameHeader, data: bytes = b"") -> None:
        if p.frames is None:
            return
        try:
            n = await p.frames.send(header, data)
        except Exception as exc:  # a closed channel: the node times out and falls back
            self.log.info("%s: %s frame of %s not sent: %r", p.user_id, header.kind,
                          header.task_id, exc)
            return
        self.metrics.bytes.labels("webrtc", _SERVICE, "sent").inc(n)
