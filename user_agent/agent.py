"""The user agent: N emulated users in one process, each its own MQTT client.

Users send their tasks at Poisson arrival times on the emulated clock, then
wait for the results. Each result is checked against its checksum (the link
may flip bits); a damaged result or a request the orchestrator found damaged
is asked again, up to ``max_retries``. Every task sent ends in exactly one
outcome: finished, crashed, rejected, error, or lost (no answer in time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from types import TracebackType

import aiomqtt
import numpy as np
from msgspec.structs import replace
from prometheus_client import CollectorRegistry

from aaas import (
    TOPICS,
    BrokerURL,
    Dispatcher,
    EmulatedClock,
    ErrorCode,
    ErrorReply,
    Incoming,
    MqttSession,
    Outcome,
    Params,
    ProtocolError,
    RtcOffer,
    Scenario,
    TaskRequest,
    TaskResult,
    guess_task_id,
)
from aaas.datachannel import DeliverySettings
from aaas.images import checksum, encode_png
from monitoring import DeliveryMetrics, UserMetrics

from .delivery import PathHook, make_user_delivery
from .images import ImageSource
from .qos import QoSSummary, TaskRecord
from .workload import Arrival

__all__ = ["UserAgent"]

# Error codes a damaged request produces; asking again (bounded) may succeed.
_RETRYABLE = frozenset({ErrorCode.CHECKSUM_MISMATCH, ErrorCode.BAD_IMAGE, ErrorCode.MALFORMED,
                        ErrorCode.INVALID, ErrorCode.SCHEMA_VERSION})


class UserAgent:
    """Emulated users *user_ids* sending *arrivals* (only those of their users)."""

    def __init__(self, *, scenario: Scenario, user_ids: Iterable[str], url: BrokerURL,
                 clock: EmulatedClock, images: ImageSource, metrics: UserMetrics,
                 max_retries: int = 3, connect_concurrency: int = 1,
                 logger: logging.Logger | None = None,
                 delivery: DeliverySettings | None = None,
                 delivery_metrics: DeliveryMetrics | None = None,
                 rtc_path: PathHook | None = None) -> None:
        self.scenario = scenario
        self.clock = clock
        self.images = images
        self.metrics = metrics
        self.max_retries = max_retries
        self.log = logger or logging.getLogger("aaas.user")
        self.records: dict[str, TaskRecord] = {}
        self._requests: dict[str, TaskRequest] = {}
        self._done = asyncio.Event()
        self._outstanding = 0
        self._connect_sem = asyncio.Semaphore(connect_concurrency)
        # One dispatcher for every user: each session subscribes to its own user's
        # topics only, so the topic's user_id is the receiving user.
        self.dispatch = Dispatcher(on_error=self._on_unusable)
        self.dispatch.on(TOPICS.result, self._on_result)
        self.dispatch.on(TOPICS.user_error, self._on_error)
        # Content over WebRTC (--delivery): None for mqtt, the default.
        self.delivery = delivery or DeliverySettings()
        self.delivery_metrics = delivery_metrics or DeliveryMetrics(CollectorRegistry())
        self.rtc = make_user_delivery(
            self.delivery, clock=clock, metrics=self.delivery_metrics, path=rtc_path,
            send_answer=lambda a: self.sessions[a.user_id].send(TOPICS.rtc_answer, a,
                                                                node_id=a.node_id),
            on_preview=self._on_preview, logger=self.log)
        if self.rtc is not None:
            self.dispatch.on(TOPICS.rtc_offer, self._on_rtc_offer)
        self.sessions = {uid: self._session(url, uid) for uid in user_ids}

    def _session(self, url: BrokerURL, uid: str) -> MqttSession:
        return MqttSession(
            url=url, client_id=uid,
            subscriptions=self.dispatch.subscriptions(user_id=uid),
            handler=self._on_message, logger=self.log, keepalive=60,
            # A persistent session: results that arrive while the link has cut the
            # connection wait at the broker instead of being dropped.
            clean_session=False,
            on_bytes=lambda d, n: self.delivery_metrics.bytes.labels("broker", "user", d).inc(n),
        )

    # -- lifecycle ---------------------------------------------------------------------
    async def __aenter__(self) -> UserAgent:
        if self.rtc is not None:
            await self.rtc.start()
        self._connector = asyncio.create_task(self._connect_all(), name="users-connect")
        return self

    async def _connect_all(self) -> None:
        # Paced, not all at once: amqtt (0.12) iterates its subscription table
        # while a client connects and fails when another client subscribes
        # meanwhile; a real broker also prefers no thundering herd.
        for s in self.sessions.values():
            async with self._connect_sem:
                await s.__aenter__()
                # A user that cannot connect soon (deep fade) keeps trying by itself.
                with contextlib.suppress(asyncio.TimeoutError):
                    await s.wait_connected(timeout=2)

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._connector.cancel()
        await asyncio.gather(self._connector, return_exceptions=True)
        await asyncio.gather(*(s.close(flush_timeout=0.5) for s in self.sessions.values()))
        if self.rtc is not None:
            await self.rtc.aclose()

    async def wait_connected(self, timeout: float = 120.0) -> None:
        await asyncio.wait_for(asyncio.gather(*(s.wait_connected() for s in
                                                self.sessions.values())), timeout)

    @property
    def connected(self) -> int:
        return sum(s.connected for s in self.sessions.values())

    @property
    def outstanding(self) -> int:
        return self._outstanding

    # -- sending ------------------------------------------------------------------------
    async def run(self, arrivals: Iterable[Arrival], *, start: float, prefix: str = "t") -> None:
        """Send each arrival of our users at ``start + arrival.at`` (emulated)."""
        for a in arrivals:
            if a.user_id not in self.sessions:
                continue
            await self.clock.sleep_until(start + a.at)
            self.send(a, task_id=f"{prefix}{a.index:06d}")

    def send(self, a: Arrival, *, task_id: str) -> TaskRecord:
        clean, mask = self.images.next()
        damaged = clean.copy()
        damaged[mask] = 0
        image, mask_png = encode_png(damaged), encode_png(mask)
        req = TaskRequest(task_id=task_id, user_id=a.user_id, steps=a.steps, image=image,
                          mask=mask_png, checksum=checksum(image, mask_png),
                          sent_at=self.clock.now())
        rec = TaskRecord(task_id=task_id, user_id=a.user_id, steps=a.steps, sent_at=req.sent_at,
                         clean=clean, bytes_up=len(image) + len(mask_png))
        self.records[task_id] = rec
        sent = req
        if self.rtc is not None:  # the node may deliver over WebRTC; maybe fetch ours too
            sent = req = replace(req, rtc=True)
            if self.delivery.over_webrtc(rec.bytes_up):
                self.rtc.hold_upload(task_id, a.user_id, image, mask_png)
                sent = replace(req, image=b"", mask=b"", content="webrtc")
        self._requests[task_id] = req
        self._outstanding += 1
        self._done.clear()
        self.metrics.sent.inc()
        self.metrics.outstanding.set(self._outstanding)
        self.metrics.bytes.labels("sent").inc(rec.bytes_up)
        self.sessions[a.user_id].send(TOPICS.request, sent, user_id=a.user_id)
        return rec

    def _retry(self, rec: TaskRecord, reason: str) -> bool:
        if rec.attempts > self.max_retries:
            return False
        old = self._requests[rec.task_id]
        req = TaskRequest(task_id=old.task_id, user_id=old.user_id, steps=old.steps,
                          image=old.image, mask=old.mask, checksum=old.checksum,
                          sent_at=old.sent_at, attempt=rec.attempts)
        rec.attempts += 1
        rec.bytes_up += len(req.image) + len(req.mask)
        self.metrics.retries.labels(reason).inc()
        self.log.info("%s: asking again for %s (%s)", rec.user_id, rec.task_id, reason)
        self.sessions[rec.user_id].send(TOPICS.request, req, user_id=rec.user_id)
        return True

    # -- receiving -------------------------------------------------------------------------
    async def _on_message(self, message: aiomqtt.Message) -> None:
        payload = message.payload
        raw = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
        self.metrics.bytes.labels("received").inc(len(raw))
        self.dispatch.dispatch(message.topic.value, raw)

    def _on_unusable(self, exc: ProtocolError, msg: Incoming) -> None:
        # A reply damaged on the link: when its task id is still readable and the
        # task is ours and open, ask again; otherwise a later copy settles it.
        uid = msg.params["user_id"]
        self.metrics.bad_input.labels(exc.code).inc()
        self.log.info("%s: unusable message on %s: %s", uid, msg.topic, exc)
        rec = self.records.get(guess_task_id(msg.raw) or "")
        if rec is not None and rec.user_id == uid and rec.outcome is None \
                and not self._retry(rec, "damaged_reply"):
            self._settle(rec, Outcome.ERROR, error=f"reply damaged on every try ({exc.code})")

    def _on_result(self, res: TaskResult, p: Params) -> None:
        uid = p["user_id"]
        rec = self.records.get(res.task_id)
        if rec is None or rec.user_id != uid:
            self.metrics.bad_input.labels(ErrorCode.UNKNOWN_TASK).inc()
            return
        if rec.outcome is not None:
            return  # a duplicate (QoS 1 or a retry answered twice)
        if res.content == "webrtc" and self.rtc is not None:
            res = replace(res, image=self.rtc.take_result(res.task_id))
        rec.bytes_down += len(res.image or b"")
        if res.status == "ok":
            if res.image is None or res.checksum != checksum(res.image):
                if not self._retry(rec, "result_checksum"):
                    self._settle(rec, Outcome.ERROR, error="result damaged on every try")
                return
            rec.node_id, rec.quality = res.node_id, res.quality
            self._observe_delivery(res, len(res.image))
            self._settle(rec, Outcome.FINISHED, latency=self.clock.now() - rec.sent_at)
        else:
            rec.node_id = res.node_id
            if res.error is not None and res.error.code == ErrorCode.CONTENT_UNAVAILABLE \
                    and self._retry(rec, res.error.code):
                self.delivery_metrics.fallbacks.labels("user", "upload").inc()
                return  # the node could not fetch it over WebRTC: asked again, inline
            self._settle(rec, Outcome.of_status(res.status),
                         error=res.error.code if res.error is not None else None)

    def _on_error(self, reply: ErrorReply, _p: Params) -> None:
        rec = self.records.get(reply.task_id or "")
        if rec is None or rec.outcome is not None:
            self.metrics.bad_input.labels(ErrorCode.UNKNOWN_TASK).inc()
            return
        if reply.error.code in _RETRYABLE and self._retry(rec, reply.error.code):
            return
        self._settle(rec, Outcome.ERROR, error=reply.error.code)

    def _settle(self, rec: TaskRecord, outcome: Outcome, *, latency: float | None = None,
                error: str | None = None) -> None:
        rec.outcome, rec.latency_s, rec.error = outcome, latency, error
        self._requests.pop(rec.task_id, None)
        if self.rtc is not None:
            self.rtc.forget(rec.task_id)
        self.metrics.outcomes.labels(outcome).inc()
        if outcome is Outcome.FINISHED:
            node = rec.node_id or "none"
            if latency is not None:
                self.metrics.latency.labels(node).observe(latency)
            if rec.quality is not None:
                self.metrics.quality.labels(node).observe(rec.quality)
        self._outstanding -= 1
        self.metrics.outstanding.set(self._outstanding)
        if self._outstanding == 0:
            self._done.set()

    # -- content over WebRTC (--delivery webrtc|auto) ------------------------------------
    def _on_rtc_offer(self, offer: RtcOffer, p: Params) -> None:
        if offer.user_id != p["user_id"] or self.rtc is None:
            raise ProtocolError(ErrorCode.INVALID, "offer's user_id does not match the topic")
        self.rtc.on_offer(offer)

    def _on_preview(self, task_id: str, _step: int) -> None:
        rec = self.records.get(task_id)
        if rec is not None and rec.outcome is None and rec.first_preview_s is None:
            rec.first_preview_s = self.clock.now() - rec.sent_at
            self.delivery_metrics.first_preview.observe(rec.first_preview_s)

    def _observe_delivery(self, res: TaskResult, size: int) -> None:
        """Emulated time from the node's finish to the content here, per MB, by path."""
        done = res.timings.finished_at
        if done is not None and size > 0:
            path = "webrtc" if res.content == "webrtc" else "broker"
            self.delivery_metrics.seconds_per_mb.labels(path).observe(
                max(0.0, self.clock.now() - done) / (size / 1e6))

    async def drain(self, timeout_s: float) -> None:
        """Wait (emulated *timeout_s* at most) for every answer; the rest is lost."""
        if self._outstanding:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._done.wait(), self.clock.to_wall(timeout_s))
        for rec in self.records.values():
            if rec.outcome is None:
                self._settle(rec, Outcome.LOST, error="no answer before the end of the run")

    def summary(self) -> QoSSummary:
        return QoSSummary.of(list(self.records.values()))

    def quality_of(self) -> np.ndarray:
        return np.array([r.quality for r in self.records.values() if r.quality is not None])
