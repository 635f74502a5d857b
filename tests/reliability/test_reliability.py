"""Delivery rules of docs/reliability.md, one at a time, on a real broker.

Duplicates are answered (never run twice, never dropped silently), a new run
with the same seed is new work, an answer lost on the way is sent again, a
node's restart is noticed, work per message is bounded (pixel count from the
header, JSON depth), and a task nobody answers is lost by its own deadline.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
import zlib

import aiomqtt
import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from aaas import (
    TOPICS,
    Assignment,
    BrokerURL,
    EmulatedClock,
    ErrorCode,
    ErrorInfo,
    ErrorReply,
    NodeStatus,
    Outcome,
    TaskAck,
    TaskContent,
    TaskRequest,
    TaskResult,
    Timings,
    decode,
    encode,
)
from aaas.images import checksum, encode_png, random_mask
from edge_node import start_nodes
from monitoring import EdgeMetrics, OrchestratorMetrics, UserMetrics
from orchestrator import Orchestrator
from orchestrator.policies import make_policy
from tests.helpers.probe import USER, Probe, sample, valid_request, valid_task
from tests.helpers.stack import running_stack, small_scenario
from user_agent import Arrival, ImageSource, UserAgent


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that says width × height in its header (and has no pixel data)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def deep_json(depth: int = 50_000) -> bytes:
    return b'{"v":1,"task_id":"deep-1","x":' + b"[" * depth + b"]" * depth + b"}"


async def _next_error(probe: Probe, topic: str) -> ErrorReply:
    return decode(await probe.next_on(topic), ErrorReply)


async def test_repeated_request_is_answered_never_run_twice(embedded: BrokerURL) -> None:
    async with running_stack(embedded, small_scenario(asps=2, users=5)) as stack:
        probe = Probe(embedded)
        async with probe.session:
            await probe.session.wait_connected(10)
            req, content = valid_task("dup-1")
            result_topic = TOPICS.result.topic.format(user_id=USER)
            error_topic = TOPICS.user_error.topic.format(user_id=USER)
            probe.send_task(req, content)
            probe.send_task(req, content)  # while it runs
            reply = await _next_error(probe, error_topic)
            assert reply.error.code == "duplicate" and reply.task_id == "dup-1"
            first = decode(await probe.next_on(result_topic), TaskResult)
            assert (first.task_id, first.status) == ("dup-1", "ok")
            # Answered, not acknowledged: asking again gets the kept answer, not a new run.
            probe.session.send(TOPICS.request, req, user_id=USER)
            again = decode(await probe.next_on(result_topic), TaskResult)
            assert again == first
            resent = sum(sample(stack.registry, "aaas_edge_results_resent_total", node=n.id)
                         for n in stack.nodes)
            assert resent == 1
            admitted = sum(sample(stack.registry, "aaas_edge_tasks_total", node=n.id,
                                  outcome="admitted") for n in stack.nodes)
            assert admitted == 1
            # Acknowledged: the kept answers are dropped; a late copy gets `duplicate`.
            assert first.node_id is not None
            probe.session.send(TOPICS.ack, TaskAck(task_id="dup-1", user_id=USER), user_id=USER,
                               node_id=first.node_id)
            for _ in range(100):
                if not stack.orch.store.get(USER, "dup-1"):
                    break
                await asyncio.sleep(0.05)
            assert stack.orch.store.get(USER, "dup-1") is None
            assert all("dup-1" not in n._results for n in stack.nodes)
            probe.session.send(TOPICS.request, req, user_id=USER)
            late = await _next_error(probe, error_topic)
            assert late.error.code == "duplicate"
            assert sample(stack.registry, "aaas_orchestrator_duplicate_requests_total",
                          policy="least_loaded") >= 3


async def _run_users(url: BrokerURL, stack_scenario, clock: EmulatedClock,  # type: ignore[no-untyped-def]
                     *, seed: int, n: int = 4, **kw) -> UserAgent:  # type: ignore[no-untyped-def]
    agent = UserAgent(scenario=stack_scenario, user_ids=[USER], url=url, clock=clock,
                      images=ImageSource(size=32, rng=np.random.default_rng(seed)),
                      metrics=UserMetrics(CollectorRegistry()), **kw)
    arrivals = [Arrival(index=i, at=i * 100.0, user_id=USER, steps=120) for i in range(n)]
    async with agent:
        await agent.wait_connected(20)
        await agent.run(arrivals, start=clock.now())
        await agent.drain(200_000)
    return agent


async def test_a_new_run_with_the_same_seed_is_new_work(mosquitto: BrokerURL) -> None:
    scenario = small_scenario(asps=2, users=5)
    async with running_stack(mosquitto, scenario) as stack:
        for _ in range(2):
            agent = await _run_users(mosquitto, scenario, stack.clock, seed=3)
            counts = agent.summary().tasks
            assert (counts.sent, counts.finished) == (4, 4), counts
            # Settled records keep no image (bounded memory).
            assert all(r.clean is None for r in agent.records.values())


async def test_node_restart_is_noticed_and_stale_assignments_dropped(embedded: BrokerURL) -> None:
    async with running_stack(embedded, small_scenario(asps=2, users=5)) as stack:
        node = stack.nodes[0]
        probe = Probe(embedded)
        async with probe.session:
            await probe.session.wait_connected(10)
            # An assignment made to another run of asp-00's process is dropped.
            stale = Assignment(node_id=node.id, seq=50, policy="test", assigned_at=0.0,
                               request=valid_request("stale-1"), boot="0ld0ld")
            probe.session.send(TOPICS.assign, stale, node_id=node.id, user_id=USER)
            for _ in range(100):
                if sample(stack.registry, "aaas_edge_stale_assignments_total", node=node.id):
                    break
                await asyncio.sleep(0.05)
            assert sample(stack.registry, "aaas_edge_stale_assignments_total", node=node.id) == 1
            assert "stale-1" not in node._jobs
            # A task on asp-00, then asp-00 "comes back" as another run: the task is
            # placed again at once (no grace: its process is new), and finishes.
            stack.orch.cluster.nodes[1].online = False  # only asp-00 can take it
            probe.send_task(*valid_task("moved-1", steps=250))
            for _ in range(100):
                if "moved-1" in node._jobs:
                    break
                await asyncio.sleep(0.02)
            assert "moved-1" in node._jobs
            stack.orch.cluster.nodes[1].online = True
            probe.session.send(TOPICS.status, NodeStatus(node_id=node.id, state="online",
                                                         boot="n3wb00t"), node_id=node.id)
            res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)),
                         TaskResult)
            assert res.task_id == "moved-1" and res.status == "ok"
            assert sample(stack.registry, "aaas_orchestrator_reassigned_tasks_total",
                          policy="least_loaded", reason="restarted") == 1


async def test_decoded_size_is_checked_from_the_header(embedded: BrokerURL) -> None:
    """Content (which only the task's node sees) whose header says 81 Mpixel is refused
    from the header, before anything decodes it."""
    scenario = small_scenario(asps=2, users=5)
    async with running_stack(embedded, scenario) as stack:
        probe = Probe(embedded)
        async with probe.session:
            await probe.session.wait_connected(10)
            huge = png_header_only(9000, 9000)  # 81 Mpixel in 57 bytes
            mask = encode_png(random_mask(np.random.default_rng(0), 32))
            bomb = TaskRequest(task_id="bomb-1", user_id=USER, steps=120,
                               size=len(huge) + len(mask), checksum=checksum(huge, mask),
                               sent_at=0.0)
            t0 = time.perf_counter()
            probe.send_task(bomb)
            node = await probe.assigned("bomb-1")
            probe.session.send(TOPICS.content, TaskContent(
                task_id="bomb-1", checksum=bomb.checksum, split=len(huge), data=huge + mask),
                node_id=node, user_id=USER)
            reply = await _next_error(probe, TOPICS.content_error.topic.format(user_id=USER,
                                                                               node_id=node))
            assert reply.error.code == "image_too_large" and "9000x9000" in reply.error.message
            assert time.perf_counter() - t0 < 5
            assert sample(stack.registry, "aaas_edge_bad_input_total", node=node,
                          reason="image_too_large") == 1


async def test_deep_json_gets_an_error_reply_and_a_metric(embedded: BrokerURL) -> None:
    async with running_stack(embedded, small_scenario(asps=2, users=5)) as stack:
        probe = Probe(embedded)
        async with probe.session:
            await probe.session.wait_connected(10)
            probe.session.publish_raw(TOPICS.request.topic.format(user_id=USER), deep_json())
            reply = await _next_error(probe, TOPICS.user_error.topic.format(user_id=USER))
            assert reply.error.code == "too_deep"
            node = stack.nodes[1].id
            probe.session.publish_raw(TOPICS.assign.topic.format(node_id=node, user_id=USER),
                                      deep_json())
            reply = await _next_error(probe, TOPICS.node_error.topic.format(node_id=node))
            assert reply.error.code == "too_deep"
            assert sample(stack.registry, "aaas_orchestrator_bad_input_total",
                          reason="too_deep") == 1
            assert sample(stack.registry, "aaas_edge_bad_input_total", node=node,
                          reason="too_deep") == 1
            # Both still serve.
            probe.send_task(*valid_task("after-deep"))
            res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)),
                         TaskResult)
            assert res.status == "ok"


async def test_unanswered_task_is_lost_by_its_own_deadline(embedded: BrokerURL) -> None:
    # No orchestrator, no node: nobody answers. The task is lost by its deadline,
    # while the run goes on (no drain), after being asked again on the way.
    scenario = small_scenario(asps=1, users=2, runtime={"unit_s": 0.001},
                              limits={"queue_timeout_s": 1.0})
    clock = EmulatedClock(scale=1.0)
    metrics = UserMetrics(CollectorRegistry())
    agent = UserAgent(scenario=scenario, user_ids=[USER], url=embedded, clock=clock,
                      images=ImageSource(size=32, rng=np.random.default_rng(0)), metrics=metrics,
                      resend_min_s=0.3, lost_after_s=1.5)
    async with agent:
        await agent.wait_connected(10)
        rec = agent.send(Arrival(index=0, at=0.0, user_id=USER, steps=120), task_id="alone-1")
        t0 = time.monotonic()
        while rec.outcome is None and time.monotonic() - t0 < 20:  # noqa: ASYNC110 - polled
            await asyncio.sleep(0.05)
        assert rec.outcome is Outcome.LOST
        assert 1.0 < time.monotonic() - t0 < 15
        assert (metrics.retries.labels("no_answer")._value.get()) >= 1


@pytest.mark.parametrize("action", ["reassign", "fail"])
async def test_node_offline_past_its_grace(embedded: BrokerURL, action: str) -> None:
    scenario = small_scenario(asps=2, users=5)
    registry = CollectorRegistry()
    clock = EmulatedClock(scale=10_000.0)
    async with start_nodes(scenario=scenario, specs=scenario.asps, url=embedded, clock=clock,
                           metrics=EdgeMetrics(registry)) as nodes, Orchestrator(
            scenario=scenario, policy=make_policy("least_loaded", scenario,
                                                  rng=np.random.default_rng(0)),
            url=embedded, clock=clock, metrics=OrchestratorMetrics(registry),
            on_node_loss=action, node_grace_s=0.5) as orch:  # type: ignore[arg-type]
        while orch.cluster.online_count < 2:  # noqa: ASYNC110 - polled with the test's timeout
            await asyncio.sleep(0.05)
        probe = Probe(embedded)
        async with probe.session:
            await probe.session.wait_connected(10)
            orch.cluster.nodes[1].online = False  # only asp-00 can take it
            probe.send_task(*valid_task("gone-1", steps=250))
            while "gone-1" not in nodes[0]._jobs:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            orch.cluster.nodes[1].online = True
            # asp-00 "dies": its last will as the broker would publish it.
            probe.session.send(TOPICS.status, NodeStatus(node_id="asp-00", state="offline",
                                                         boot=nodes[0].boot), node_id="asp-00")
            res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)),
                         TaskResult)
            moved = sample(registry, "aaas_orchestrator_reassigned_tasks_total",
                           policy="least_loaded", reason="offline")
            if action == "fail":
                assert res.status == "crashed" and res.error is not None
                assert res.error.code == "node_offline" and moved == 0
            else:
                assert res.status == "ok" and moved == 1


def test_task_table_survives_a_restart_of_its_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from orchestrator.inflight import TaskEntry, TaskStore

    path = tmp_path / "state.sqlite"
    store = TaskStore(path)
    store.put(TaskEntry(user_id=USER, task_id="a", steps=120, request=b"req"))
    store.put(TaskEntry(user_id=USER, task_id="b", steps=130, state="assigned",
                        node_id="asp-01", boot="b1", request=b"req-b"))
    store.set_boot("asp-01", "b1")
    store.ack(USER, "a")
    # No close(): as after a SIGKILL, only what was committed counts.
    again = TaskStore(path)
    assert again.get(USER, "a") is None and again.acked(USER, "a")
    b = again.get(USER, "b")
    assert b is not None and (b.state, b.node_id, b.boot, b.request) == (
        "assigned", "asp-01", "b1", b"req-b")
    assert again.boots == {"asp-01": "b1"}
    assert [e.task_id for e in again.on_node("asp-01")] == ["b"]
    store.close()
    again.close()


async def test_records_streamed_to_disk_leave_memory(embedded: BrokerURL, tmp_path) -> None:  # type: ignore[no-untyped-def]
    scenario = small_scenario(asps=2, users=5)
    async with running_stack(embedded, scenario) as stack:
        path = tmp_path / "records.jsonl"
        with path.open("w") as out:
            agent = await _run_users(embedded, scenario, stack.clock, seed=4, n=5,
                                     records_out=out)
        assert agent.records == {}
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert [r["outcome"] for r in lines] == ["finished"] * 5
        summary = agent.summary()
        assert (summary.tasks.sent, summary.tasks.finished) == (5, 5)
        assert summary.latency_s.p50 is not None and summary.bytes.up > 0


async def test_slow_answers_cause_no_retry_storm(embedded: BrokerURL) -> None:
    # Every answer takes 0.5 wall s, five times the 0.1 s floor. A fixed wait would ask
    # again for every task (twice); the learned wait (user_agent/resend.py) stops after
    # the first answers come back: later tasks are sent once.
    scenario = small_scenario(asps=1, users=2, runtime={"unit_s": 0.0001})
    clock = EmulatedClock(scale=1.0)
    requests: dict[str, int] = {}

    async def slow_answers() -> None:
        async with aiomqtt.Client(hostname=embedded.host, port=embedded.port,
                                  identifier="slow-services") as c:
            await c.subscribe(TOPICS.request.topic.format(user_id=USER), 1)
            ready.set()
            async with asyncio.TaskGroup() as tg:
                async for m in c.messages:
                    req = decode(bytes(m.payload), TaskRequest)
                    requests[req.task_id] = requests.get(req.task_id, 0) + 1
                    if requests[req.task_id] == 1:
                        tg.create_task(answer(c, req))

    async def answer(c: aiomqtt.Client, req: TaskRequest) -> None:
        await asyncio.sleep(0.5)
        res = TaskResult(task_id=req.task_id, user_id=req.user_id, status="rejected",
                         steps=req.steps, timings=Timings(sent_at=req.sent_at),
                         error=ErrorInfo(code=ErrorCode.OVERLOAD, message="slow test services"),
                         reply_key=req.reply_key)
        await c.publish(TOPICS.result.topic.format(user_id=USER), encode(res), qos=1)

    ready = asyncio.Event()
    services = asyncio.create_task(slow_answers())
    await asyncio.wait_for(ready.wait(), 10)
    agent = UserAgent(scenario=scenario, user_ids=[USER], url=embedded, clock=clock,
                      images=ImageSource(size=32, rng=np.random.default_rng(0)),
                      metrics=UserMetrics(CollectorRegistry()), resend_min_s=0.1,
                      lost_after_s=20)
    try:
        async with agent:
            await agent.wait_connected(10)
            recs = []
            for i in range(16):
                recs.append(agent.send(Arrival(index=i, at=0.0, user_id=USER, steps=120),
                                       task_id=f"slow-{i:02d}"))
                await asyncio.sleep(0.15)
            t0 = time.monotonic()
            while any(r.outcome is None for r in recs) \
                    and time.monotonic() - t0 < 15:  # noqa: ASYNC110 - polled
                await asyncio.sleep(0.05)
    finally:
        services.cancel()
    assert all(r.outcome is Outcome.REJECTED for r in recs)
    late = [requests[f"slow-{i:02d}"] for i in range(8, 16)]
    assert late == [1] * 8, f"tasks sent after answers were seen were asked again: {requests}"
    assert agent.resend.srtt is not None and agent.resend.srtt >= 0.4


async def test_a_resent_assignment_that_no_longer_fits_is_refused_not_crashed(
        embedded: BrokerURL) -> None:
    """The broker lost an assignment; the node filled up meanwhile; the user's repeat makes
    the orchestrator send the old decision again. The node refuses it (running it would
    crash a node that never had the task) and the policy places the task anew."""
    async with running_stack(embedded, small_scenario(asps=2, users=5)) as stack:
        node, other = stack.nodes[0], stack.nodes[1]
        deliver = node._on_assignment
        lost: list[str] = []

        def lose_first(a: Assignment) -> None:  # the broker's loss, at the node's door
            if a.request.task_id == "lost-1" and not lost:
                lost.append(a.request.task_id)
                return
            deliver(a)

        node._on_assignment = lose_first  # type: ignore[method-assign]
        stack.orch.cluster.nodes[1].online = False  # only asp-00 takes tasks for now
        probe = Probe(embedded)
        async with probe.session:
            await probe.session.wait_connected(10)
            req, content = valid_task("lost-1", steps=120)
            probe.send_task(req, content)
            assert await probe.assigned("lost-1") == node.id
            for i in range(4):  # 4 × 250 steps: asp-00 (C = 1000) is full
                probe.send_task(*valid_task(f"fill-{i}", steps=250))
                assert await probe.assigned(f"fill-{i}") == node.id
            assert node.ledger.free == 0 and "lost-1" not in node._jobs
            stack.orch.cluster.nodes[1].online = True
            probe.session.send(TOPICS.request, req, user_id=USER)  # the user asks again
            assert await probe.assigned("lost-1", times=3) == other.id
            results: dict[str, TaskResult] = {}
            while len(results) < 5:
                res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)),
                             TaskResult)
                results[res.task_id] = res
        assert {r.status for r in results.values()} == {"ok"}, results
        assert results["lost-1"].node_id == other.id
        assert sample(stack.registry, "aaas_edge_crashes_total", node=node.id) == 0
        assert sample(stack.registry, "aaas_edge_refused_assignments_total", node=node.id) == 1
        assert sample(stack.registry, "aaas_orchestrator_reassigned_tasks_total",
                      policy="least_loaded", reason="refused") == 1
