"""A node's events carry its load; the retained load report follows, fewer of them.

Real edge nodes and orchestrator on a real broker (Mosquitto and the embedded one); a
probe sends the requests and watches every event and load report.
"""

from __future__ import annotations

import asyncio

import aiomqtt
import numpy as np

from aaas import (
    TOPICS,
    BrokerURL,
    MqttSession,
    NodeLoad,
    TaskContent,
    TaskEvent,
    TaskRequest,
    decode,
    encode,
)
from aaas.images import checksum, encode_png, random_mask, synthetic_image
from edge_node.node import LOAD_RETAIN_EVERY_S
from tests.helpers.probe import send_content_if_assigned
from tests.helpers.stack import running_stack, small_scenario

USER = "user-0001"
TASKS = 12


def _task(i: int, now: float) -> tuple[TaskRequest, TaskContent]:
    rng = np.random.default_rng(i)
    img, mask = encode_png(synthetic_image(rng, 32)), encode_png(random_mask(rng, 32))
    req = TaskRequest(task_id=f"t{i:03d}", user_id=USER, steps=120, size=len(img) + len(mask),
                      checksum=checksum(img, mask), sent_at=now)
    return req, TaskContent(task_id=req.task_id, checksum=req.checksum, split=len(img),
                            data=img + mask)


async def test_events_carry_the_load_and_the_retained_report_follows(
        broker_url: BrokerURL) -> None:
    events: list[TaskEvent] = []
    loads: list[NodeLoad] = []
    results = 0
    all_answered = asyncio.Event()

    contents: dict[str, TaskContent] = {}

    async def handler(m: aiomqtt.Message) -> None:
        nonlocal results
        raw = bytes(m.payload)  # type: ignore[arg-type]
        if send_content_if_assigned(probe, contents, m.topic.value, raw):
            return
        if TOPICS.event.topic.match(m.topic.value) is not None:
            events.append(decode(raw, TaskEvent))
        elif TOPICS.load.topic.match(m.topic.value) is not None and raw:
            loads.append(decode(raw, NodeLoad))
        elif m.topic.value == TOPICS.result.topic.format(user_id=USER):
            results += 1
            if results == TASKS:
                all_answered.set()

    probe = MqttSession(url=broker_url, client_id="probe-loads", handler=handler,
                        subscriptions=[(TOPICS.assign.topic.narrowed(user_id=USER), 1),
                                       (TOPICS.event.topic.filter, 1),
                                       (TOPICS.load.topic.filter, 1),
                                       (TOPICS.result.topic.format(user_id=USER), 1)])
    async with running_stack(broker_url, small_scenario(asps=2)) as stack, probe:
        await probe.wait_connected()
        await asyncio.sleep(0.3)  # the retained loads of the nodes' birth come first
        loads.clear()
        for i in range(TASKS):
            req, contents[f"t{i:03d}"] = _task(i, stack.clock.now())
            probe.publish_raw(TOPICS.request.topic.format(user_id=USER), encode(req), qos=1)
        await asyncio.wait_for(all_answered.wait(), 30)
        await asyncio.sleep(LOAD_RETAIN_EVERY_S + 0.5)  # the last retained report
        seqs = {n.id: n.seq for n in stack.nodes}
        view = {n.node_id: (n.used, n.reported_seq, dict(n.pending))
                for n in stack.orch.cluster.nodes}

    assert sorted(e.kind for e in events) == ["admitted"] * TASKS + ["finished"] * TASKS
    for e in events:  # each event carries its node's load at the event
        assert e.load is not None
        assert (e.load.node_id, e.load.at) == (e.node_id, e.at)
        assert e.load.used >= (e.steps if e.kind == "admitted" else 0)
    # Before, a load report of its own followed each of the 2 events of every task.
    assert len(loads) < TASKS, f"{len(loads)} load reports for {TASKS} tasks"
    for node_id, seq in seqs.items():
        last = [ld for ld in loads if ld.node_id == node_id]
        if seq >= 0:  # it ran tasks: its retained report is current
            assert last, f"no retained load from {node_id} after its tasks"
            assert (last[-1].used, last[-1].running, last[-1].seq) == (0, 0, seq)
        # The orchestrator's view, from the events' loads: all free, nothing pending.
        assert view[node_id] == (0, seq, {})
