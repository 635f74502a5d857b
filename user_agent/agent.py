"""The user agent: N emulated users in one process, each its own MQTT client.

Users send their tasks at Poisson arrival times on the emulated clock, then
wait for the results. A request carries no content: the orchestrator assigns the
task to a node and tells the node and the user (one ``assign`` message, two
readers), and the user then sends that node the image and mask (``content``;
docs/protocol.md). Each result is checked against its checksum (the link may flip
bits); a damaged result, a request the orchestrator found damaged, or content the
node found damaged is sent again, up to ``max_retries``. Every task sent ends in
exactly one outcome: finished, crashed, rejected, error, undeliverable (its content
could not cross its channel in time), or lost (no answer in time).

Delivery across faults (docs/reliability.md): task ids carry the agent's run id,
so a new run with the same seed is new work; a task with no answer by the time it
should have finished is sent again (same task id: the orchestrator answers, it does
not run it twice, and the assignment it sends again brings the content again), with
back-off; a ``duplicate`` reply means "we have it, keep waiting"; every settled task
is acknowledged (``users/{user_id}/ack/{node_id}``) so the services forget its
result; a task with no answer by its own deadline is ``lost`` then, not only when the
run drains. Each open task is one :class:`~user_agent.task.OpenTask`; a settled
record keeps no images.
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

import numpy as np
from msgspec.structs import replace
from prometheus_client import CollectorRegistry

from aaas import (
    NO_NODE,
    TOPICS,
    Assignment,
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
    TaskContent,
    TaskRequest,
    TaskResult,
    guess_task_id,
)
from aaas.datachannel import DeliverySettings
from aaas.images import checksum
from aaas.lag import LagMeter
from monitoring import DeliveryMetrics, UserMetrics, byte_counter

from .checks import check_assignment, check_result
from .delivery import PathHook, make_user_delivery
from .images import ImageSource
from .qos import QoSSummary, SettledTotals, TaskRecord
from .repeats import Repeat, RepeatAsker
from .resend import ResendTimer
from .samples import ResultSamples
from .task import Due, OpenTask
from .workload import Arrival

__all__ = ["CONNECT_EMULATED_S", "CONNECT_FLOOR_WALL_S", "RECONNECT_EMULATED_S",
           "RECONNECT_FLOOR_WALL_S", "UserAgent"]

CONNECT_EMULATED_S = 10.0
"""How long an emulated device waits for the broker's CONNACK, on its own clock."""

CONNECT_FLOOR_WALL_S = 1.0
"""The shortest wall wait for a CONNACK whatever the time scale: a busy testbed may take
hundreds of milliseconds to answer a handshake that is not lost."""

RECONNECT_EMULATED_S = 0.2
"""An emulated device's first wait before it connects again after the link closed its
connection, on its own clock (it doubles on each failure, up to the session's ceiling of
5 wall s, which spares a broker that is down)."""

RECONNECT_FLOOR_WALL_S = 0.005
"""The shortest wall wait before connecting again whatever the time scale. A wall wait of
0.2 s at ×10⁴ held a request 2000 emulated s per close, and the doubling waits after a
few closes in a row were the default demo's lag peak of 1.9 runtimes (docs/fidelity.md)."""

# Error codes a damaged request or content produces; sending it again (bounded) may succeed.
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
                 rtc_path: PathHook | None = None,
                 samples: ResultSamples | None = None) -> None:
        self.scenario = scenario
        self.samples = samples
        """Where a sample of the received results goes (None: nowhere)."""
        self.clock = clock
        self.images = images
        self.metrics = metrics
        self.max_retries = max_retries
        self.log = logger or logging.getLogger("aaas.user")
        self.records: dict[str, TaskRecord] = {}
        """Every task's record, open or settled (settled ones leave it with records_out)."""
        self._open: dict[str, OpenTask] = {}
        self._node_ids = frozenset(scenario.node_ids)
        self.run_id = run_id or secrets.token_hex(4)
        """Scopes the task ids to this run: a new run with the same seed is new work."""
        self.lost_after_s = lost_after_s
        """Wall seconds past a task's expected end (Scenario.answer_deadline_s) after which
        an unanswered task is lost (wall: an outage lasts wall time)."""
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
        self._held = 0
        """Repeats decided and not yet sent: drain() waits for them."""
        self._repeats_due: set[asyncio.Task[None]] = set()
        self._connect_sem = asyncio.Semaphore(connect_concurrency)
        self.lag = LagMeter("user agent", logger=self.log)
        """How late tasks are sent after their arrival time (aaas.lag)."""
        self.dispatch = self._dispatcher()
        self._received_bytes = metrics.bytes.labels("received")
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
        self._count_bytes = byte_counter(self.delivery_metrics.bytes, "broker", "user")
        self.sessions = {uid: self._session(url, uid) for uid in user_ids}
        # users who ask again ([workload.repeats]; off by default)
        self.repeats = RepeatAsker(scenario) if scenario.workload.repeats.enabled else None

    def _dispatcher(self) -> Dispatcher:
        # One dispatcher for every user: each session subscribes to its own user's
        # topics only, so the topic's user_id is the receiving user.
        d = Dispatcher(on_error=self._on_unusable)
        d.on(TOPICS.result, self._on_result)
        d.on(TOPICS.user_error, self._on_error)
        d.on(TOPICS.assign, self._on_assign)
        d.on(TOPICS.content_error, self._on_content_error)
        return d

    def _session(self, url: BrokerURL, uid: str) -> MqttSession:
        return MqttSession(
            url=url, client_id=uid,
            subscriptions=self.dispatch.subscriptions(user_id=uid),
            on_message=self._on_message, logger=self.log, keepalive=60,
            connect_timeout_s=self.connect_timeout_s,
            reconnect_min_s=max(RECONNECT_FLOOR_WALL_S, self.clock.to_wall(RECONNECT_EMULATED_S)),
            # A persistent session: results that arrive while the link has cut the
            # connection wait at the broker instead of being dropped.
            clean_session=False,
            on_bytes=self._count_bytes,
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
        background = [self._connector, *(t for t in (self._watchdog,) if t),
                      *self._repeats_due]
        for t in background:
            t.cancel()
        await asyncio.gather(*background, return_exceptions=True)
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
        """Tasks sent and not settled, plus repeats decided and not yet sent."""
        return len(self._open) + self._held

    @property
    def recovering(self) -> int:
        """Open tasks that may still be answered: not yet sent again after their resend
        wait (their user may be reconnecting), or sent again less than a wait ago.

        A run that ends (the demo's drain) while some are counts them lost although one
        more wait would have recovered them; each is settled by its deadline at the
        latest (``lost_after_s``), so waiting for them is bounded."""
        now = time.monotonic()
        return sum(1 for t in self._open.values() if t.recovering(now))

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
        """Send a new task: its request to the orchestrator; its content follows once the
        orchestrator says which node has it (or goes over WebRTC)."""
        clean, image, mask_png = self.images.content(a.domain)
        req = TaskRequest(task_id=task_id, user_id=a.user_id, steps=a.steps, domain=a.domain,
                          size=len(image) + len(mask_png), checksum=checksum(image, mask_png),
                          sent_at=self.clock.now(), reply_key=secrets.token_hex(16),
                          rtc=self.rtc is not None)
        rec = TaskRecord(task_id=task_id, user_id=a.user_id, steps=a.steps, sent_at=req.sent_at,
                         clean=clean, domain=a.domain)
        if self.rtc is not None and self.delivery.over_webrtc(req.size):
            self.rtc.hold_upload(task_id, a.user_id, image, mask_png)
            req = replace(req, content="webrtc")
            rec.bytes_up += req.size
            self.metrics.bytes.labels("sent").inc(req.size)
        self.records[task_id] = rec
        self._open[task_id] = self._arm(rec, req, image, mask_png)
        self._done.clear()
        self.metrics.sent.inc()
        self.metrics.outstanding.set(self.outstanding)
        self.sessions[a.user_id].send(TOPICS.request, req, user_id=a.user_id)
        return rec

    def _arm(self, rec: TaskRecord, req: TaskRequest, image: bytes, mask: bytes) -> OpenTask:
        now = time.monotonic()
        first = self.resend.wait_s(self.clock.to_wall(self.scenario.runtime(req.steps)))
        deadline = now + self.clock.to_wall(self.scenario.answer_deadline_s(req.steps)) \
            + self.lost_after_s
        return OpenTask(record=rec, request=req, image=image, mask=mask, first_sent=now,
                        resend_at=now + first, every=first, deadline=deadline)

    def _retry(self, task: OpenTask, reason: str, *, inline: bool = False) -> bool:
        """Send *task*'s request again (a damaged answer or a refusal); False when it was
        tried max_retries times."""
        req = task.retry(self.max_retries, inline=inline)
        if req is None:
            return False
        self.metrics.retries.labels(reason).inc()
        self.log.info("%s: asking again for %s (%s)", task.user_id, task.task_id, reason)
        self.sessions[task.user_id].send(TOPICS.request, req, user_id=task.user_id)
        return True

    def _send_content(self, task: OpenTask, node_id: str,
                      content: list[TaskContent] | None = None) -> None:
        """Send *task*'s content pieces (or *content*, already counted) to the node it is on."""
        pieces = content if content is not None else task.content()
        self.metrics.bytes.labels("sent").inc(task.size)
        if task.record.repeat:
            self.metrics.repeat_bytes.labels("sent").inc(task.size)
        session = self.sessions[task.user_id]
        for piece in pieces:
            session.send(TOPICS.content, piece, node_id=node_id, user_id=task.user_id)

    # -- receiving -------------------------------------------------------------------------
    def _on_message(self, topic: str, raw: bytes) -> None:
        self._received_bytes.inc(len(raw))
        self.dispatch.dispatch(topic, raw)

    def _mine(self, task_id: str | None, p: Params) -> OpenTask | None:
        """The open task *task_id* of the topic's user, if there is one."""
        task = self._open.get(task_id or "")
        return task if task is not None and task.user_id == p["user_id"] else None

    def _on_unusable(self, exc: ProtocolError, msg: Incoming) -> None:
        # A message that does not decode (damaged on the link): when its task id is
        # still readable and the task is ours and open, ask again (content included:
        # what was lost is unknown); otherwise a later copy settles it.
        self.metrics.bad_input.labels(exc.code).inc()
        self.log.info("%s: unusable message on %s: %s", msg.params["user_id"], msg.topic, exc)
        task = self._mine(guess_task_id(msg.raw), msg.params)
        if task is None:
            return
        task.content_wanted()
        if not self._retry(task, "damaged_reply"):
            self._settle(task, Outcome.ERROR, error=f"reply damaged on every try ({exc.code})")

    def _on_assign(self, a: Assignment, p: Params) -> None:
        task = self._mine(a.request.task_id, p)
        if task is None:
            return  # a late copy for a task already settled (the user asked again meanwhile)
        try:
            check_assignment(a, params=p, sent=task.request, node_ids=self._node_ids)
        except ProtocolError as exc:  # believed nothing: no content goes anywhere
            self.metrics.bad_input.labels(exc.code).inc()
            self.log.warning("%s: assignment refused: %s", p["user_id"], exc)
            return
        if task.assigned(a):
            self._send_content(task, a.node_id)

    def _on_content_error(self, reply: ErrorReply, p: Params) -> None:
        task = self._mine(reply.task_id, p)
        if task is None or task.node_id != p["node_id"]:
            self.metrics.bad_input.labels(ErrorCode.NOT_ASSIGNED).inc()
            return  # not from the node the task is assigned to: believed nothing
        code = reply.error.code
        if code == ErrorCode.NOT_ASSIGNED:
            # The node has no assignment for it (yet, or any more): the assignment the
            # next resend brings sends the content again.
            task.content_wanted()
            return
        content = task.retry_content(self.max_retries) if code in _RETRYABLE else None
        if content is None:
            self._settle(task, Outcome.ERROR, error=code)
            return
        self.metrics.retries.labels(f"content_{code}").inc()
        self.log.info("%s: sending the content of %s again (%s)", task.user_id, task.task_id,
                      code)
        self._send_content(task, p["node_id"], content)

    def _on_result(self, res: TaskResult, p: Params) -> None:
        if res.task_id in self._gone:
            return  # a late copy of an answer already settled and streamed out
        task = self._mine(res.task_id, p)
        if task is None:
            rec = self.records.get(res.task_id)
            if rec is None or rec.user_id != p["user_id"]:
                self.metrics.bad_input.labels(ErrorCode.UNKNOWN_TASK).inc()
            return  # else a duplicate (QoS 1 or a retry answered twice)
        if res.content == "webrtc" and self.rtc is not None:
            res = replace(res, image=self.rtc.take_result(res.task_id))
        try:
            check_result(res, reply_key=task.request.reply_key, steps=task.record.steps,
                         scenario=self.scenario, domain=task.record.domain)
        except ProtocolError as exc:  # believed nothing: the task stays open
            self.metrics.bad_input.labels(exc.code).inc()
            self.log.warning("%s: result refused: %s", p["user_id"], exc)
            return
        rec = task.record
        rec.bytes_down += len(res.image or b"")
        rec.node_id = res.node_id
        if res.status == "ok":
            self._finished(task, res)
            return
        if res.error is not None and res.error.code == ErrorCode.CONTENT_UNAVAILABLE:
            task.content_wanted()
            over_webrtc = task.request.content == "webrtc"
            if self._retry(task, res.error.code, inline=True):
                if over_webrtc:
                    self.delivery_metrics.fallback("user", "upload", "content_unavailable")
                return  # the node did not get it: asked again, its content on MQTT
            self._settle(task, Outcome.UNDELIVERABLE, error=f"{res.error.code} on every "
                         f"try: {res.error.message}")
            return
        self._settle(task, Outcome.of_status(res.status),
                     error=res.error.code if res.error is not None else None)

    def _finished(self, task: OpenTask, res: TaskResult) -> None:
        if res.image is None or res.checksum != checksum(res.image):
            if not self._retry(task, "result_checksum"):
                self._settle(task, Outcome.ERROR, error="result damaged on every try")
            return
        task.record.quality = res.quality
        if self.samples is not None and res.node_id and self.samples.wants(res.node_id):
            rec = task.record
            self.samples.offer(task_id=rec.task_id, node_id=res.node_id, domain=rec.domain,
                               steps=rec.steps, clean=rec.clean, damaged=task.image,
                               mask=task.mask, restored=res.image)
        self._observe_delivery(res, len(res.image))
        self._settle(task, Outcome.FINISHED, latency=self.clock.now() - task.record.sent_at)

    def _on_error(self, reply: ErrorReply, p: Params) -> None:
        if (reply.task_id or "") in self._gone:
            return  # about a task already settled and streamed out
        task = self._mine(reply.task_id, p)
        if task is None:
            self.metrics.bad_input.labels(ErrorCode.UNKNOWN_TASK).inc()
            return
        if reply.error.code == ErrorCode.DUPLICATE:
            self.metrics.duplicates.inc()
            task.still_open(time.monotonic())
            return
        if reply.error.code in _RETRYABLE and self._retry(task, reply.error.code):
            return
        self._settle(task, Outcome.ERROR, error=reply.error.code)

    # -- settling ------------------------------------------------------------------------
    def _settle(self, task: OpenTask, outcome: Outcome, *, latency: float | None = None,
                error: str | None = None) -> None:
        rec = task.record
        rec.outcome, rec.latency_s, rec.error = outcome, latency, error
        del self._open[task.task_id]
        if outcome not in (Outcome.LOST, Outcome.UNDELIVERABLE):
            self.resend.answered(time.monotonic() - task.first_sent)
            # Whoever keeps the answer for sending again may forget it now.
            self.sessions[rec.user_id].send(TOPICS.ack, TaskAck(task_id=rec.task_id,
                                                                user_id=rec.user_id),
                                            user_id=rec.user_id, node_id=rec.node_id or NO_NODE)
        rec.clean = None  # bounded memory: a settled record keeps no image
        if self.rtc is not None:
            self.rtc.forget(rec.task_id)
        self._count(rec)
        if self.repeats is not None:
            if rec.repeat:
                self.metrics.repeat_bytes.labels("received").inc(rec.bytes_down)
            repeat = self.repeats.settled(rec)
            if repeat is not None:
                self._ask_again(repeat, rec)
        self.metrics.outstanding.set(self.outstanding)
        if self.records_out is not None:
            self._stream_out(rec)
        if not self.outstanding:
            self._done.set()

    def _count(self, rec: TaskRecord) -> None:
        outcome = rec.outcome
        assert outcome is not None
        self.metrics.outcomes.labels(outcome).inc()
        if outcome is Outcome.FINISHED:
            node = rec.node_id or "none"
            if rec.latency_s is not None:
                self.metrics.latency.labels(node).observe(rec.latency_s)
            if rec.quality is not None:
                self.metrics.quality.labels(node).observe(rec.quality)
                self.metrics.domain_quality.labels(rec.domain).observe(rec.quality)
        self.metrics.domain_tasks.labels(rec.domain, outcome).inc()

    # -- users who ask again ([workload.repeats]) -----------------------------------------
    def _ask_again(self, repeat: Repeat, rec: TaskRecord) -> None:
        self.log.info("%s: asking again for %s (quality %s, repeat %d)", rec.user_id,
                      repeat.repeat_of, rec.quality, repeat.repeat)
        if repeat.delay_s <= 0:
            self._send_repeat(repeat)
            return
        self._held += 1  # held for the repeat, so drain() waits for it
        job = asyncio.get_running_loop().create_task(self._repeat_later(repeat),
                                                     name=f"repeat:{repeat.task_id}")
        self._repeats_due.add(job)
        job.add_done_callback(self._repeats_due.discard)

    async def _repeat_later(self, repeat: Repeat) -> None:
        try:
            await self.clock.sleep(repeat.delay_s)
        finally:
            self._held -= 1
        self._send_repeat(repeat)

    def _send_repeat(self, repeat: Repeat) -> None:
        arrival = Arrival(index=-1, at=0.0, user_id=repeat.user_id, steps=repeat.steps,
                          domain=repeat.domain)
        new = self.send(arrival, task_id=repeat.task_id)
        new.repeat, new.repeat_of = repeat.repeat, repeat.repeat_of
        self.metrics.repeats.inc()

    # -- content over WebRTC (--delivery webrtc|auto) ------------------------------------
    def _on_rtc_offer(self, offer: RtcOffer, p: Params) -> None:
        if offer.user_id != p["user_id"] or self.rtc is None:
            raise ProtocolError(ErrorCode.INVALID, "offer's user_id does not match the topic")
        self.rtc.on_offer(offer)

    def _on_preview(self, task_id: str, _step: int) -> None:
        task = self._open.get(task_id)
        if task is not None and task.record.first_preview_s is None:
            task.record.first_preview_s = self.clock.now() - task.record.sent_at
            self.delivery_metrics.first_preview.observe(task.record.first_preview_s)

    def _observe_delivery(self, res: TaskResult, size: int) -> None:
        """Emulated time from the node's finish to the content here, per MB, by path."""
        done = res.timings.finished_at
        if done is not None and size > 0:
            path = "webrtc" if res.content == "webrtc" else "broker"
            self.delivery_metrics.seconds_per_mb.labels(path).observe(
                max(0.0, self.clock.now() - done) / (size / 1e6))

    # -- the end of a run ----------------------------------------------------------------
    async def drain(self, timeout_s: float) -> None:
        """Wait for every answer, the rest is lost: for emulated *timeout_s*, or (when it
        is not 0) until the last open task's own deadline, whichever is later."""
        if self.outstanding:
            wall = self.clock.to_wall(timeout_s)
            if timeout_s > 0 and self._open:
                wall = max(wall, max(t.deadline for t in self._open.values()) - time.monotonic())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._done.wait(), wall)
        for task in list(self._open.values()):
            self._settle_unanswered(task, "before the end of the run")

    def summary(self) -> QoSSummary:
        return QoSSummary.of(list(self.records.values()), self._settled,
                             repeats=self.repeats is not None,
                             domains=not self.scenario.domains.single)

    def quality_of(self) -> np.ndarray:
        return np.array([*self._settled.quality,
                         *(r.quality for r in self.records.values() if r.quality is not None)])

    # -- delivery across faults (docs/reliability.md) ------------------------------------
    async def _watch(self, tick_s: float = 0.2) -> None:
        """Send again what had no answer in time; a task past its deadline is lost."""
        while True:
            await asyncio.sleep(tick_s)
            now = time.monotonic()
            for task in list(self._open.values()):
                due = task.due(now)
                if due is Due.LOST:
                    self._settle_unanswered(task, "by the task's deadline")
                elif due is Due.RESEND:
                    self._resend(task, now)

    def _settle_unanswered(self, task: OpenTask, when: str) -> None:
        """No answer came *when*: ``undeliverable`` while its content is still on its way
        to its node (the user's channel could not carry it in time), else ``lost``."""
        session = self.sessions[task.user_id]
        node = task.node_id  # the content goes to the node of its latest assignment
        if task.request.content == "mqtt" and node is not None and session.holds(
                TOPICS.content.topic.format(node_id=node, user_id=task.user_id)):
            why = (f"content ({task.size} bytes) still crossing the channel {when}"
                   + ("" if session.connected else "; disconnected"))
            self.log.info("%s: %s undeliverable: %s", task.user_id, task.task_id, why)
            self._settle(task, Outcome.UNDELIVERABLE, error=why)
            return
        self._settle(task, Outcome.LOST, error=f"no answer {when}")

    def _resend(self, task: OpenTask, now: float) -> None:
        session = self.sessions[task.user_id]
        if not session.connected or session.pending:
            # Still in the outbox (the broker is away): a second copy would only pile
            # up behind the first.
            return
        task.resent(now, self.resend.ceiling_s)
        self.metrics.retries.labels("no_answer").inc()
        self.log.info("%s: no answer for %s yet; sending it again", task.user_id, task.task_id)
        session.send(TOPICS.request, task.request, user_id=task.user_id)

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
