"""The edge node service: one ASP on MQTT.

It takes assignments from the orchestrator, applies the crash rule, runs the
inpainting backend, and publishes the result to the user, events to the
orchestrator and its load (retained) after every change. Its retained
``online`` status is replaced by the ``offline`` last will if it dies.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

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
    TaskEvent,
    TaskRequest,
    TaskResult,
    TaskStatus,
    Timings,
    encode,
    error_reply,
)
from aaas.datachannel import DeliverySettings
from aaas.images import checksum, decode_image, decode_mask, encode_png
from aaas.validate import check_content, check_request
from monitoring import DeliveryMetrics, EdgeMetrics

from .backends import InpaintBackend, InpaintJob
from .capacity import Admission, CapacityLedger, Running
from .delivery import make_node_delivery

__all__ = ["EdgeNode"]


class EdgeNode:
    """One ASP: capacity, crash rule, backend, and its MQTT session."""

    def __init__(self, *, spec: AspSpec, scenario: Scenario, url: BrokerURL, clock: EmulatedClock,
                 backend: InpaintBackend, metrics: EdgeMetrics,
                 logger: logging.Logger | None = None,
                 delivery: DeliverySettings | None = None,
                 delivery_metrics: DeliveryMetrics | None = None) -> None:
        self.spec = spec
        self.id = spec.id
        self.scenario = scenario
        self.clock = clock
        self.backend = backend
        self.metrics = metrics
        self.log = logger or logging.getLogger(f"aaas.edge.{spec.id}")
        self.ledger = CapacityLedger(capacity=spec.capacity, rule=scenario.crash)
        self.seq = -1
        self._jobs: dict[str, asyncio.Task[None]] = {}
        offline = NodeStatus(node_id=self.id, state="offline", backend=backend.name)
        self.dispatch = Dispatcher(on_error=self._bad)
        self.dispatch.on(TOPICS.assign, self._on_assign)
        # Content over WebRTC (--delivery): None for mqtt, the default.
        self.delivery = delivery or DeliverySettings()
        self.delivery_metrics = delivery_metrics or DeliveryMetrics(CollectorRegistry())
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
            handler=self.dispatch.handle,
            will=Outgoing(TOPICS.status.topic.format(node_id=self.id), encode(offline), 1, True),
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
        for job in list(self._jobs.values()):
            job.cancel()
        await asyncio.gather(*self._jobs.values(), return_exceptions=True)
        for d in list(self._deliveries):
            d.cancel()  # each sends its result inline before it ends
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self.rtc is not None:
            await self.rtc.aclose()
        self.session.send(TOPICS.status, NodeStatus(node_id=self.id, state="offline",
                                                    backend=self.backend.name, at=self.clock.now()),
                          node_id=self.id)
        await self.session.close()
        await self.backend.aclose()

    def _on_connect(self) -> None:
        # Birth: online status and the current load, both retained.
        self.session.send(TOPICS.status, NodeStatus(node_id=self.id, state="online",
                                                    backend=self.backend.name, at=self.clock.now()),
                          node_id=self.id)
        self._publish_load()

    # -- incoming ----------------------------------------------------------------
    def _on_assign(self, assignment: Assignment, _params: Params) -> None:
        if assignment.node_id != self.id:
            raise ProtocolError(ErrorCode.UNKNOWN_NODE, f"assignment for "
                                f"{assignment.node_id!r} arrived at node {self.id!r}")
        check_request(assignment.request, self.scenario)
        self._on_assignment(assignment)

    def _on_rtc_answer(self, answer: RtcAnswer, _params: Params) -> None:
        if self.rtc is None or answer.node_id != self.id:
            raise ProtocolError(ErrorCode.UNKNOWN_NODE, f"answer for {answer.node_id!r} "
                                f"arrived at node {self.id!r}")
        self.rtc.on_answer(answer)

    def _count_bytes(self, direction: str, n: int) -> None:
        self.metrics.bytes.labels(self.id, direction).inc(n)
        self.delivery_metrics.bytes.labels("broker", "edge", direction).inc(n)

    def _bad(self, exc: ProtocolError, msg: Incoming) -> None:
        self.metrics.bad_input.labels(self.id, exc.code).inc()
        self.log.warning("bad assignment on %s: %s", msg.topic, exc)
        self.session.send(TOPICS.node_error, error_reply(exc, topic=msg.topic, raw=msg.raw),
                          node_id=self.id)

    def _on_assignment(self, a: Assignment) -> None:
        req = a.request
        self.seq = max(self.seq, a.seq)
        if req.task_id in self._jobs:  # a QoS 1 duplicate: already running
            self._publish_load()
            return
        now = self.clock.now()
        task = Running(task_id=req.task_id, user_id=req.user_id, steps=req.steps, started_at=now,
                       runtime_s=self.scenario.runtime(req.steps),
                       quality=self.spec.curve(req.steps))
        verdict = self.ledger.offer(task, now)
        if verdict.admitted:
            self._admit(a, task, verdict, now)
        else:
            self._crash(a, verdict, now)
        self._publish_load()

    # -- admission and crash ---------------------------------------------------------
    def _admit(self, a: Assignment, task: Running, verdict: Admission, now: float) -> None:
        self.metrics.tasks.labels(self.id, "admitted").inc()
        self.session.send(TOPICS.event, TaskEvent(kind="admitted", task_id=task.task_id,
                                                  user_id=task.user_id, node_id=self.id,
                                                  steps=task.steps, reward=verdict.reward, at=now),
                          node_id=self.id)
        self._jobs[task.task_id] = asyncio.create_task(self._execute(a, task),
                                                       name=f"job:{self.id}:{task.task_id}")

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
            self.metrics.tasks.labels(self.id, "crashed").inc()
            self.metrics.lost_progress.labels(self.id).inc(progress)
            self.metrics.lost_utility.labels(self.id).inc(r.quality)
            lost.append(LostTask(task_id=r.task_id, user_id=r.user_id, steps=r.steps,
                                 progress=progress))
            self._send_result(r.user_id, r.task_id, r.steps, "crashed", sent_at=None,
                              started_at=r.started_at, now=now,
                              error=ErrorInfo(code=ErrorCode.NODE_CRASHED,
                                              message=f"{self.id} crashed (overloaded) at "
                                              f"{progress:.0%} progress"))
        self._send_result(req.user_id, req.task_id, req.steps, "rejected", sent_at=req.sent_at,
                          assigned_at=a.assigned_at, now=now,
                          error=ErrorInfo(code=ErrorCode.OVERLOAD,
                                          message=f"{self.id} had too little free capacity "
                                          f"for t={req.steps} and crashed"))
        self.session.send(TOPICS.event, TaskEvent(kind="crashed", task_id=req.task_id,
                                                  user_id=req.user_id, node_id=self.id,
                                                  steps=req.steps, reward=verdict.reward,
                                                  lost=lost, at=now), node_id=self.id)

    async def _execute(self, a: Assignment, task: Running) -> None:
        req = a.request
        try:
            if req.content == "webrtc":
                req = await self._fetch_content(req)
            job = InpaintJob(task_id=req.task_id, steps=req.steps,
                             image=decode_image(req.image), mask=decode_mask(req.mask))
            out = await self.backend.run(job)
            image = encode_png(out.image)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the backend failed: tell the user, free the capacity
            code = ErrorCode.BACKEND_ERROR
            if isinstance(exc, ProtocolError) and exc.code == ErrorCode.CONTENT_UNAVAILABLE:
                code = exc.code  # the user asks again with its content inline
            else:
                self.log.exception("backend failed on %s", req.task_id)
            self._jobs.pop(task.task_id, None)
            self.ledger.finish(task.task_id)
            self.metrics.tasks.labels(self.id, "error").inc()
            self._send_result(task.user_id, task.task_id, task.steps, "error",
                              sent_at=req.sent_at, assigned_at=a.assigned_at,
                              started_at=task.started_at, now=self.clock.now(),
                              error=ErrorInfo(code=code, message=str(exc)[:500]))
            self._finished_event(task, quality=None)
            return
        self._jobs.pop(task.task_id, None)
        if self.ledger.finish(task.task_id) is None:
            return  # lost in a crash meanwhile
        now = self.clock.now()
        quality = task.quality
        self.metrics.tasks.labels(self.id, "finished").inc()
        self.metrics.inference.labels(self.id, self.backend.name).observe(out.runtime_s)
        self.metrics.quality.labels(self.id).observe(quality)
        self._send_ok(req, TaskResult(
            task_id=task.task_id, user_id=task.user_id, status="ok", node_id=self.id,
            steps=task.steps, image=image, checksum=checksum(image), quality=quality,
            metrics=out.metrics,
            timings=Timings(sent_at=req.sent_at, assigned_at=a.assigned_at,
                            started_at=task.started_at, finished_at=now, runtime_s=out.runtime_s),
        ))
        self._finished_event(task, quality=quality)

    # -- content over WebRTC (--delivery webrtc|auto) ------------------------------------
    async def _fetch_content(self, req: TaskRequest) -> TaskRequest:
        """*req* with the image and mask its user sends over the data channel."""
        got = None if self.rtc is None else await self.rtc.fetch_content(req.user_id,
                                                                         req.task_id)
        if got is not None:
            full = replace(req, image=got[0], mask=got[1], content="mqtt")
            try:
                check_content(full, self.scenario)
                return full
            except ProtocolError as exc:
                got, why = None, str(exc)
        else:
            why = "no peer connection to the user in time"
        self.delivery_metrics.fallbacks.labels("edge", "upload").inc()
        self.log.info("content of %s unavailable over WebRTC (%s)", req.task_id, why)
        raise ProtocolError(ErrorCode.CONTENT_UNAVAILABLE, f"content not received over "
                            f"WebRTC ({why}); ask again with it inline")

    def _send_ok(self, req: TaskRequest, result: TaskResult) -> None:
        """Send a result: its image over WebRTC when the user takes it, else inline."""
        image = result.image or b""
        if self.rtc is None or not req.rtc or not self.delivery.over_webrtc(len(image)):
            self.session.send(TOPICS.result, result, user_id=result.user_id)
            return
        job = asyncio.create_task(self._deliver(result, image), name=f"deliver:{result.task_id}")
        self._deliveries.add(job)
        job.add_done_callback(self._deliveries.discard)

    async def _deliver(self, result: TaskResult, image: bytes) -> None:
        assert self.rtc is not None
        ok = False
        try:
            ok = await self.rtc.deliver_result(result.user_id, result.task_id, image)
        finally:  # also when cancelled (the node stops): the result still goes out
            if ok:
                result = replace(result, image=None, content="webrtc")
            else:
                self.delivery_metrics.fallbacks.labels("edge", "result").inc()
            self.session.send(TOPICS.result, result, user_id=result.user_id)

    def _finished_event(self, task: Running, *, quality: float | None) -> None:
        self.session.send(TOPICS.event, TaskEvent(kind="finished", task_id=task.task_id,
                                                  user_id=task.user_id, node_id=self.id,
                                                  steps=task.steps, quality=quality, progress=1.0,
                                                  at=self.clock.now()), node_id=self.id)
        self._publish_load()

    # -- outgoing helpers ----------------------------------------------------------------
    def _send_result(self, user_id: str, task_id: str, steps: int, status: TaskStatus, *,
                     sent_at: float | None, now: float, error: ErrorInfo,
                     assigned_at: float | None = None, started_at: float | None = None) -> None:
        self.session.send(TOPICS.result, TaskResult(
            task_id=task_id, user_id=user_id, status=status,
            node_id=self.id, steps=steps, error=error,
            timings=Timings(sent_at=sent_at if sent_at is not None else started_at or now,
                            assigned_at=assigned_at, started_at=started_at, finished_at=now),
        ), user_id=user_id)

    def _publish_gauges(self) -> None:
        self.metrics.used.labels(self.id).set(self.ledger.used)
        self.metrics.free.labels(self.id).set(self.ledger.free)
        self.metrics.running.labels(self.id).set(len(self.ledger.running))

    def _publish_load(self) -> None:
        self._publish_gauges()
        self.session.send(TOPICS.load, self.load(), node_id=self.id)

    def load(self) -> NodeLoad:
        """The node's current load report."""
        return NodeLoad(node_id=self.id, capacity=self.ledger.capacity, used=self.ledger.used,
                        free=self.ledger.free, running=len(self.ledger.running), seq=self.seq,
                        crashes=self.ledger.crashes, at=self.clock.now())
