"""The user agent: N emulated users in one process, each its own MQTT client.

Users send their tasks at Poisson arrival times on the emulated clock, then
wait for the results. Each result is checked against its checksum (the link
may flip bits); a damaged result or a request the orchestrator found damaged
is asked again, up to ``max_retries``. Every task sent ends in exactly one
outcome: finished, crashed, rejected, error, or lost (no answer in time).

Delivery across faults (docs/reliability.md): task ids carry the agent's run id,
so a new run with the same seed is new work; a task with no answer by the time it
should have finished is sent again (same task id: the orchestrator answers, it does
not run it twice), with back-off; a ``duplicate`` reply means "we have it, keep
waiting"; every settled task is acknowledged (``users/{user_id}/ack/{node_id}``) so the
services forget its result; a task with no answer by its own deadline is ``lost``
then, not only when the run drains. Records keep no images once settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable
from types import TracebackType
from typing import TextIO

import aiomqtt
import numpy as np
from msgspec.structs import replace
from prometheus_client import CollectorRegistry

from aaas import (
    NO_NODE,
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
    TaskAck,
    TaskRequest,
    TaskResult,
    guess_task_id,
)
from aaas.datachannel import DeliverySettings
from aaas.images import checksum
from aaas.lag import LagMeter
from monitoring import DeliveryMetrics, UserMetrics

from .checks import check_result
from .delivery import PathHook, make_user_delivery
from .images import ImageSource
from .qos import QoSSummary, SettledTotals, TaskRecord
from .repeats import RepeatAsker
from .resend import ResendTimer
from .workload import Arrival

__all__ = ["CONNECT_EMULATED_S", "CONNECT_FLOOR_WALL_S", "UserAgent"]

CONNECT_EMULATED_S = 10.0
"""How long an emulated device waits for the broker's CONNACK, on its own clock."""

CONNECT_FLOOR_WALL_S = 1.0
"""The shortest wall wait for a CONNACK whatever the time scale: a busy testbed may take
hundreds of milliseconds to answer a handshake that is not lost."""

# Error codes a damaged request produces; asking again (bounded) may succeed.
_RETRYABLE = frozenset({ErrorCode.CHECKSUM_MISMATCH, ErrorCode.BAD_IMAGE, ErrorCode.MALFORMED,
                        ErrorCode.INVALID, ErrorCode.SCHEMA_VERSION})


class UserAgent:
    """Emulated users *user_ids* sending *arrivals* (only those of their users)."""

    def __init__(self, *, scenario: Scenario, user_ids: Iterable[str], url: BrokerURL,
                 clock: EmulatedClock, images: ImageSource, metrics: UserMetrics,
                 max_retries: int = 3, connect_concurrency: int = 1,
                 logger: logging.Logger | None = None, run_id: str | None = None,
                 resend_min_s: float = 2.0, resend_max_s: float = 30.0,
                 lost_after_s: float = 60.0, records_out: TextIO | None = None,
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
        self.run_id = run_id or secrets.token_hex(4)
        """Scopes the task ids to this run: a new run with the same seed is new work."""
        self.lost_after_s = lost_after_s
        """Wall seconds past a task's expected end (2 runtimes + the queue timeout) after
        which an unanswered task is lost (wall: an outage lasts wall time)."""
        self._due: dict[str, tuple[float, float, float]] = {}
        """Open task id -> (resend at, resend interval, deadline), wall monotonic seconds."""
        self._first_sent: dict[str, float] = {}
        """Open task id -> wall monotonic time of its first send (answer latency samples)."""
        self._second_chance: dict[str, float] = {}
        """Open task id -> wall monotonic time by which its first resend has had its wait
        (the resend's time plus the wait): until then the task may still be recovered."""
        self.resend = ResendTimer(floor_s=resend_min_s, ceiling_s=resend_max_s)
        """The wait before asking again, learned from how long answers take."""
        self._watchdog: asyncio.Task[None] | None = None
        self.connect_timeout_s = max(CONNECT_FLOOR_WALL_S,
                                     min(CONNECT_EMULATED_S, clock.to_wall(CONNECT_EMULATED_S)))
        """Wall seconds a user waits for its CONNACK: a device's 10 s on the emulated
        clock, at least 1 s. With the session's fixed 10 wall s, a user whose handshake
        the link dropped was away 1,000,000 emulated s at x10^5 (25-56 task runtimes:
        the largest lags of those runs)."""
        self.records_out = records_out
        """Where settled records go as JSON lines, leaving memory (None: kept in ``records``)."""
        self._settled = SettledTotals()
        self._gone: OrderedDict[str, None] = OrderedDict()
        """Ids of tasks streamed out (bounded): a late copy of their answer is no news."""
        self._done = asyncio.Event()
        self._outstanding = 0
        self._connect_sem = asyncio.Semaphore(connect_concurrency)
        self.lag = LagMeter("user agent", logger=self.log)
        """How late tasks are sent after their arrival time (aaas.lag)."""
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
        # users who ask again ([workload.repeats]; off by default)
        self.repeats = RepeatAsker(scenario) if scenario.workload.repeats.enabled else None

    def _session(self, url: BrokerURL, uid: str) -> MqttSession:
        return MqttSession(
            url=url, client_id=uid,
            subscriptions=self.dispatch.subscriptions(user_id=uid),
            handler=self._on_message, logger=self.log, keepalive=60,
            connect_timeout_s=self.connect_timeout_s,
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
        self._watchdog = asyncio.create_task(self._watch(), name="users-watchdog")
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
        if self._watchdog is not None:
            self._watchdog.cancel()
        await asyncio.gather(self._connector, *(t for t in (self._watchdog,) if t),
                             return_exceptions=True)
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

    @property
    def recovering(self) -> int:
        """Open tasks that may still be answered: not yet sent again after their resend
        wait (their user may be reconnecting), or sent again less than a wait ago.

        A run that ends (the demo's drain) while some are counts them lost although one
        more wait would have recovered them; each is settled by its deadline at the
        latest (``lost_after_s``), so waiting for them is bounded."""
        now = time.monotonic()
        return sum(1 for task_id in self._due
                   if now < self._second_chance.get(task_id, float("inf")))

    # -- sending ------------------------------------------------------------------------
    async def run(self, arrivals: Iterable[Arrival], *, start: float, prefix: str = "t") -> None:
        """Send each arrival of our users at ``start + arrival.at`` (emulated)."""
        for a in arrivals:
            if a.user_id not in self.sessions:
                continue
            await self.clock.sleep_until(start + a.at)
            self.lag.observe("send", self.clock.now() - start - a.at,
                             self.scenario.runtime(a.steps))
            self.send(a, task_id=f"{self.run_id}-{prefix}{a.index:06d}")

    def send(self, a: Arrival, *, task_id: str) -> TaskRecord:
        clean, image, mask_png = self.images.content()
        req = TaskRequest(task_id=task_id, user_id=a.user_id, steps=a.steps, image=image,
                          mask=mask_png, checksum=checksum(image, mask_png),
                          sent_at=self.clock.now(), reply_key=secrets.token_hex(16))
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
        self._arm(task_id, a.steps)
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
                          sent_at=old.sent_at, attempt=rec.attempts, reply_key=old.reply_key)
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
        if rec is None and res.task_id in self._gone:
            return  # a late copy of an answer already settled and streamed out
        if rec is None or rec.user_id != uid:
            self.metrics.bad_input.labels(ErrorCode.UNKNOWN_TASK).inc()
            return
        if rec.outcome is not None:
            return  # a duplicate (QoS 1 or a retry answered twice)
        if res.content == "webrtc" and self.rtc is not None:
            res = replace(res, image=self.rtc.take_result(res.task_id))
        req = self._requests.get(rec.task_id)
        try:
            check_result(res, reply_key=req.reply_key if req is not None else None,
                         steps=rec.steps, scenario=self.scenario)
        except ProtocolError as exc:  # believed nothing: the task stays open
            self.metrics.bad_input.labels(exc.code).inc()
            self.log.warning("%s: result refused: %s", uid, exc)
            return
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
        if (reply.task_id or "") in self._gone:
            return  # about a task already settled and streamed out
        if reply.error.code == ErrorCode.DUPLICATE:
            self._still_open(reply.task_id or "")
            return
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
        self._due.pop(rec.task_id, None)
        self._second_chance.pop(rec.task_id, None)
        first = self._first_sent.pop(rec.task_id, None)
        if first is not None and outcome is not Outcome.LOST:
            self.resend.answered(time.monotonic() - first)
        rec.clean = None  # bounded memory: a settled record keeps no image
        if outcome is not Outcome.LOST and rec.user_id in self.sessions:
            # Whoever keeps the answer for sending again may forget it now.
            self.sessions[rec.user_id].send(TOPICS.ack, TaskAck(task_id=rec.task_id,
                                                                user_id=rec.user_id),
                                            user_id=rec.user_id, node_id=rec.node_id or NO_NODE)
        if self.rtc is not None:
            self.rtc.forget(rec.task_id)
        self.metrics.outcomes.labels(outcome).inc()
        if outcome is Outcome.FINISHED:
            node = rec.node_id or "none"
            if latency is not None:
                self.metrics.latency.labels(node).observe(latency)
            if rec.quality is not None:
                self.metrics.quality.labels(node).observe(rec.quality)
        if self.repeats is not None:
            self.repeats.settled(self, rec)
        self._outstanding -= 1
        self.metrics.outstanding.set(self._outstanding)
        if self.records_out is not None:
            self._stream_out(rec)
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
        """Wait for every answer, the rest is lost: for emulated *timeout_s*, or (when it
        is not 0) until the last open task's own deadline, whichever is later."""
        if self._outstanding:
            wall = self.clock.to_wall(timeout_s)
            if timeout_s > 0 and self._due:
                wall = max(wall, max(d for _, _, d in self._due.values()) - time.monotonic())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._done.wait(), wall)
        for rec in list(self.records.values()):
            if rec.outcome is None:
                self._settle(rec, Outcome.LOST, error="no answer before the end of the run")

    def summary(self) -> QoSSummary:
        return QoSSummary.of(list(self.records.values()), self._settled,
                             repeats=self.repeats is not None)

    def quality_of(self) -> np.ndarray:
        return np.array([*self._settled.quality,
                         *(r.quality for r in self.records.values() if r.quality is not None)])

    # -- delivery across faults (docs/reliability.md) ------------------------------------
    def _expected_wall(self, steps: int) -> float:
        """Wall seconds in which a task of *steps* should have been answered."""
        return self.clock.to_wall(self.scenario.runtime(steps))

    def _arm(self, task_id: str, steps: int) -> None:
        now = time.monotonic()
        first = self.resend.wait_s(self._expected_wall(steps))
        self._first_sent[task_id] = now
        deadline = now + self.clock.to_wall(2 * self.scenario.runtime(steps)
                                            + self.scenario.limits.queue_timeout_s) \
            + self.lost_after_s
        self._due[task_id] = (now + first, first, deadline)

    def _still_open(self, task_id: str) -> None:
        """A ``duplicate`` reply: the services have the task; wait before asking again."""
        self.metrics.duplicates.inc()
        due = self._due.get(task_id)
        if due is not None:
            _, every, deadline = due
            self._due[task_id] = (time.monotonic() + every, every, deadline)

    async def _watch(self, tick_s: float = 0.2) -> None:
        """Send again what had no answer in time; a task past its deadline is lost."""
        while True:
            await asyncio.sleep(tick_s)
            now = time.monotonic()
            for task_id, (resend_at, every, deadline) in list(self._due.items()):
                rec = self.records[task_id]
                if now >= deadline:
                    self._settle(rec, Outcome.LOST, error="no answer by the task's deadline")
                elif now >= resend_at:
                    req = self._requests.get(task_id)
                    session = self.sessions[rec.user_id]
                    if req is None or not session.connected or session.pending:
                        # Still in the outbox (the broker is away): a second copy would
                        # only pile up behind the first.
                        continue
                    self._second_chance.setdefault(task_id, now + every)
                    every = min(2 * every, max(self.resend.ceiling_s, every))
                    self._due[task_id] = (now + every, every, deadline)
                    self.metrics.retries.labels("no_answer").inc()
                    self.log.info("%s: no answer for %s yet; sending it again", rec.user_id,
                                  task_id)
                    session.send(TOPICS.request, req, user_id=rec.user_id)

    def _stream_out(self, rec: TaskRecord) -> None:
        """Bounded memory for long runs: the settled record goes to disk, its figures
        stay in the totals the summary is computed from."""
        assert self.records_out is not None
        keys = ("task_id", "user_id", "steps", "sent_at", "outcome", "latency_s", "quality",
                "node_id", "error", "attempts", "bytes_up", "bytes_down")
        self.records_out.write(json.dumps({k: getattr(rec, k) for k in keys}) + "\n")
        self._settled.add(rec)
        self.records.pop(rec.task_id, None)
        self._gone[rec.task_id] = None
        while len(self._gone) > 100_000:
            self._gone.popitem(last=False)
