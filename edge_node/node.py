"""The edge node service: one ASP on MQTT.

It takes assignments from the orchestrator, applies the crash rule, runs the
inpainting backend, and publishes the result to the user, events to the
orchestrator and its load (retained) after every change. Its retained
``online`` status is replaced by the ``offline`` last will if it dies.

Delivery across faults (docs/reliability.md): a persistent session keeps the
assignments sent while it is away; every answer it sends a user is kept (bounded)
until the user acknowledges it and is sent again when the orchestrator forwards a
repeated request; ``boot`` names this run of the process, and an assignment made to
an earlier run is dropped (the orchestrator places it again). Images are checked
from their headers before decoding, and decoding runs off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from types import TracebackType

import numpy as np
import numpy.typing as npt
from msgspec.structs import replace
from prometheus_client import CollectorRegistry

from aaas import (
    TOPICS,
    AspSpec,
    Assignment,
    BrokerURL,
    Dispatcher,
    EmulatedClock,
    ErrorCode,
    ErrorInfo,
    Incoming,
    LostTask,
    MqttSession,
    NodeLoad,
    NodeStatus,
    Outgoing,
    Params,
    ProtocolError,
    RtcAnswer,
    Scenario,
    TaskAck,
    TaskContent,
    TaskEvent,
    TaskRequest,
    TaskResult,
    TaskStatus,
    Timings,
    encode,
    error_reply,
)
from aaas.datachannel import DeliverySettings
from aaas.images import check_pixels, checksum, decode_image, decode_mask, encode_png
from aaas.lag import LagMeter
from aaas.validate import check_content
from monitoring import DeliveryMetrics, EdgeMetrics, FallbackReason, byte_counter

from .backends import INLINE_MAX_PIXELS, InpaintBackend, InpaintJob, InpaintOutput, PreviewHook
from .capacity import Admission, CapacityLedger, Running
from .checks import check_assignment
from .content import ContentInbox
from .delivery import make_node_delivery

__all__ = ["EdgeNode"]

RESULT_CACHE = 4096
"""Answers kept for sending again until their users acknowledge them (oldest dropped)."""
ACKED_MEMORY = 100_000
"""Acknowledged task ids remembered, so that a late repeat of one is not run again."""
LOAD_RETAIN_EVERY_S = 0.2
"""Wall seconds between the retained load reports that follow a task's events. The
events carry the load to the orchestrator (TaskEvent.load); the retained report is for
a subscriber that comes later (an orchestrator that restarts or reconnects, a
``mosquitto_sub``), so it may lag the events by this much. Before, a report of its own
followed each admission and each finish: two of the seven messages the orchestrator
handled per task (docs/history.md, stop 19)."""
CONTENT_WAIT_FLOOR_S = 10.0
"""The shortest wall wait for a task's content, whatever the time scale (the longest is
the task's Scenario.answer_deadline_s on the clock): the user sends it when it reads the
assignment, one round trip over its channel after the node did. The wait runs from the
latest piece of the content (a slow transfer that keeps coming is waited for); a task
none of whose content comes for that long frees its capacity and is answered
``content_unavailable``."""


class EdgeNode:
    """One ASP: capacity, crash rule, backend, and its MQTT session."""

    def __init__(self, *, spec: AspSpec, scenario: Scenario, url: BrokerURL, clock: EmulatedClock,
                 backend: InpaintBackend, metrics: EdgeMetrics,
                 logger: logging.Logger | None = None, keepalive: int = 30,
                 lag: LagMeter | None = None,
                 delivery: DeliverySettings | None = None,
                 delivery_metrics: DeliveryMetrics | None = None,
                 content_wait_floor_s: float = CONTENT_WAIT_FLOOR_S) -> None:
        self.spec = spec
        self.id = spec.id
        self.scenario = scenario
        self.clock = clock
        self.backend = backend
        self.metrics = metrics
        self.log = logger or logging.getLogger(f"aaas.edge.{spec.id}")
        self.ledger = CapacityLedger(capacity=spec.capacity, rule=scenario.crash)
        self.lag = lag or LagMeter(f"edge node {spec.id}", logger=self.log)
        """Admission after the request was sent, finish after admission + runtime (aaas.lag)."""
        self.seq = -1
        self.boot = secrets.token_hex(6)
        """This run of the node's process (NodeStatus.boot)."""
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._results: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        """task id -> (user id, encoded TaskResult), until the user acknowledges it."""
        self._unavailable: OrderedDict[str, int] = OrderedDict()
        """Tasks answered content_unavailable here, and the attempt that was."""
        self._delivering: dict[str, str] = {}
        """Tasks whose result is on its way over WebRTC (not yet kept), by user."""
        self._acked: OrderedDict[str, str] = OrderedDict()
        """Tasks whose user acknowledged this node's answer (task id -> user id): an
        assignment of one again (the orchestrator forwarding a user's resend that crossed
        the ack) must not run it a second time."""
        self._retain_load: asyncio.TimerHandle | None = None
        """The retained load report due after events carried the load (_load_changed)."""
        self.content = ContentInbox(scenario)
        """The content of admitted tasks, from their users (over MQTT)."""
        self._freed: set[str] = set()
        """Tasks whose capacity was freed on the model's time, before their content came
        (their result follows it: _content)."""
        self.content_wait_floor_s = content_wait_floor_s
        offline = NodeStatus(node_id=self.id, state="offline", backend=backend.name,
                             boot=self.boot)
        self.dispatch = Dispatcher(on_error=self._bad)
        self.dispatch.on(TOPICS.assign, self._on_assign)
        self.dispatch.on(TOPICS.content, self._on_content)
        self.dispatch.on(TOPICS.ack, self._on_ack)
        # Content over WebRTC (--delivery): None for mqtt, the default.
        self.delivery = delivery or DeliverySettings()
        self.delivery_metrics = delivery_metrics or DeliveryMetrics(CollectorRegistry())
        self._count_node_bytes = byte_counter(self.metrics.bytes, self.id)
        self._count_broker_bytes = byte_counter(self.delivery_metrics.bytes, "broker", "edge")
        self.rtc = make_node_delivery(
            self.delivery, node_id=self.id, clock=clock, metrics=self.delivery_metrics,
            send_offer=lambda o: self.session.send(TOPICS.rtc_offer, o, user_id=o.user_id),
            logger=self.log)
        if self.rtc is not None:
            self.dispatch.on(TOPICS.rtc_answer, self._on_rtc_answer)
        self._deliveries: set[asyncio.Task[None]] = set()
        self.session = MqttSession(
            url=url, client_id=self.id,
            subscriptions=self.dispatch.subscriptions(node_id=self.id),
            on_message=self.dispatch.dispatch,
            will=Outgoing(TOPICS.status.topic.format(node_id=self.id), encode(offline), 1, True),
            # Persistent: assignments sent while the connection is down wait at the broker.
            clean_session=False, keepalive=keepalive,
            on_connect=self._on_connect,
            on_bytes=self._count_bytes,
            logger=self.log,
        )
        metrics.capacity.labels(self.id).set(spec.capacity)
        metrics.init_node(self.id)
        self._publish_gauges()

    # -- lifecycle ---------------------------------------------------------------
    async def __aenter__(self) -> EdgeNode:
        await self.session.__aenter__()
        if self.rtc is not None:
            await self.rtc.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._retain_load is not None:
            self._retain_load.cancel()
        for job in list(self._jobs.values()):
            job.cancel()
        await asyncio.gather(*self._jobs.values(), return_exceptions=True)
        for d in list(self._deliveries):
            d.cancel()  # each sends its result inline before it ends
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self.rtc is not None:
            await self.rtc.aclose()
        self.session.send(TOPICS.status, NodeStatus(node_id=self.id, state="offline",
                                                    backend=self.backend.name, at=self.clock.now(),
                                                    boot=self.boot),
                          node_id=self.id)
        await self.session.close()
        await self.backend.aclose()

    def _on_connect(self) -> None:
        # Birth: online status and the current load, both retained.
        self.session.send(TOPICS.status, NodeStatus(node_id=self.id, state="online",
                                                    backend=self.backend.name, at=self.clock.now(),
                                                    boot=self.boot),
                          node_id=self.id)
        self._publish_load()

    # -- incoming ----------------------------------------------------------------
    def _on_assign(self, assignment: Assignment, params: Params) -> None:
        check_assignment(assignment, node_id=self.id, user_id=params["user_id"],
                         last_seq=self.seq, scenario=self.scenario)
        if self._repeated_or_stale(assignment):
            return
        self._on_assignment(assignment)

    def _on_rtc_answer(self, answer: RtcAnswer, _params: Params) -> None:
        if self.rtc is None or answer.node_id != self.id:
            raise ProtocolError(ErrorCode.UNKNOWN_NODE, f"answer for {answer.node_id!r} "
                                f"arrived at node {self.id!r}")
        self.rtc.on_answer(answer)

    def _on_content(self, msg: TaskContent, params: Params) -> None:
        """A task's image and mask from its user: taken only for a task admitted here that
        waits for it, with the assignment's checksum (ContentInbox)."""
        user_id = params["user_id"]
        if self.content.offer(msg, user_id):
            return
        if self._owner(msg.task_id) == user_id:
            return  # a copy of content it has, or of a task it answered: nothing to do
        raise ProtocolError(ErrorCode.NOT_ASSIGNED, f"{msg.task_id} of {user_id} is not "
                            f"assigned to {self.id}")

    def _owner(self, task_id: str) -> str | None:
        """The user of *task_id* when it runs here or was answered here, else None."""
        running = self.ledger.running.get(task_id)
        if running is not None:
            return running.user_id
        kept = self._results.get(task_id)
        return kept[0] if kept is not None else self._acked.get(task_id)

    def _content_wait_s(self, req: TaskRequest) -> float:
        """Wall seconds a task waits for its content (CONTENT_WAIT_FLOOR_S)."""
        return max(self.content_wait_floor_s,
                   self.clock.to_wall(self.scenario.answer_deadline_s(req.steps)))

    def _count_bytes(self, direction: str, n: int) -> None:
        self._count_node_bytes(direction, n)
        self._count_broker_bytes(direction, n)

    def _bad(self, exc: ProtocolError, msg: Incoming) -> None:
        self.metrics.bad_input.labels(self.id, exc.code).inc()
        reply = error_reply(exc, topic=msg.topic, raw=msg.raw)
        if msg.route is TOPICS.content:  # its user sends it again, or gives up
            self.log.info("content refused on %s: %s", msg.topic, exc)
            self.session.send(TOPICS.content_error, reply, user_id=msg.params["user_id"],
                              node_id=self.id)
            return
        self.log.warning("bad %s on %s: %s", msg.route.name, msg.topic, exc)
        self.session.send(TOPICS.node_error, reply, node_id=self.id)

    def _on_assignment(self, a: Assignment) -> None:
        req = a.request
        self.seq = max(self.seq, a.seq)
        if req.task_id in self._jobs:  # a QoS 1 duplicate: already running
            self._publish_load()
            return
        now = self.clock.now()
        task = Running(task_id=req.task_id, user_id=req.user_id, steps=req.steps, started_at=now,
                       runtime_s=self.scenario.runtime(req.steps),
                       quality=self.spec.curve_for(self.scenario.domains.index(req.domain))(
                           req.steps),
                       reply_key=req.reply_key)
        if req.attempt == 0:  # a retry keeps its first sent_at
            self.lag.observe("admit", now - req.sent_at, task.runtime_s)
        if a.resend and self.scenario.crash.crashes(self.ledger.free, req.steps):
            self._refuse(a, now)
            return
        verdict = self.ledger.offer(task, now)
        if verdict.admitted:
            self._admit(a, task, verdict, now)
        else:
            self._crash(a, verdict, now)
        self._load_changed()  # the event carried it

    # -- admission and crash ---------------------------------------------------------
    def _admit(self, a: Assignment, task: Running, verdict: Admission, now: float) -> None:
        self.metrics.tasks.labels(self.id, "admitted").inc()
        if a.request.content == "mqtt":
            self.content.expect(a.request)  # before anything else runs: it may come next
        self.session.send(TOPICS.event, TaskEvent(kind="admitted", task_id=task.task_id,
                                                  user_id=task.user_id, node_id=self.id,
                                                  steps=task.steps, reward=verdict.reward, at=now,
                                                  load=self.load(at=now)),
                          node_id=self.id)
        self._jobs[task.task_id] = asyncio.create_task(self._execute(a, task),
                                                       name=f"job:{self.id}:{task.task_id}")

    def _refuse(self, a: Assignment, now: float) -> None:
        """A decision sent again that this node never got (a broker lost it) and that no
        longer fits: it was taken on an old view, so it is refused, not run into a crash.
        The orchestrator places the task anew (the user reads that assignment)."""
        req = a.request
        self.metrics.refused.labels(self.id).inc()
        self.log.info("refused the re-sent assignment of %s (t=%d): %d free steps", req.task_id,
                      req.steps, self.ledger.free)
        self.session.send(TOPICS.event, TaskEvent(kind="refused", task_id=req.task_id,
                                                  user_id=req.user_id, node_id=self.id,
                                                  steps=req.steps, at=now,
                                                  load=self.load(at=now)),
                          node_id=self.id)

    def _crash(self, a: Assignment, verdict: Admission, now: float) -> None:
        req = a.request
        self.metrics.crashes.labels(self.id).inc()
        self.metrics.penalty.labels(self.id).inc(verdict.penalty)
        self.metrics.tasks.labels(self.id, "rejected").inc()
        self.log.warning("crash: %s (t=%d) arrived with %d free steps; %d running tasks lost",
                         req.task_id, req.steps, self.ledger.capacity - sum(
                             r.steps for r, _ in verdict.lost), len(verdict.lost))
        lost = []
        for r, progress in verdict.lost:
            job = self._jobs.pop(r.task_id, None)
            if job is not None:
                job.cancel()
            self.content.drop(r.task_id)
            self.metrics.tasks.labels(self.id, "crashed").inc()
            self.metrics.lost_progress.labels(self.id).inc(progress)
            self.metrics.lost_utility.labels(self.id).inc(r.quality)
            lost.append(LostTask(task_id=r.task_id, user_id=r.user_id, steps=r.steps,
                                 progress=progress))
            self._send_result(r.user_id, r.task_id, r.steps, "crashed", sent_at=None,
                              reply_key=r.reply_key,
                              started_at=r.started_at, now=now,
                              error=ErrorInfo(code=ErrorCode.NODE_CRASHED,
                                              message=f"{self.id} crashed (overloaded) at "
                                              f"{progress:.0%} progress"))
        self._send_result(req.user_id, req.task_id, req.steps, "rejected", sent_at=req.sent_at,
                          reply_key=req.reply_key,
                          assigned_at=a.assigned_at, now=now,
                          error=ErrorInfo(code=ErrorCode.OVERLOAD,
                                          message=f"{self.id} had too little free capacity "
                                          f"for t={req.steps} and crashed"))
        self.session.send(TOPICS.event, TaskEvent(kind="crashed", task_id=req.task_id,
                                                  user_id=req.user_id, node_id=self.id,
                                                  steps=req.steps, reward=verdict.reward,
                                                  lost=lost, at=now, load=self.load(at=now)),
                          node_id=self.id)

    async def _execute(self, a: Assignment, task: Running) -> None:
        """Run an admitted task: wait for its content, run the backend, answer."""
        try:
            done = await self._inpaint(a.request, task)
        except asyncio.CancelledError:
            self._freed.discard(task.task_id)
            raise
        except Exception as exc:  # the backend failed, or the content never came
            self._failed(a, task, exc)
            return
        if done is not None:
            self._answer_ok(a, task, *done)

    async def _inpaint(self, req: TaskRequest,
                       task: Running) -> tuple[InpaintOutput, bytes, float] | None:
        """The backend's output for *task*, its PNG and when the inference ended (None:
        lost in a crash meanwhile). Over MQTT the modelled runtime counts from admission
        (it ends on the model's time even when the content comes late: :meth:`_content`),
        over MQTT and over WebRTC alike; a backend that runs for real starts when the
        content arrives."""
        started_at = task.started_at if self.backend.models_runtime else None
        image, mask = await self._content(req, task)
        image_in, mask_in = await decode_content(image, mask,
                                                 self.scenario.limits.max_image_pixels)
        job = InpaintJob(task_id=req.task_id, steps=req.steps, started_at=started_at,
                         image=image_in, mask=mask_in, preview=self._previews(req),
                         preview_every=self.delivery.preview_every)
        out = await self.backend.run(job)
        # The inference is over: the capacity is free now, as in the simulator, not
        # after the result is encoded (a thread hop later).
        if not self._free(task, runtime_s=out.runtime_s):
            self._jobs.pop(task.task_id, None)
            return None  # lost in a crash meanwhile
        done_at = self.clock.now()
        if out.png is not None:
            return out, out.png, done_at  # the finished event, sent next, carries the load
        self._publish_load()  # a thread hop before that event: report the capacity free
        return out, await asyncio.to_thread(encode_png, out.image), done_at

    async def _content(self, req: TaskRequest, task: Running) -> tuple[bytes, bytes]:
        """*req*'s image and mask, from its user (ContentInbox) or over WebRTC.

        With a modelled runtime, content that has not come when that runtime is over
        does not hold the capacity longer: the task is finished on the model's time (its
        capacity free, its ``finished`` event sent) and its result follows when its
        content comes. The paper's model holds t steps for runtime(t) from admission; a
        slow upload (or a user agent behind its clock) shows in the user's latency, not
        in the ASP's load."""
        if req.content == "webrtc":
            return await self._fetch_on_time(req, task)
        try:
            got = None
            if self.backend.models_runtime:
                left = self.clock.to_wall(task.started_at + task.runtime_s - self.clock.now())
                got = await self.content.wait(req.task_id, left)
                if got is None:
                    self._free(task, runtime_s=task.runtime_s, early=True)
            if got is None:
                got = await self.content.wait(req.task_id, self._content_wait_s(req), idle=True)
            if got is None:
                have, size = self.content.progress(req.task_id)
                raise ProtocolError(ErrorCode.CONTENT_UNAVAILABLE, f"the content of "
                                    f"{req.task_id} did not arrive ({have} of {size} "
                                    f"bytes; none for {self._content_wait_s(req):.3g} wall s)")
            return got
        finally:
            self.content.drop(req.task_id)

    def _free(self, task: Running, *, runtime_s: float, early: bool = False) -> bool:
        """*task*'s capacity is free (the model's finish): False when a crash lost it
        meanwhile. *early*: its result comes later; the ``finished`` event goes now."""
        if task.task_id in self._freed:  # on the model's time already
            return True
        if self.ledger.finish(task.task_id) is None:
            return False
        self.lag.observe("finish", self.clock.now() - task.started_at - runtime_s,
                         task.runtime_s)
        if early:
            self._freed.add(task.task_id)
            self._finished_event(task, quality=task.quality)
        return True

    def _failed(self, a: Assignment, task: Running, exc: Exception) -> None:
        """The backend failed on *task*, or its content never came: tell the user, free
        the capacity."""
        req = a.request
        code = ErrorCode.BACKEND_ERROR
        if isinstance(exc, ProtocolError) and exc.code == ErrorCode.CONTENT_UNAVAILABLE:
            code = exc.code  # the user asks again, its content on MQTT
        else:
            self.log.exception("backend failed on %s", req.task_id)
        self._jobs.pop(task.task_id, None)
        freed_before = task.task_id in self._freed
        self._freed.discard(task.task_id)
        if not freed_before and self.ledger.finish(task.task_id) is None:
            return  # lost in a crash meanwhile: its user has its answer
        self.metrics.tasks.labels(self.id, "error").inc()
        self._send_result(task.user_id, task.task_id, task.steps, "error",
                          reply_key=task.reply_key,
                          sent_at=req.sent_at, assigned_at=a.assigned_at,
                          started_at=task.started_at, now=self.clock.now(),
                          error=ErrorInfo(code=code, message=str(exc)[:500]))
        if code == ErrorCode.CONTENT_UNAVAILABLE:
            # Not an answer to keep: the user's repeat (content inline, a higher
            # attempt) must run the task, not get this error sent again; a copy of the
            # assignment it answered must not run it again (_repeated_or_stale).
            self._results.pop(task.task_id, None)
            self._unavailable[task.task_id] = req.attempt
            while len(self._unavailable) > 100_000:
                self._unavailable.popitem(last=False)
        if not freed_before:
            self._finished_event(task, quality=None)

    def _answer_ok(self, a: Assignment, task: Running, out: InpaintOutput, image: bytes,
                   done_at: float) -> None:
        req = a.request
        self._jobs.pop(task.task_id, None)
        quality = task.quality
        self.metrics.tasks.labels(self.id, "finished").inc()
        self.metrics.inference.labels(self.id, self.backend.name).observe(out.runtime_s)
        self.metrics.quality.labels(self.id).observe(quality)
        self._send_ok(req, TaskResult(
            task_id=task.task_id, user_id=task.user_id, status="ok", node_id=self.id,
            steps=task.steps, image=image, checksum=checksum(image), quality=quality,
            metrics=out.metrics, reply_key=task.reply_key,
            timings=Timings(sent_at=req.sent_at, assigned_at=a.assigned_at,
                            started_at=task.started_at, finished_at=done_at,
                            runtime_s=out.runtime_s),
        ))
        if task.task_id in self._freed:  # its finished event went on the model's time
            self._freed.discard(task.task_id)
        else:
            self._finished_event(task, quality=quality)

    # -- content over WebRTC (--delivery webrtc|auto) ------------------------------------
    async def _fetch_on_time(self, req: TaskRequest, task: Running) -> tuple[bytes, bytes]:
        """:meth:`_fetch_content`; with a modelled runtime the capacity is free on the
        model's time even while the fetch goes on (a peer set up slowly under load held
        it for many runtimes, and the nodes that kept it crashed others' tasks)."""
        fetch = asyncio.ensure_future(self._fetch_content(req))
        try:
            if self.backend.models_runtime:
                left = self.clock.to_wall(task.started_at + task.runtime_s - self.clock.now())
                done, _ = await asyncio.wait({fetch}, timeout=max(0.0, left))
                if not done:
                    self._free(task, runtime_s=task.runtime_s, early=True)
            return await fetch
        finally:
            fetch.cancel()  # the job was cancelled (a crash): so is its fetch

    async def _fetch_content(self, req: TaskRequest) -> tuple[bytes, bytes]:
        """The image and mask of *req*, which its user sends over the data channel."""
        got: tuple[bytes, bytes] | FallbackReason = "no_webrtc"
        if self.rtc is None:
            self.log.info("content of %s asked over WebRTC, which this node does not take: "
                          "its user is asked to send it over MQTT", req.task_id)
        else:
            got = await self.rtc.fetch_content(req.user_id, req.task_id)
        if not isinstance(got, str):
            try:
                check_content(*got, self.scenario, size=req.size,
                              expected_checksum=req.checksum)
                return got
            except ProtocolError as exc:
                self.log.info("content of %s over WebRTC refused (%s): its user is asked to "
                              "send it over MQTT", req.task_id, exc)
                got = "bad_content"
        self.delivery_metrics.fallback("edge", "upload", got)
        raise ProtocolError(ErrorCode.CONTENT_UNAVAILABLE, f"content not received over "
                            f"WebRTC ({got}); ask again with it inline")

    def _previews(self, req: TaskRequest) -> PreviewHook | None:
        """Where the backend's previews of *req* go: its user's data channel, when the
        node sends previews (``--preview-every``) and the user takes WebRTC."""
        rtc = self.rtc
        if rtc is None or not req.rtc or self.delivery.preview_every <= 0:
            return None
        rtc.connect_soon(req.user_id)

        async def send(step: int, image: np.ndarray) -> None:
            png = await asyncio.to_thread(encode_png, image)  # off the event loop
            rtc.send_preview(req.user_id, req.task_id, step, png)

        def hook(step: int, image: np.ndarray) -> None:  # on the event loop's thread
            job = asyncio.create_task(send(step, image), name=f"preview:{req.task_id}")
            self._deliveries.add(job)
            job.add_done_callback(self._deliveries.discard)

        return hook

    def _send_ok(self, req: TaskRequest, result: TaskResult) -> None:
        """Send a result: its image over WebRTC when the user takes it, else inline."""
        image = result.image or b""
        if self.rtc is None or not req.rtc or not self.delivery.over_webrtc(len(image)):
            self._send_kept(result)
            return
        job = asyncio.create_task(self._deliver(result, image), name=f"deliver:{result.task_id}")
        self._deliveries.add(job)
        self._delivering[result.task_id] = result.user_id
        job.add_done_callback(self._deliveries.discard)

    async def _deliver(self, result: TaskResult, image: bytes) -> None:
        assert self.rtc is not None
        why: FallbackReason | None = "stopping"
        try:
            why = await self.rtc.deliver_result(result.user_id, result.task_id, image)
        finally:  # also when cancelled (the node stops): the result still goes out
            if why is None:
                result = replace(result, image=None, content="webrtc")
            else:
                self.delivery_metrics.fallback("edge", "result", why)
            self._send_kept(result)
            self._delivering.pop(result.task_id, None)

    def _finished_event(self, task: Running, *, quality: float | None) -> None:
        now = self.clock.now()
        self.session.send(TOPICS.event, TaskEvent(kind="finished", task_id=task.task_id,
                                                  user_id=task.user_id, node_id=self.id,
                                                  steps=task.steps, quality=quality, progress=1.0,
                                                  at=now, load=self.load(at=now)),
                          node_id=self.id)
        self._load_changed()

    # -- outgoing helpers ----------------------------------------------------------------
    def _send_result(self, user_id: str, task_id: str, steps: int, status: TaskStatus, *,
                     sent_at: float | None, now: float, error: ErrorInfo,
                     assigned_at: float | None = None, started_at: float | None = None,
                     reply_key: str | None = None) -> None:
        self._send_kept(TaskResult(
            task_id=task_id, user_id=user_id, status=status,
            node_id=self.id, steps=steps, error=error, reply_key=reply_key,
            timings=Timings(sent_at=sent_at if sent_at is not None else started_at or now,
                            assigned_at=assigned_at, started_at=started_at, finished_at=now),
        ))

    def _publish_gauges(self) -> None:
        self.metrics.used.labels(self.id).set(self.ledger.used)
        self.metrics.free.labels(self.id).set(self.ledger.free)
        self.metrics.running.labels(self.id).set(len(self.ledger.running))

    def _publish_load(self) -> None:
        if self._retain_load is not None:
            self._retain_load.cancel()
            self._retain_load = None
        self._publish_gauges()
        self.session.send(TOPICS.load, self.load(), node_id=self.id)

    def _load_changed(self) -> None:
        """An event carried the new load: the retained report follows within
        LOAD_RETAIN_EVERY_S, one for every change in that time."""
        self._publish_gauges()
        if self._retain_load is None:
            self._retain_load = asyncio.get_running_loop().call_later(
                LOAD_RETAIN_EVERY_S, self._publish_load)

    def load(self, *, at: float | None = None) -> NodeLoad:
        """The node's current load report (*at*: an event's time, default now)."""
        return NodeLoad(node_id=self.id, capacity=self.ledger.capacity, used=self.ledger.used,
                        free=self.ledger.free, running=len(self.ledger.running), seq=self.seq,
                        crashes=self.ledger.crashes, at=self.clock.now() if at is None else at)

    # -- delivery across faults (docs/reliability.md) ------------------------------------
    def _send_kept(self, result: TaskResult) -> None:
        """Send a user its answer and keep it until the user acknowledges it."""
        raw = encode(result)
        self._results[result.task_id] = (result.user_id, raw)
        while len(self._results) > RESULT_CACHE:
            self._results.popitem(last=False)
        self.session.publish_raw(TOPICS.result.topic.format(user_id=result.user_id), raw,
                                 qos=TOPICS.result.qos)

    def _repeated_or_stale(self, a: Assignment) -> bool:
        """Handle an assignment that must not start a task; True when handled."""
        req = a.request
        if a.boot is not None and a.boot != self.boot:
            # Made to an earlier run of this process (it waited in the persistent
            # session): that run's tasks are gone, and the orchestrator, seeing the new
            # boot, places them again. Running it too would run it twice.
            self.metrics.stale.labels(self.id).inc()
            self.seq = max(self.seq, a.seq)
            self._publish_load()
            return True
        if self._acked.get(req.task_id) == req.user_id:
            # Answered and acknowledged: the user has it. Running it again would take
            # capacity the orchestrator no longer counts and crash the node.
            self.metrics.stale.labels(self.id).inc()
            self.seq = max(self.seq, a.seq)
            self._publish_load()
            return True
        if self._delivering.get(req.task_id) == req.user_id:
            # Run, its result on its way over WebRTC (then kept, or sent inline): a
            # copy of its assignment (the user's resend) must not run it again, which
            # took the capacity twice and crashed nodes under load.
            self.metrics.stale.labels(self.id).inc()
            self.seq = max(self.seq, a.seq)
            self._publish_load()
            return True
        if self._unavailable.get(req.task_id, -1) >= req.attempt:
            # A copy of an assignment answered content_unavailable (the user's resend
            # crossed the answer): running it again would take capacity twice and
            # crash the node. Only the user's repeat, a higher attempt, runs it.
            self.metrics.stale.labels(self.id).inc()
            self.seq = max(self.seq, a.seq)
            self._publish_load()
            return True
        kept = self._results.get(req.task_id)
        if kept is not None and kept[0] == req.user_id:
            # Answered already: the user's copy was lost on the way; send it again.
            self.metrics.resent.labels(self.id).inc()
            self.seq = max(self.seq, a.seq)
            self.session.publish_raw(TOPICS.result.topic.format(user_id=req.user_id), kept[1],
                                     qos=TOPICS.result.qos)
            self._publish_load()
            return True
        return False

    def _on_ack(self, ack: TaskAck, p: Params) -> None:
        kept = self._results.get(ack.task_id)  # (subscribed to the acks naming this node)
        if kept is not None and kept[0] == ack.user_id == p["user_id"] and p["node_id"] == self.id:
            del self._results[ack.task_id]
            self._acked[ack.task_id] = ack.user_id
            while len(self._acked) > ACKED_MEMORY:
                self._acked.popitem(last=False)


async def decode_content(image: bytes, mask: bytes, max_pixels: int
                         ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """A request's image and mask, decoded: on the event loop when both are small
    (INLINE_MAX_PIXELS, from their headers), else in one worker call (one thread hop) so
    that a slow decode does not stall the node's MQTT session."""
    if max(check_pixels(image, "image", max_pixels),
           check_pixels(mask, "mask", max_pixels)) <= INLINE_MAX_PIXELS:
        return _decode_both(image, mask, max_pixels)
    return await asyncio.to_thread(_decode_both, image, mask, max_pixels)


def _decode_both(image: bytes, mask: bytes,
                 max_pixels: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    return (decode_image(image, max_pixels=max_pixels),
            decode_mask(mask, max_pixels=max_pixels))
