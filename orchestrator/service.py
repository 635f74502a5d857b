"""The live orchestrator: requests in, one policy decision each, assignments out.

It keeps the cluster view from the retained load/status reports plus its own
pending assignments, validates every request (error reply to the user on bad
input), holds tasks while no node is online (up to the scenario's queue
timeout), and tracks rewards from the nodes' events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from types import TracebackType

import aiomqtt

from aaas import (
    TOPICS,
    Assignment,
    BrokerURL,
    EmulatedClock,
    ErrorInfo,
    MqttSession,
    NodeLoad,
    NodeStatus,
    ProtocolError,
    Scenario,
    TaskEvent,
    TaskRequest,
    TaskResult,
    Timings,
    decode,
    error_reply,
)
from aaas.validate import check_request
from monitoring import OrchestratorMetrics

from .cluster import ClusterView
from .policies import Policy

__all__ = ["Orchestrator", "RewardLedger"]

_SEEN_MAX = 100_000


@dataclass
class RewardLedger:
    """Running totals of what the policy earned."""

    reward: float = 0.0
    utility: float = 0.0
    admitted: int = 0
    crashes: int = 0
    lost_tasks: int = 0


class Orchestrator:
    """Assigns every task to an ASP with *policy*."""

    def __init__(self, *, scenario: Scenario, policy: Policy, url: BrokerURL,
                 clock: EmulatedClock, metrics: OrchestratorMetrics,
                 client_id: str = "orchestrator", logger: logging.Logger | None = None) -> None:
        self.scenario = scenario
        self.policy = policy
        self.clock = clock
        self.metrics = metrics
        self.log = logger or logging.getLogger("aaas.orchestrator")
        self.cluster = ClusterView(scenario)
        self.users = set(scenario.user_ids())
        self.ledger = RewardLedger()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._queue: deque[TaskRequest] = deque()
        self._queue_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.session = MqttSession(
            url=url, client_id=client_id,
            subscriptions=[(TOPICS.request.topic.filter, 1), (TOPICS.load.topic.filter, 1),
                           (TOPICS.status.topic.filter, 1), (TOPICS.event.topic.filter, 1)],
            handler=self._on_message,
            on_connect=lambda: self.session.send(TOPICS.clock, self.clock.spec()),
            on_bytes=lambda d, n: self.metrics.bytes.labels(d).inc(n),
            logger=self.log,
        )
        self._pname = policy.name
        metrics.nodes_online.labels(self._pname).set(0)
        metrics.init_policy(self._pname, scenario.name)
        metrics.reward.labels(self._pname).set(0)

    async def __aenter__(self) -> Orchestrator:
        await self.session.__aenter__()
        self._queue_task = asyncio.create_task(self._serve_queue(), name="orchestrator-queue")
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._queue_task is not None:
            self._queue_task.cancel()
            await asyncio.gather(self._queue_task, return_exceptions=True)
        await self.session.close()

    # -- dispatch --------------------------------------------------------------------
    async def _on_message(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        raw = bytes(message.payload) if isinstance(message.payload, bytes | bytearray) else b""
        if (p := TOPICS.request.topic.match(topic)) is not None:
            self._on_request(p["user_id"], topic, raw)
        elif (p := TOPICS.load.topic.match(topic)) is not None:
            self._on_node_message(p["node_id"], topic, raw, NodeLoad)
        elif (p := TOPICS.status.topic.match(topic)) is not None:
            self._on_node_message(p["node_id"], topic, raw, NodeStatus)
        elif (p := TOPICS.event.topic.match(topic)) is not None:
            self._on_node_message(p["node_id"], topic, raw, TaskEvent)

    def _bad(self, exc: ProtocolError, topic: str, raw: bytes, *, user: str | None = None,
             node: str | None = None) -> None:
        self.metrics.bad_input.labels(exc.code).inc()
        self.log.warning("bad message on %s: %s", topic, exc)
        reply = error_reply(exc, topic=topic, raw=raw)
        if user is not None:
            self.session.send(TOPICS.user_error, reply, user_id=user)
        elif node is not None:
            self.session.send(TOPICS.node_error, reply, node_id=node)

    def _on_request(self, user_id: str, topic: str, raw: bytes) -> None:
        try:
            if user_id not in self.users:
                raise ProtocolError("unknown_user", f"user {user_id!r} is not a user of scenario "
                                    f"{self.scenario.name!r}")
            req = decode(raw, TaskRequest)
            check_request(req, self.scenario, topic_user=user_id)
        except ProtocolError as exc:
            self._bad(exc, topic, raw, user=user_id)
            return
        key = f"{req.user_id}/{req.task_id}/{req.attempt}"
        if key in self._seen:
            return  # a QoS 1 duplicate
        self._seen[key] = None
        if len(self._seen) > _SEEN_MAX:
            self._seen.popitem(last=False)
        self.metrics.requests.labels(self._pname).inc()
        if self.cluster.online_count == 0 or self._queue:
            self._queue.append(req)
            self.metrics.queued.labels(self._pname).set(len(self._queue))
            self._wake.set()
            return
        self._place(req)

    def _place(self, req: TaskRequest) -> None:
        obs = self.cluster.observation(req.steps)
        t0 = time.perf_counter()
        index = self.policy.select(obs)
        self.metrics.decision_time.labels(self._pname).observe(time.perf_counter() - t0)
        node = self.cluster.nodes[index]
        seq = self.cluster.assign(index, req.task_id, req.user_id, req.steps)
        self.metrics.decisions.labels(self._pname, node.node_id).inc()
        self.session.send(TOPICS.assign, Assignment(node_id=node.node_id, seq=seq,
                                                    policy=self._pname,
                                                    assigned_at=self.clock.now(), request=req),
                          node_id=node.node_id)

    # -- node reports ------------------------------------------------------------------
    def _on_node_message(self, node_id: str, topic: str, raw: bytes, kind: type) -> None:
        if not raw:  # a cleared retained message
            return
        try:
            if node_id not in self.cluster.index:
                raise ProtocolError("unknown_node", f"node {node_id!r} is not an ASP of scenario "
                                    f"{self.scenario.name!r}")
            msg: NodeLoad | NodeStatus | TaskEvent = decode(raw, kind)
            if msg.node_id != node_id:
                raise ProtocolError("invalid", f"node_id {msg.node_id!r} does not match the "
                                    f"topic's {node_id!r}")
        except ProtocolError as exc:
            self._bad(exc, topic, raw, node=node_id)
            return
        if isinstance(msg, NodeLoad):
            self.cluster.apply_load(msg)
        elif isinstance(msg, NodeStatus):
            self._on_status(msg)
        else:
            self._on_event(msg)

    def _on_status(self, status: NodeStatus) -> None:
        node = self.cluster.nodes[self.cluster.index[status.node_id]]
        was_online, node.online = node.online, status.state == "online"
        self.metrics.nodes_online.labels(self._pname).set(self.cluster.online_count)
        if was_online and not node.online:
            self._node_lost(node.node_id)
        elif node.online and not was_online:
            self.log.debug("node %s online (%s)", status.node_id, status.backend or "?")
            self._wake.set()

    def _node_lost(self, node_id: str) -> None:
        """A node went offline: its unfinished tasks are gone; tell their users."""
        node = self.cluster.nodes[self.cluster.index[node_id]]
        self.log.warning("node %s went offline with %d tasks", node_id, len(node.inflight))
        now = self.clock.now()
        for task_id, (user_id, steps) in node.inflight.items():
            self.session.send(TOPICS.result, TaskResult(
                task_id=task_id, user_id=user_id, status="crashed", node_id=node_id, steps=steps,
                timings=Timings(sent_at=now, finished_at=now),
                error=ErrorInfo(code="node_offline", message=f"{node_id} went offline"),
            ), user_id=user_id)
        node.inflight.clear()
        node.pending.clear()
        node.used = 0

    def _on_event(self, ev: TaskEvent) -> None:
        node = self.cluster.nodes[self.cluster.index[ev.node_id]]
        self.metrics.events.labels(self._pname, ev.kind).inc()
        if ev.kind == "admitted":
            self.ledger.admitted += 1
            self.ledger.utility += ev.reward
            self.metrics.utility.labels(self._pname).inc(ev.reward)
        elif ev.kind == "crashed":
            self.ledger.crashes += 1
            self.ledger.lost_tasks += len(ev.lost)
            self.metrics.lost_tasks.labels(self._pname).inc(len(ev.lost))
            self.metrics.lost_progress.labels(self._pname).inc(sum(t.progress for t in ev.lost))
            node.inflight.pop(ev.task_id, None)
            for lost in ev.lost:
                node.inflight.pop(lost.task_id, None)
        else:
            node.inflight.pop(ev.task_id, None)
            if ev.quality is not None:
                self.metrics.quality.labels(self._pname).observe(ev.quality)
        if ev.kind != "finished":
            self.ledger.reward += ev.reward
            self.metrics.reward.labels(self._pname).set(self.ledger.reward)

    # -- the queue for tasks that arrived with no node online --------------------------------
    async def _serve_queue(self) -> None:
        timeout = self.scenario.limits.queue_timeout_s
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and self.cluster.online_count:
                self._place(self._queue.popleft())
            now = self.clock.now()
            while self._queue and now - self._queue[0].sent_at > timeout:
                self._reject(self._queue.popleft(), "no_node_online",
                             f"no edge node was online for {timeout:g} s")
            self.metrics.queued.labels(self._pname).set(len(self._queue))
            if self._queue:
                asyncio.get_running_loop().call_later(
                    max(0.05, self.clock.to_wall(timeout / 10)), self._wake.set)

    def _reject(self, req: TaskRequest, code: str, message: str) -> None:
        self.metrics.rejected.labels(self._pname, code).inc()
        self.session.send(TOPICS.result, TaskResult(
            task_id=req.task_id, user_id=req.user_id, status="rejected", steps=req.steps,
            timings=Timings(sent_at=req.sent_at, finished_at=self.clock.now()),
            error=ErrorInfo(code=code, message=message),
        ), user_id=req.user_id)
