"""The live orchestrator: requests in, one policy decision each, assignments out.

It keeps the cluster view from the retained load/status reports plus its own
pending assignments, validates every request (error reply to the user on bad
input), holds tasks while no node is online (up to the scenario's queue
timeout), and tracks rewards from the nodes' events.

Delivery across faults (docs/reliability.md): every task is in a table
(:mod:`orchestrator.inflight`, on disk with ``state_path``) until its user
acknowledges it; a repeated request is answered (``duplicate``, the node asked to
send its result again, or the orchestrator's own answer sent again), never run
twice; a node that goes offline keeps its tasks for ``node_grace_s`` wall seconds,
then they are placed again (``on_node_loss="reassign"``) or reported ``crashed``
(``"fail"``); after a reconnect the backlog waits for fresh load reports and is
placed in paced batches.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from aaas import (
    TOPICS,
    Assignment,
    BrokerURL,
    Dispatcher,
    EmulatedClock,
    ErrorCode,
    ErrorInfo,
    ErrorReply,
    Incoming,
    MqttSession,
    NodeLoad,
    NodeStatus,
    Params,
    ProtocolError,
    Scenario,
    TaskAck,
    TaskEvent,
    TaskRequest,
    TaskResult,
    Timings,
    decode,
    encode,
    error_reply,
)
from aaas.lag import LagMeter
from aaas.validate import check_request
from monitoring import OrchestratorMetrics, byte_counter

from .checks import NodeReportChecks
from .cluster import ClusterView
from .inflight import TaskEntry, TaskStore
from .policies import Policy

__all__ = ["NodeLossAction", "Orchestrator", "RewardLedger"]

NodeLossAction = Literal["reassign", "fail"]
"""What happens to the running tasks of a node lost for good (--on-node-loss)."""


@dataclass
class RewardLedger:
    """Running totals of what the policy earned."""

    reward: float = 0.0
    utility: float = 0.0
    admitted: int = 0
    crashes: int = 0
    lost_tasks: int = 0


def _one_inference_thread() -> None:
    """Run a learned policy's network on this thread only (when it uses torch).

    A live decision is one observation: torch's intra-op threads (one per core by
    default) gain nothing on it, and on a busy host (the broker, the nodes, the
    users, the link) they spin for cores the event loop needs. Measured on the
    2-core machine with the cores busy: SAC's select took 1.2-4.7 ms with 2
    threads, 0.34-0.43 ms with 1 (0.22 ms either way on idle cores). ``aaas
    train`` and ``aaas evaluate`` keep their own ``--threads``.
    """
    torch = sys.modules.get("torch")  # never imported here: a light install has none
    if torch is not None:
        torch.set_num_threads(1)


class Orchestrator:
    """Assigns every task to an ASP with *policy*."""

    def __init__(self, *, scenario: Scenario, policy: Policy, url: BrokerURL,
                 clock: EmulatedClock, metrics: OrchestratorMetrics,
                 client_id: str = "orchestrator", logger: logging.Logger | None = None,
                 state_path: Path | None = None, on_node_loss: NodeLossAction = "reassign",
                 node_grace_s: float = 10.0, fresh_wait_s: float = 1.0,
                 pace_s: float = 0.02, lag: LagMeter | None = None) -> None:
        self.scenario = scenario
        self.policy = policy
        _one_inference_thread()
        self.clock = clock
        self.metrics = metrics
        self.log = logger or logging.getLogger("aaas.orchestrator")
        self.cluster = ClusterView(scenario)
        self.checks = NodeReportChecks(scenario)
        self.users = set(scenario.user_ids())
        self.ledger = RewardLedger()
        self.lag = lag or LagMeter("orchestrator", logger=self.log)
        """How late tasks are placed after they were sent (aaas.lag)."""
        self.store = TaskStore(state_path)
        self.on_node_loss = on_node_loss
        self.node_grace_s = node_grace_s
        """Wall seconds an offline node keeps its tasks (a broker restart is not a death)."""
        self.fresh_wait_s = fresh_wait_s
        """Wall seconds after a reconnect that placement waits for fresh load reports."""
        self.pace_s = pace_s
        """Wall pause between batches (one task per online node) of a backlog."""
        self._grace: dict[str, asyncio.TimerHandle] = {}
        self._hold_until = 0.0
        self._connected_at = float("-inf")
        self._reported: set[str] = set()
        self._last_load_at: dict[str, float] = {}
        self._empty_since: float | None = None
        self._queue: deque[tuple[TaskRequest, float]] = deque()
        self._queue_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.dispatch = Dispatcher(on_error=self._bad)
        self.dispatch.on(TOPICS.request, self._on_request, guard=self._known_user)
        self.dispatch.on(TOPICS.load, self._on_load, guard=self._known_node)
        self.dispatch.on(TOPICS.status, self._on_status, guard=self._known_node)
        # An empty event is ignored too (it always was), not only cleared retained ones.
        self.dispatch.on(TOPICS.event, self._on_event, guard=self._known_node, ignore_empty=True)
        self.dispatch.on(TOPICS.ack, self._on_ack, guard=self._known_user)
        self.session = MqttSession(
            url=url, client_id=client_id,
            subscriptions=self.dispatch.subscriptions(),
            on_message=self.dispatch.dispatch,
            # A persistent session: requests sent while this process is away (restart)
            # wait at the broker for it.
            clean_session=False,
            on_connect=self._on_connect,
            on_bytes=byte_counter(self.metrics.bytes),
            logger=self.log,
        )
        self._pname = policy.name
        metrics.nodes_online.labels(self._pname).set(0)
        metrics.init_policy(self._pname, scenario.name)
        metrics.reward.labels(self._pname).set(0)

    async def __aenter__(self) -> Orchestrator:
        if len(self.store):
            self.log.info("rebuilt %d open tasks from %s", len(self.store), self.store.path)
        await self.session.__aenter__()
        self._queue_task = asyncio.create_task(self._serve_queue(), name="orchestrator-queue")
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._queue_task is not None:
            self._queue_task.cancel()
            await asyncio.gather(self._queue_task, return_exceptions=True)
        for timer in self._grace.values():
            timer.cancel()
        await self.session.close()
        self.store.close()

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
        entry = self.store.get(req.user_id, req.task_id)
        if entry is not None or self.store.acked(req.user_id, req.task_id):
            self._repeated(req, entry)
            return
        self.store.put(TaskEntry(user_id=req.user_id, task_id=req.task_id, steps=req.steps,
                                 request=encode(req)))
        self.metrics.open_tasks.labels(self._pname).set(len(self.store))
        self.metrics.requests.labels(self._pname).inc()
        self._enqueue_or_place(req)

    def _enqueue_or_place(self, req: TaskRequest) -> None:
        # A request sent before our latest connect was held up by an outage (ours or
        # the broker's): it is part of a backlog, placed paced and only where it fits.
        # While a node is within its grace (a fault took it out of reach, its tasks and
        # capacity may come back), a task that fits no online node waits for room: the
        # nodes left must not be overloaded by the fault alone.
        if (not self._can_place() or self._queue or req.sent_at < self._connected_at
                or (self._grace and not self._fits(req.steps))):
            self._queue.append((req, self.clock.now()))
            self.metrics.queued.labels(self._pname).set(len(self._queue))
            self._wake.set()
            return
        self._place(req)

    def _place(self, req: TaskRequest) -> None:
        obs = self.cluster.observation(req.steps, self.scenario.domains.index(req.domain))
        if req.attempt == 0:  # a retry keeps its first sent_at
            self.lag.observe("decide", self.clock.now() - req.sent_at, obs.runtime_s)
        t0 = time.perf_counter()
        index = self.policy.select(obs)
        self.metrics.decision_time.labels(self._pname).observe(time.perf_counter() - t0)
        node_id = self.cluster.nodes[index].node_id
        entry = self.store.get(req.user_id, req.task_id)
        if entry is not None:  # written before the assignment leaves: a restart finds it
            self.store.put(entry.assigned(node_id, self.store.boots.get(node_id)))
        self.metrics.decisions.labels(self._pname, node_id).inc()
        self._send_assignment(node_id, req)

    def _send_assignment(self, node_id: str, req: TaskRequest, *, resend: bool = False) -> None:
        """Assign *req* to *node_id*: one message that the node and the task's user both
        read (the user then sends that node the content). *resend*: the same decision
        again, which a node that never got it refuses when it no longer fits."""
        seq = self.cluster.assign(self.cluster.index[node_id], req.task_id, req.user_id,
                                  req.steps, self.scenario.domains.index(req.domain))
        self.session.send(TOPICS.assign, Assignment(node_id=node_id, seq=seq,
                                                    policy=self._pname,
                                                    assigned_at=self.clock.now(), request=req,
                                                    boot=self.store.boots.get(node_id),
                                                    resend=resend),
                          node_id=node_id, user_id=req.user_id)

    # -- node reports ------------------------------------------------------------------
    def _on_load(self, load: NodeLoad, p: Params) -> None:
        self._check_node_id(load.node_id, p)
        self.checks.load(load, self.cluster.nodes[self.cluster.index[load.node_id]])
        self._apply_load(load)

    def _apply_load(self, load: NodeLoad) -> None:
        """A checked load report (on its own topic or in an event), unless stale."""
        if not self._stale_load(load):
            self.cluster.apply_load(load)

    def _on_status(self, status: NodeStatus, p: Params) -> None:
        self._check_node_id(status.node_id, p)
        self.checks.status(status)
        if status.state == "online":
            self._node_online(status)
        else:
            self._node_offline(status.node_id)
        self.metrics.nodes_online.labels(self._pname).set(self.cluster.online_count)

    def _on_event(self, ev: TaskEvent, p: Params) -> None:
        self._check_node_id(ev.node_id, p)
        node = self.cluster.nodes[self.cluster.index[ev.node_id]]
        self.checks.event(ev, node)
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
                self._answered_by_node(lost.user_id, lost.task_id, ev.node_id)
            self._answered_by_node(ev.user_id, ev.task_id, ev.node_id)
        elif ev.kind == "refused":
            node.inflight.pop(ev.task_id, None)
            self._refused(ev)
        else:
            node.inflight.pop(ev.task_id, None)
            if ev.kind == "finished":
                self._answered_by_node(ev.user_id, ev.task_id, ev.node_id)
            if ev.quality is not None:
                self.metrics.quality.labels(self._pname).observe(ev.quality)
        if ev.kind != "finished":
            self.ledger.reward += ev.reward
            self.metrics.reward.labels(self._pname).set(self.ledger.reward)
        if ev.load is not None:  # checked with the event; applied after it, as it was sent
            self._apply_load(ev.load)

    # -- the queue for tasks that arrived with no node online --------------------------------
    async def _serve_queue(self) -> None:
        timeout = self.scenario.limits.queue_timeout_s
        while True:
            await self._wake.wait()
            self._wake.clear()
            placed = 0
            while self._queue and self._can_place() and self._fits(self._queue[0][0].steps):
                self._place(self._queue.popleft()[0])
                placed += 1
                if placed % max(1, self.cluster.online_count) == 0 and self._queue:
                    # Paced: one task per online node, then let load reports come in.
                    self.metrics.queued.labels(self._pname).set(len(self._queue))
                    await asyncio.sleep(self.pace_s)
            now = self.clock.now()
            empty_since = self._cluster_empty_since(now)
            while (self._queue and empty_since is not None
                   and now - max(self._queue[0][1], empty_since) > timeout):
                self._reject(self._queue.popleft()[0], ErrorCode.NO_NODE_ONLINE,
                             f"no edge node was online for {timeout:g} s")
            self.metrics.queued.labels(self._pname).set(len(self._queue))
            if self._queue:
                asyncio.get_running_loop().call_later(
                    max(0.05, self.clock.to_wall(timeout / 10)), self._wake.set)

    def _reject(self, req: TaskRequest, code: ErrorCode, message: str) -> None:
        self.metrics.rejected.labels(self._pname, code).inc()
        self._answer(req.user_id, req.task_id, TaskResult(
            task_id=req.task_id, user_id=req.user_id, status="rejected", steps=req.steps,
            timings=Timings(sent_at=req.sent_at, finished_at=self.clock.now()),
            error=ErrorInfo(code=code, message=message), reply_key=req.reply_key,
        ))

    # -- delivery across faults (docs/reliability.md) ------------------------------------
    def _answer(self, user_id: str, task_id: str, result: TaskResult) -> None:
        """Send the orchestrator's own answer to a task, kept to be sent again until acked."""
        raw = encode(result)
        entry = self.store.get(user_id, task_id)
        if entry is not None:
            self.store.put(entry.answered(raw))
        self.session.publish_raw(TOPICS.result.topic.format(user_id=user_id), raw,
                                 qos=TOPICS.result.qos)

    def _answered_by_node(self, user_id: str, task_id: str, node_id: str) -> None:
        """The node answered the task (it keeps the result for sending again)."""
        entry = self.store.get(user_id, task_id)
        done = entry.answered_by(node_id) if entry is not None else None
        if done is not None:
            self.store.put(done)

    def _repeated(self, req: TaskRequest, entry: TaskEntry | None) -> None:
        """A request for a task already open in the run: answer it, never run it twice."""
        self.metrics.duplicates.labels(self._pname).inc()
        if entry is None:
            self._duplicate(req, "the task was answered and acknowledged")
            return
        if entry.state == "done" and entry.result is not None:
            self.session.publish_raw(TOPICS.result.topic.format(user_id=req.user_id),
                                     entry.result, qos=TOPICS.result.qos)
            return
        if entry.state == "done" and req.attempt > 0:
            # The user asks again after an answer that was not final (its content never
            # came, its result was damaged): a new placement by the policy on today's
            # loads. Sending the old assignment again put it back on a node that may be
            # full by now, and crashed it (the webrtc demo's crashes after fallbacks).
            self.checks.may_admit_again(req.task_id)
            self._place_again(entry, req, "retry")
            return
        if entry.node_id is not None:
            node = self.cluster.nodes[self.cluster.index[entry.node_id]]
            if node.online:
                # The node sends its kept result again, goes on running the task, or runs
                # it when the assignment was lost on the way (a broker that lost it); the
                # user, which reads the assignment too, sends the content again if need be.
                if req.attempt > 0:  # the user's repeat after content_unavailable runs
                    self.checks.may_admit_again(req.task_id)  # again: its admission counts
                self._send_assignment(entry.node_id, req, resend=True)
                self._duplicate(req, f"the task is with {entry.node_id}")
                return
            if entry.node_id in self._grace:
                self._duplicate(req, f"the task is with {entry.node_id}, offline for now")
                return
            self._place_again(entry, req, "lost_answer")
            return
        self._duplicate(req, "the task is queued")

    def _duplicate(self, req: TaskRequest, why: str) -> None:
        self.session.send(TOPICS.user_error, ErrorReply(
            task_id=req.task_id, topic=TOPICS.request.topic.format(user_id=req.user_id),
            error=ErrorInfo(code=ErrorCode.DUPLICATE, message=f"{req.task_id}: {why}")),
            user_id=req.user_id)

    def _refused(self, ev: TaskEvent) -> None:
        """The node refused a re-sent decision it never had: the policy places it anew."""
        entry = self.store.get(ev.user_id, ev.task_id)
        if entry is None or entry.node_id != ev.node_id or entry.request is None:
            return  # answered, or placed elsewhere, meanwhile
        self._place_again(entry, decode(entry.request, TaskRequest), "refused")

    def _place_again(self, entry: TaskEntry, req: TaskRequest, reason: str) -> None:
        self.store.put(entry.requeued())
        self.metrics.reassigned.labels(self._pname, reason).inc()
        self.log.info("placing %s/%s again (%s)", req.user_id, req.task_id, reason)
        self._enqueue_or_place(req)

    def _on_ack(self, ack: TaskAck, p: Params) -> None:
        if ack.user_id != p["user_id"]:
            raise ProtocolError(ErrorCode.INVALID, f"user_id {ack.user_id!r} does not match "
                                f"the topic's {p['user_id']!r}")
        # The node's own event (finished, or the crash that lost it) takes the task off
        # the node's in-flight list, not the ack: an ack can overtake that event, which
        # then would not be believed (orchestrator/checks.py) and its crash not counted.
        self.store.ack(ack.user_id, ack.task_id)
        self.metrics.open_tasks.labels(self._pname).set(len(self.store))

    # -- node loss: a grace period, then reassign or fail --------------------------------
    def _node_online(self, status: NodeStatus) -> None:
        node_id = status.node_id
        node = self.cluster.nodes[self.cluster.index[node_id]]
        timer = self._grace.pop(node_id, None)
        if timer is not None:
            timer.cancel()
            self.log.info("node %s is back within its grace period: it keeps its tasks", node_id)
        old = self.store.boots.get(node_id)
        if status.boot is not None and old != status.boot:
            self.store.set_boot(node_id, status.boot)
            if old is not None:
                # Another run of the node's process: what the old one ran is gone.
                self._node_gone(node_id, "restarted", lost_boot=old)
        if not node.online:
            node.online = True
            self.log.debug("node %s online (%s)", node_id, status.backend or "?")
            self._wake.set()

    def _node_offline(self, node_id: str) -> None:
        node = self.cluster.nodes[self.cluster.index[node_id]]
        was_online, node.online = node.online, False
        if node_id in self._grace or not (was_online or self.store.on_node(node_id)):
            return
        if self.node_grace_s <= 0:
            self._node_gone(node_id, "offline")
            return
        self.log.warning("node %s is offline; it keeps its tasks for %g s", node_id,
                         self.node_grace_s)
        self._grace[node_id] = asyncio.get_running_loop().call_later(
            self.node_grace_s, self._grace_over, node_id)

    def _grace_over(self, node_id: str) -> None:
        self._grace.pop(node_id, None)
        if not self.cluster.nodes[self.cluster.index[node_id]].online:
            self._node_gone(node_id, "offline")
        self._wake.set()

    def _node_gone(self, node_id: str, reason: str, *, lost_boot: str | None = None) -> None:
        """The node's running tasks are lost (offline past the grace, or restarted)."""
        node = self.cluster.nodes[self.cluster.index[node_id]]
        entries = [e for e in self.store.on_node(node_id)
                   if lost_boot is None or e.boot == lost_boot]
        self.log.warning("node %s %s with %d tasks: %s", node_id,
                         "went offline" if reason == "offline" else "was restarted",
                         len(entries), "placing them again" if self.on_node_loss == "reassign"
                         else "reporting them crashed")
        now = self.clock.now()
        for e in entries:
            node.inflight.pop(e.task_id, None)
            if self.on_node_loss == "reassign" and e.request is not None:
                self._place_again(e, decode(e.request, TaskRequest), reason)
                continue
            self._answer(e.user_id, e.task_id, TaskResult(
                task_id=e.task_id, user_id=e.user_id, status="crashed", node_id=node_id,
                steps=e.steps, timings=Timings(sent_at=now, finished_at=now),
                error=ErrorInfo(code=ErrorCode.NODE_OFFLINE, message=f"{node_id} went offline"),
                reply_key=self._reply_key(e),
            ))
        if lost_boot is None:
            node.inflight.clear()
            node.pending.clear()
            node.used = 0

    # -- after a reconnect: fresh loads first, then a paced backlog ----------------------
    def _on_connect(self) -> None:
        self.session.send(TOPICS.clock, self.clock.spec())
        self._connected_at = self.clock.now()
        self._hold_until = time.monotonic() + self.fresh_wait_s
        self._reported = set()
        asyncio.get_running_loop().call_later(self.fresh_wait_s, self._wake.set)

    def _holding(self) -> bool:
        """True while, after a reconnect, an online node has not reported its load yet."""
        if time.monotonic() >= self._hold_until:
            return False
        return not {n.node_id for n in self.cluster.nodes if n.online} <= self._reported

    def _can_place(self) -> bool:
        return self.cluster.online_count > 0 and not self._holding()

    def _fits(self, steps: int) -> bool:
        """Some online node has room for *steps* (as far as the reports and our own
        pending assignments say). A backlog waits for room: an outage alone must not
        crash a node by releasing every held task at once."""
        online = [n for n in self.cluster.nodes if n.online]
        # (A task larger than every node is placed anyway: waiting would never end.)
        return any(n.free >= steps for n in online) or all(n.capacity < steps for n in online)

    def _stale_load(self, load: NodeLoad) -> bool:
        """A report older than one already applied (a broker's replay of its saved copy)."""
        if load.at < self._last_load_at.get(load.node_id, float("-inf")):
            return True
        self._last_load_at[load.node_id] = load.at
        self._reported.add(load.node_id)
        if not self._holding():
            self._wake.set()
        return False

    def _cluster_empty_since(self, now: float) -> float | None:
        """Since when no node has been online or within its grace (None: one is)."""
        if self.cluster.online_count or self._grace or self._holding():
            self._empty_since = None
        elif self._empty_since is None:
            self._empty_since = now
        return self._empty_since

    @staticmethod
    def _reply_key(entry: TaskEntry) -> str | None:
        """The request's reply key, which every answer to it must echo (docs/security.md):
        from the stored request, so that it survives a restart with --state."""
        if entry.request is not None:
            return decode(entry.request, TaskRequest).reply_key
        return None
