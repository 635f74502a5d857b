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
    Scenario,
    TaskEvent,
    TaskResult,
    TaskStatus,
    Timings,
    encode,
    error_reply,
)
from aaas.images import checksum, decode_image, decode_mask, encode_png
from aaas.lag import LagMeter
from aaas.validate import check_request
from monitoring import EdgeMetrics

from .backends import InpaintBackend, InpaintJob
from .capacity import Admission, CapacityLedger, Running

__all__ = ["EdgeNode"]


class EdgeNode:
    """One ASP: capacity, crash rule, backend, and its MQTT session."""

    def __init__(self, *, spec: AspSpec, scenario: Scenario, url: BrokerURL, clock: EmulatedClock,
                 backend: InpaintBackend, metrics: EdgeMetrics,
                 logger: logging.Logger | None = None, lag: LagMeter | None = None) -> None:
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
        self._jobs: dict[str, asyncio.Task[None]] = {}
        offline = NodeStatus(node_id=self.id, state="offline", backend=backend.name)
        self.dispatch = Dispatcher(on_error=self._bad)
        self.dispatch.on(TOPICS.assign, self._on_assign)
        self.session = MqttSession(
            url=url, client_id=self.id,
            subscriptions=self.dispatch.subscriptions(node_id=self.id),
            handler=self.dispatch.handle,
            will=Outgoing(TOPICS.status.topic.format(node_id=self.id), encode(offline), 1, True),
            on_connect=self._on_connect,
            on_bytes=lambda d, n: self.metrics.bytes.labels(self.id, d).inc(n),
            logger=self.log,
        )
        metrics.capacity.labels(self.id).set(spec.capacity)
        metrics.init_node(self.id)
        self._publish_gauges()

    # -- lifecycle ---------------------------------------------------------------
    async def __aenter__(self) -> EdgeNode:
        await self.session.__aenter__()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        for job in list(self._jobs.values()):
            job.cancel()
        await asyncio.gather(*self._jobs.values(), return_exceptions=True)
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
        if req.attempt == 0:  # a retry keeps its first sent_at
            self.lag.observe("admit", now - req.sent_at, task.runtime_s)
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
            job = InpaintJob(task_id=req.task_id, steps=req.steps,
                             image=decode_image(req.image), mask=decode_mask(req.mask))
            out = await self.backend.run(job)
            image = encode_png(out.image)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the backend failed: tell the user, free the capacity
            self.log.exception("backend failed on %s", req.task_id)
            self._jobs.pop(task.task_id, None)
            self.ledger.finish(task.task_id)
            self.metrics.tasks.labels(self.id, "error").inc()
            self._send_result(task.user_id, task.task_id, task.steps, "error",
                              sent_at=req.sent_at, assigned_at=a.assigned_at,
                              started_at=task.started_at, now=self.clock.now(),
                              error=ErrorInfo(code=ErrorCode.BACKEND_ERROR, message=str(exc)[:500]))
            self._finished_event(task, quality=None)
            return
        self._jobs.pop(task.task_id, None)
        if self.ledger.finish(task.task_id) is None:
            return  # lost in a crash meanwhile
        now = self.clock.now()
        self.lag.observe("finish", now - task.started_at - out.runtime_s, task.runtime_s)
        quality = task.quality
        self.metrics.tasks.labels(self.id, "finished").inc()
        self.metrics.inference.labels(self.id, self.backend.name).observe(out.runtime_s)
        self.metrics.quality.labels(self.id).observe(quality)
        self.session.send(TOPICS.result, TaskResult(
            task_id=task.task_id, user_id=task.user_id, status="ok", node_id=self.id,
            steps=task.steps, image=image, checksum=checksum(image), quality=quality,
            metrics=out.metrics,
            timings=Timings(sent_at=req.sent_at, assigned_at=a.assigned_at,
                            started_at=task.started_at, finished_at=now, runtime_s=out.runtime_s),
        ), user_id=task.user_id)
        self._finished_event(task, quality=quality)

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
