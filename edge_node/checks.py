"""Believe only what you can check: the edge node's checks of an assignment.

Beyond its schema and the request checks it shares with the orchestrator
(``aaas.validate.check_request``), an assignment must be for this node and the
topic's user, carry
finite times, a bounded policy name and a sequence number the orchestrator could
have reached. A failed check raises :class:`~aaas.ProtocolError`; the node replies
on its error topic, counts it in ``aaas_edge_bad_input_total{reason}`` and changes
nothing (no capacity taken, no crash).

That an assignment really comes from the orchestrator cannot be checked from its
content: the broker's ACL lets only the orchestrator's identity publish on a node's
assign topic (``docs/security.md``).
"""

from __future__ import annotations

import math

from aaas import Assignment, ErrorCode, ProtocolError, Scenario
from aaas.validate import check_request

__all__ = ["SEQ_WINDOW", "check_assignment"]

SEQ_WINDOW = 1_000_000
"""How far past the last sequence number a node has seen a new assignment may jump
(an orchestrator numbers a node's assignments one by one)."""
_TIME_BOUND = 1e15


def check_assignment(a: Assignment, *, node_id: str, user_id: str, last_seq: int,
                     scenario: Scenario) -> None:
    """Raise ProtocolError unless *a*, which arrived on the topic of *user_id*, is an
    assignment this node can believe."""
    if a.node_id != node_id:
        raise ProtocolError(ErrorCode.UNKNOWN_NODE, f"assignment for {a.node_id!r} arrived at "
                            f"node {node_id!r}")
    if a.request.user_id != user_id:
        raise ProtocolError(ErrorCode.INVALID, f"assignment of {a.request.user_id!r}'s task "
                            f"on the topic of {user_id!r}")
    for name, value in (("assigned_at", a.assigned_at), ("request.sent_at", a.request.sent_at)):
        if not (math.isfinite(value) and abs(value) <= _TIME_BOUND):
            raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"{name}={value!r} is not a finite time")
    if a.seq > max(last_seq, 0) + SEQ_WINDOW:
        raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"seq {a.seq} jumps more than {SEQ_WINDOW} "
                            f"past the last one seen ({last_seq})")
    if len(a.policy) > 64:
        raise ProtocolError(ErrorCode.IMPLAUSIBLE, "policy name longer than 64 characters")
    check_request(a.request, scenario)
