"""Believe only what you can check: the orchestrator's checks of node reports.

Every load report and event is checked against the scenario (the node's configured
capacity, the paper's model) and against the orchestrator's own records (what it
assigned to that node) before it changes anything. A check that fails raises
:class:`~aaas.ProtocolError` (``implausible`` or ``not_assigned``); the dispatcher's
error callback then replies on the node's error topic and counts it in
``aaas_orchestrator_bad_input_total{reason}``, and nothing else changes.

What cannot be checked here (that a node is really online, that a load report
with plausible numbers is true) is the broker ACL's job: only the node's own
identity may publish its status, load and events (``docs/security.md``).
"""

from __future__ import annotations

import math
from collections import OrderedDict

from aaas import ErrorCode, NodeLoad, NodeStatus, ProtocolError, Scenario, TaskEvent

from .cluster import NodeState

__all__ = ["MAX_SEQ", "NodeReportChecks", "finite"]

MAX_SEQ = 2**53
"""Sequence numbers beyond this are refused (a float64 holds every integer below it)."""
_REL_TOL = 1e-6
"""Tolerance of a reward or quality recomputed from the model (JSON round trip)."""
_KEYS_MAX = 100_000


def finite(name: str, value: float | None, *, bound: float = 1e15) -> None:
    """Raise ``implausible`` unless *value* is None or a finite number within ±*bound*."""
    if value is not None and not (math.isfinite(value) and abs(value) <= bound):
        raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"{name}={value!r} is not a finite number "
                            f"within ±{bound:g}")


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_REL_TOL, abs_tol=_REL_TOL)


class NodeReportChecks:
    """Checks of loads, statuses and events against the scenario and the assignments."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.asps = {a.id: a for a in scenario.asps}
        self._admitted: OrderedDict[str, None] = OrderedDict()

    def may_admit_again(self, task_id: str) -> None:
        """The user asked for *task_id* again (a higher attempt): its node runs it again
        when its earlier run ended without a result (its content never came), and that
        admission counts."""
        self._admitted.pop(task_id, None)

    # -- loads -----------------------------------------------------------------------
    def load(self, load: NodeLoad, node: NodeState) -> None:
        """A load report must match the node's configured capacity, add up, and not
        report assignments that were never made."""
        configured = self.asps[load.node_id].capacity
        if load.capacity != configured:
            raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"{load.node_id} reports capacity "
                                f"{load.capacity}; the scenario gives it {configured}")
        if load.used > load.capacity or load.free != load.capacity - load.used:
            raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"{load.node_id}: used={load.used}, "
                                f"free={load.free} do not add up to capacity {load.capacity}")
        w = self.scenario.workload
        if load.running * w.steps_min > load.used or load.used > load.running * w.steps_max:
            raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"{load.node_id}: {load.running} running "
                                f"tasks cannot hold {load.used} steps")
        if not -1 <= load.seq < MAX_SEQ or load.crashes >= MAX_SEQ:
            raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"{load.node_id}: seq={load.seq} or "
                                f"crashes={load.crashes} out of bounds")
        finite("at", load.at)
        # After the first report, a node can only have processed what was assigned to it
        # (a first report may come from before an orchestrator restart: not checkable).
        known = node.reported_seq >= 0 or node.next_seq > 0
        if known and load.seq > max(node.next_seq - 1, node.reported_seq):
            raise ProtocolError(ErrorCode.NOT_ASSIGNED, f"{load.node_id} reports assignment "
                                f"{load.seq}; the last one assigned to it is "
                                f"{max(node.next_seq - 1, node.reported_seq)}")

    @staticmethod
    def status(status: NodeStatus) -> None:
        finite("at", status.at)
        if len(status.backend) > 128:
            raise ProtocolError(ErrorCode.IMPLAUSIBLE, "backend name longer than 128 characters")

    # -- events ----------------------------------------------------------------------
    def event(self, ev: TaskEvent, node: NodeState) -> None:
        """An event must be about a task assigned to that node, and its reward must be
        the one the paper's model gives. A load it carries is checked as a load report
        of that node, before anything of the event counts."""
        if ev.load is not None:
            if ev.load.node_id != ev.node_id or ev.load.v != ev.v:
                raise ProtocolError(ErrorCode.INVALID, f"an event of {ev.node_id} carries a "
                                    f"v{ev.load.v} load of {ev.load.node_id}")
            self.load(ev.load, node)
        for name, value in (("at", ev.at), ("reward", ev.reward), ("quality", ev.quality),
                            ("progress", ev.progress)):
            finite(name, value)
        # the curve of the task's domain, as its request said when it was assigned
        curve = self.asps[ev.node_id].curve_for(
            self._assigned(node, ev.task_id, ev.user_id, ev.steps))
        if ev.kind == "admitted":
            expected = self.scenario.crash.reward(curve(ev.steps), 0.0)
            if not _close(ev.reward, expected):
                raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"admitted reward {ev.reward!r} for "
                                    f"t={ev.steps} on {ev.node_id}; the model gives {expected:.6g}")
            if ev.task_id in self._admitted:  # a replay (or a QoS 1 duplicate): counted once
                raise ProtocolError(ErrorCode.NOT_ASSIGNED, f"task {ev.task_id!r} was already "
                                    "admitted")
            self._admitted[ev.task_id] = None
            if len(self._admitted) > _KEYS_MAX:
                self._admitted.popitem(last=False)
        elif ev.kind == "finished":
            if ev.reward != 0.0:
                raise ProtocolError(ErrorCode.IMPLAUSIBLE, "a finished event carries no reward")
            if ev.quality is not None and not _close(ev.quality, curve(ev.steps)):
                raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"quality {ev.quality!r} is not "
                                    f"{ev.node_id}'s q(t={ev.steps})")
        elif ev.kind == "refused":
            if ev.reward != 0.0 or ev.quality is not None or ev.lost:
                raise ProtocolError(ErrorCode.IMPLAUSIBLE, "a refused event carries no reward, "
                                    "quality or lost tasks")
        else:
            self._crash(ev, node)

    def _crash(self, ev: TaskEvent, node: NodeState) -> None:
        rule = self.scenario.crash
        held = 0
        for lost in ev.lost:
            if lost.task_id == ev.task_id:
                raise ProtocolError(ErrorCode.IMPLAUSIBLE, "the crashing task cannot be lost")
            self._assigned(node, lost.task_id, lost.user_id, lost.steps)
            held += lost.steps
        free = self.asps[ev.node_id].capacity - held
        if not rule.crashes(free, ev.steps):
            raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"{ev.node_id} had {free} free steps "
                                f"for t={ev.steps}: the crash rule does not crash it")
        expected = rule.reward(0.0, rule.penalty(t.progress for t in ev.lost))
        if not _close(ev.reward, expected):
            raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"crash reward {ev.reward!r}; the model "
                                f"gives {expected:.6g} for the lost tasks' progress")

    @staticmethod
    def _assigned(node: NodeState, task_id: str, user_id: str, steps: int) -> int:
        """The domain index of *task_id*, which must be user_id's with *steps* on *node*."""
        record = node.inflight.get(task_id)
        if record is None:
            raise ProtocolError(ErrorCode.NOT_ASSIGNED, f"task {task_id!r} is not assigned to "
                                f"{node.node_id} (or already finished)")
        if record[:2] != (user_id, steps):
            raise ProtocolError(ErrorCode.NOT_ASSIGNED, f"task {task_id!r} on {node.node_id} is "
                                f"user {record[0]}'s with t={record[1]}, not {user_id}'s "
                                f"with t={steps}")
        return record[2]
