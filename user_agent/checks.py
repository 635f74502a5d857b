"""Believe only what you can check: a user's checks of a result.

A result settles a task only when it is for an open task of that user and

* echoes the task's ``reply_key``, the random value the user put in its request:
  under the generated ACL only the orchestrator and the node the task was assigned
  to ever see the request, so a result with the key comes from one of them (the
  node another node's stolen credential cannot read it; ``docs/security.md``);
* is for the steps asked, from a node of the scenario;
* carries, when ``ok``, the quality the paper's model gives that node for those
  steps (q_i(t)), a finite number.

An assignment (which tells the user where its content goes) is believed only when it
is for an open task of that user, names a node of the scenario, and carries the request
the user sent (its steps, checksum and reply key): only the orchestrator may publish
one (the ACL), and only the orchestrator and the node ever saw that request.

A failed check raises :class:`~aaas.ProtocolError`; the user counts it in
``aaas_user_bad_input_total{reason}`` and the task stays open (a forged answer
settles nothing, a forged assignment sends no content; the real ones still can).
"""

from __future__ import annotations

import math

from aaas import Assignment, ErrorCode, Params, ProtocolError, Scenario, TaskRequest, TaskResult

__all__ = ["check_assignment", "check_result"]


def check_assignment(a: Assignment, *, params: Params, sent: TaskRequest,
                     node_ids: frozenset[str]) -> None:
    """Raise ProtocolError unless *a* assigns the request *sent* to one of the scenario's
    *node_ids* (see the module doc)."""
    if a.node_id != params["node_id"] or a.node_id not in node_ids:
        raise ProtocolError(ErrorCode.UNKNOWN_NODE, f"assignment to {a.node_id!r} on the topic "
                            f"of {params['node_id']!r}: not an ASP of the scenario, or not "
                            "the topic's")
    r = a.request
    if (r.user_id, r.steps, r.domain, r.checksum, r.reply_key) != (
            sent.user_id, sent.steps, sent.domain, sent.checksum, sent.reply_key):
        raise ProtocolError(ErrorCode.NOT_ASSIGNED, f"assignment of {r.task_id} does not carry "
                            "the request its user sent")


def check_result(res: TaskResult, *, reply_key: str | None, steps: int,
                 scenario: Scenario, domain: str = "generic") -> None:
    """Raise ProtocolError unless *res* can settle the task (see the module doc)."""
    if reply_key is not None and res.reply_key != reply_key:
        raise ProtocolError(ErrorCode.NOT_ASSIGNED, f"result for {res.task_id} does not carry "
                            "the task's reply key: not from the node it was assigned to")
    if res.steps != steps:
        raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"result for t={res.steps}; the task asked "
                            f"for t={steps}")
    if res.node_id is not None and res.node_id not in scenario.node_ids:
        raise ProtocolError(ErrorCode.UNKNOWN_NODE, f"result from {res.node_id!r}, not an ASP "
                            f"of scenario {scenario.name!r}")
    if res.status != "ok":
        return
    if res.node_id is None or res.quality is None or not math.isfinite(res.quality):
        raise ProtocolError(ErrorCode.IMPLAUSIBLE, "an ok result must name its node and a "
                            "finite quality")
    expected = scenario.asp(res.node_id).curve_for(scenario.domains.index(domain))(steps)
    if not math.isclose(res.quality, expected, rel_tol=1e-6, abs_tol=1e-6):
        raise ProtocolError(ErrorCode.IMPLAUSIBLE, f"quality {res.quality!r} is not "
                            f"{res.node_id}'s q(t={steps}) on {domain} = {expected:.6g}")
