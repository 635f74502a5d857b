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

from aaas import (
    TOPICS,
    Assignment,
    BrokerURL,
    Dispatcher,
    EmulatedClock,
    ErrorCode,
    ErrorInfo,
    Incoming,
    MqttSession,
    NodeLoad,
    NodeStatus,
    Params,
    ProtocolError,
    Scenario,
    TaskEvent,
    TaskRequest,
    TaskResult,
    Timings,
    error_reply,
)
from aaas.lag import LagMeter
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
        self.lag = LagMeter("orchestrator", logger=self.log)
        """How late tasks are placed after they were sent (aaas.lag)."""
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._queue: deque[TaskRequest] = deque()
        self._queue_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.dispatch = Dispatcher(on_error=self._bad)
        self.dispatch.on(TOPICS.request, self._on_request, guard=self._known_user)
        self.dispatch.on(TOPICS.load, self._on_load, guard=self._known_node)
        self.dispatch.on(TOPICS.status, self._on_status, guard=self._known_node)
        # An empty event is ignored too (it always was), not only cleared retained ones.
        self.dispatch.on(TOPICS.event, self._on_event, guard=self._known_node, ignore_empty=True)
        self.session = MqttSession(
            url=url, client_id=client_id,
            subscriptions=self.dispatch.subscriptions(),
            handler=self.dispatch.handle,
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

    # -- incoming: checks and error replies ----------------------------------------------
    def _bad(self, exc: ProtocolError, msg: Incoming) -> None:
        self.metrics.bad_input.labels(exc.code).inc()
        self.log.warning("bad message on %s: %s", msg.topic, exc)
        reply = error_reply(exc, topic=msg.topic, raw=msg.raw)
        if (user := msg.params.get("user_id")) is not None:
            self.session.send(TOPICS.user_error, reply, user_id=user)
        elif (node := msg.params.get("node_id")) is not None:
            self.session.send(TOPICS.node_error, reply, node_id=node)

    def _known_user(self, p: Params) -> None:
        if p["user_id"] not in self.users:
            raise ProtocolError(ErrorCode.UNKNOWN_USER, f"user {p['user_id']!r} is not a user "
                                f"of scenario {self.scenario.name!r}")

    def _known_node(self, p: Params) -> None:
        if p["node_id"] not in self.cluster.index:
            raise ProtocolError(ErrorCode.UNKNOWN_NODE, f"node {p['node_id']!r} is not an ASP "
                                f"of scenario {self.scenario.name!r}")

    @staticmethod
    def _check_node_id(node_id: str, p: Params) -> None:
        if node_id != p["node_id"]:
            raise ProtocolError(ErrorCode.INVALID, f"node_id {node_id!r} does not match the "
                                f"topic's {p['node_id']!r}")

    # -- requests ----------------------------------------------------------------------
    def _on_request(self, req: TaskRequest, p: Params) -> None:
        check_request(req, self.scenario, topic_user=p["user_id"])
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
        if req.attempt == 0:  # a retry keeps its first sent_at
            self.lag.observe("decide", self.clock.now() - req.sent_at, obs.runtime_s)
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
    def _on_load(self, load: NodeLoad, p: Params) -> None:
        self._check_node_id(load.node_id, p)
        self.cluster.apply_load(load)

    def _on_status(self, status: NodeStatus, p: Params) -> None:
        self._check_node_id(status.node_id, p)
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
                error=ErrorInfo(code=ErrorCode.NODE_OFFLINE, message=f"{node_id} went offline"),
            ), user_id=user_id)
        node.inflight.clear()
        node.pending.clear()
        node.used = 0

    def _on_event(self, ev: TaskEvent, p: Params) -> None:
        self._check_node_id(ev.node_id, p)
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
                self._reject(self._queue.popleft(), ErrorCode.NO_NODE_ONLINE,
                             f"no edge node was online for {timeout:g} s")
            self.metrics.queued.labels(self._pname).set(len(self._queue))
            if self._queue:
                asyncio.get_running_loop().call_later(
                    max(0.05, self.clock.to_wall(timeout / 10)), self._wake.set)

    def _reject(self, req: TaskRequest, code: ErrorCode, message: str) -> None:
        self.metrics.rejected.labels(self._pname, code).inc()
        self.session.send(TOPICS.result, TaskResult(
            task_id=req.task_id, user_id=req.user_id, status="rejected", steps=req.steps,
            timings=Timings(sent_at=req.sent_at, finished_at=self.clock.now()),
            error=ErrorInfo(code=code, message=message),
        ), user_id=req.user_id)
