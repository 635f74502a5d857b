"""Believe only what you can check: each receiver's checks, one forgery at a time."""

from __future__ import annotations

import time

import numpy as np
import pytest

from aaas import (
    Assignment,
    ClockSpec,
    ErrorCode,
    LinkUpdate,
    LostTask,
    NodeLoad,
    ProtocolError,
    TaskEvent,
    TaskRequest,
    TaskResult,
    Timings,
)
from aaas.clock_sync import check_clock
from aaas.images import checksum, encode_png, random_mask, synthetic_image
from edge_node.checks import check_assignment
from link.control_checks import check_update
from orchestrator.checks import NodeReportChecks
from orchestrator.cluster import ClusterView
from tests.helpers.stack import small_scenario
from user_agent.checks import check_result

SC = small_scenario(asps=3, capacity=1000)
NODE = SC.asps[0].id


def code_of(fn, *args, **kw) -> ErrorCode:  # type: ignore[no-untyped-def]
    with pytest.raises(ProtocolError) as info:
        fn(*args, **kw)
    return info.value.code


def cluster_with(*tasks: tuple[str, str, int]) -> ClusterView:
    view = ClusterView(SC)
    for task_id, user, steps in tasks:
        view.assign(view.index[NODE], task_id, user, steps)
    return view


def load(**kw) -> NodeLoad:  # type: ignore[no-untyped-def]
    base = {"node_id": NODE, "capacity": 1000, "used": 0, "free": 1000, "running": 0,
            "seq": -1, "at": 1.0}
    return NodeLoad(**(base | kw))


# -- orchestrator: loads --------------------------------------------------------------
def test_load_must_match_the_configured_capacity() -> None:
    checks, node = NodeReportChecks(SC), ClusterView(SC).nodes[0]
    checks.load(load(), node)
    # The retained 10^23 report that made ClusterView.observation raise OverflowError.
    assert code_of(checks.load, load(capacity=10**23, free=10**23), node) == "implausible"
    assert code_of(checks.load, load(capacity=999, free=999), node) == "implausible"


@pytest.mark.parametrize("kw", [
    {"used": 1200, "free": -200, "running": 6},      # more than the capacity
    {"used": 100, "free": 100, "running": 1},        # does not add up
    {"used": 500, "free": 500, "running": 0},        # steps held by no task
    {"used": 100, "free": 900, "running": 5},        # five tasks in 100 steps
    {"seq": 2**60},
])
def test_load_must_add_up(kw: dict[str, int]) -> None:
    assert code_of(NodeReportChecks(SC).load, load(**kw), ClusterView(SC).nodes[0]) == \
        "implausible"


def test_load_cannot_report_assignments_never_made() -> None:
    view = cluster_with(("t1", "user-0001", 120))
    node = view.nodes[0]
    NodeReportChecks(SC).load(load(used=120, free=880, running=1, seq=0), node)
    assert code_of(NodeReportChecks(SC).load, load(seq=5), node) == "not_assigned"


# -- orchestrator: events ---------------------------------------------------------------
def event(kind: str, **kw) -> TaskEvent:  # type: ignore[no-untyped-def]
    base = {"kind": kind, "task_id": "t1", "user_id": "user-0001", "node_id": NODE,
            "steps": 120, "at": 1.0}
    return TaskEvent(**(base | kw))  # type: ignore[arg-type]


def test_admitted_reward_is_recomputed_from_the_model() -> None:
    node, checks = cluster_with(("t1", "user-0001", 120)).nodes[0], NodeReportChecks(SC)
    q = SC.asp(NODE).curve(120)
    checks.event(event("admitted", reward=q), node)
    # Replayed: the reward is counted once.
    assert code_of(checks.event, event("admitted", reward=q), node) == "not_assigned"
    assert code_of(checks.event, event("admitted", reward=2.0**70), node) == "implausible"
    assert code_of(checks.event, event("admitted", reward=-1.0), node) == "implausible"
    assert code_of(checks.event, event("finished", quality=q + 0.5), node) == "implausible"
    checks.event(event("finished", quality=q), node)


def test_events_only_for_tasks_assigned_to_that_node() -> None:
    view = cluster_with(("t1", "user-0001", 120))
    checks, q = NodeReportChecks(SC), SC.asp(NODE).curve(120)
    other = view.nodes[1]
    assert code_of(checks.event, event("admitted", node_id=other.node_id, reward=q),
                   other) == "not_assigned"
    assert code_of(checks.event, event("admitted", task_id="t9", reward=q),
                   view.nodes[0]) == "not_assigned"
    assert code_of(checks.event, event("admitted", user_id="user-0002", reward=q),
                   view.nodes[0]) == "not_assigned"


def test_a_load_carried_by_an_event_is_checked_before_the_event_counts() -> None:
    node, q = cluster_with(("t1", "user-0001", 120)).nodes[0], SC.asp(NODE).curve(120)
    checks = NodeReportChecks(SC)
    busy = load(used=120, free=880, running=1, seq=0)
    other = SC.asps[1].id
    assert code_of(checks.event, event("admitted", reward=q, load=load(node_id=other)),
                   node) == "invalid"  # another node's load
    assert code_of(checks.event, event("admitted", reward=q, load=load(
        capacity=10**23, free=10**23)), node) == "implausible"
    assert code_of(checks.event, event("admitted", reward=q, load=load(seq=7)),
                   node) == "not_assigned"
    # None of the refused ones counted the admission: the real one still does, once.
    checks.event(event("admitted", reward=q, load=busy), node)
    assert code_of(checks.event, event("admitted", reward=q, load=busy), node) == "not_assigned"


def test_crash_event_must_follow_the_crash_rule() -> None:
    view = cluster_with(*[(f"t{i}", "user-0001", 250) for i in range(5)])
    node, checks, rule = view.nodes[0], NodeReportChecks(SC), SC.crash
    lost = [LostTask(task_id=f"t{i}", user_id="user-0001", steps=250, progress=0.5)
            for i in range(4)]
    good = rule.reward(0.0, rule.penalty([0.5] * 4))
    checks.event(event("crashed", task_id="t4", steps=250, reward=good, lost=lost), node)
    # 3 tasks of 250 leave 250 free: t=250 fits, so no crash can have happened.
    assert code_of(checks.event, event("crashed", task_id="t4", steps=250,
                                       reward=rule.reward(0.0, rule.penalty([0.5] * 3)),
                                       lost=lost[:3]), node) == "implausible"
    assert code_of(checks.event, event("crashed", task_id="t4", steps=250, reward=-1e9,
                                       lost=lost), node) == "implausible"
    ghost = [*lost, LostTask(task_id="zz", user_id="user-0001", steps=250, progress=0.1)]
    assert code_of(checks.event, event("crashed", task_id="t4", steps=250, reward=good,
                                       lost=ghost), node) == "not_assigned"


# -- edge node: assignments ----------------------------------------------------------------
def request(**kw) -> TaskRequest:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    img, mask = encode_png(synthetic_image(rng, 16)), encode_png(random_mask(rng, 16))
    base = {"task_id": "t1", "user_id": "user-0001", "steps": 120, "size": len(img) + len(mask),
            "checksum": checksum(img, mask), "sent_at": 0.0}
    return TaskRequest(**(base | kw))


def test_assignment_checks() -> None:
    good = Assignment(node_id=NODE, seq=0, policy="p", assigned_at=1.0, request=request())
    check_assignment(good, node_id=NODE, user_id="user-0001", last_seq=-1, scenario=SC)
    bad = [
        (Assignment(node_id=SC.asps[1].id, seq=0, policy="p", assigned_at=1.0, request=request()),
         "unknown_node"),
        (Assignment(node_id=NODE, seq=10**12, policy="p", assigned_at=1.0, request=request()),
         "implausible"),
        (Assignment(node_id=NODE, seq=0, policy="p" * 100, assigned_at=1.0, request=request()),
         "implausible"),
        (Assignment(node_id=NODE, seq=0, policy="p", assigned_at=float("inf"),
                    request=request()), "implausible"),
        (Assignment(node_id=NODE, seq=0, policy="p", assigned_at=1.0,
                    request=request(steps=100_000)), "steps_out_of_range"),
    ]
    for a, code in bad:
        assert code_of(check_assignment, a, node_id=NODE, user_id="user-0001", last_seq=-1,
                       scenario=SC) == code


# -- user: results ---------------------------------------------------------------------------
def result(**kw) -> TaskResult:  # type: ignore[no-untyped-def]
    base = {"task_id": "t1", "user_id": "user-0001", "status": "ok", "node_id": NODE,
            "steps": 120, "image": b"x", "checksum": checksum(b"x"),
            "quality": SC.asp(NODE).curve(120), "timings": Timings(sent_at=0.0),
            "reply_key": "ab" * 16}
    return TaskResult(**(base | kw))


def test_result_checks() -> None:
    key = "ab" * 16
    check_result(result(), reply_key=key, steps=120, scenario=SC)
    check_result(result(status="rejected", node_id=None, quality=None), reply_key=key,
                 steps=120, scenario=SC)
    for res, code in [
        (result(reply_key=None), "not_assigned"),              # forged: no key
        (result(reply_key="cd" * 16), "not_assigned"),         # forged: wrong key
        (result(node_id="evil-node"), "unknown_node"),
        (result(steps=200), "implausible"),
        (result(quality=0.999), "implausible"),
    ]:
        assert code_of(check_result, res, reply_key=key, steps=120, scenario=SC) == code


# -- clock and link control --------------------------------------------------------------------
def test_clock_bounds() -> None:
    now = time.time()
    check_clock(ClockSpec(scale=10_000, epoch=0.0, wall_epoch=now - 5), now_wall=now)
    for spec in [ClockSpec(scale=0.001, epoch=0.0, wall_epoch=now),
                 ClockSpec(scale=1e12, epoch=0.0, wall_epoch=now),
                 ClockSpec(scale=10, epoch=0.0, wall_epoch=now + 3600),
                 ClockSpec(scale=10, epoch=float("nan"), wall_epoch=now)]:
        assert code_of(check_clock, spec, now_wall=now) == "implausible"


def test_link_control_bounds() -> None:
    check_update(LinkUpdate(outage_s=15.0))
    for upd in [LinkUpdate(outage_s=1e7), LinkUpdate(outage_s=-1.0)]:
        assert code_of(check_update, upd) == "invalid"
    from aaas import decode
    latency = decode(b'{"v":1,"profile":{"latency_s":1e9}}', LinkUpdate)
    assert code_of(check_update, latency) == "invalid"
