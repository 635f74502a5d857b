"""The content path (docs/protocol.md, the claim check) across faults, on a real broker.

Content goes from the user to the node its task is assigned to, never through the
orchestrator: content lost on the way comes again with the next assignment (the user's
resend brings one), a node that never gets it answers ``content_unavailable`` and frees
the capacity, and the orchestrator's state file never holds it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

import numpy as np
from msgspec.structs import replace
from prometheus_client import CollectorRegistry

from aaas import TOPICS, BrokerURL, EmulatedClock, Outcome, TaskResult, decode
from edge_node import start_nodes
from monitoring import EdgeMetrics, OrchestratorMetrics, UserMetrics
from orchestrator import Orchestrator
from orchestrator.policies import make_policy
from tests.helpers.probe import USER, Probe, sample, valid_task
from tests.helpers.stack import running_stack, small_scenario
from user_agent import Arrival, ImageSource, UserAgent


async def _wait(pred, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_content_lost_on_the_way_comes_again_with_the_next_assignment(
        mosquitto: BrokerURL) -> None:
    scenario = small_scenario(asps=2, users=5)
    async with running_stack(mosquitto, scenario) as stack:
        metrics = UserMetrics(CollectorRegistry())
        agent = UserAgent(scenario=scenario, user_ids=[USER], url=mosquitto, clock=stack.clock,
                          images=ImageSource(size=32, rng=np.random.default_rng(0)),
                          metrics=metrics, resend_min_s=0.3)
        sends = agent._send_content
        dropped: list[str] = []

        def lossy(task, node_id, content=None):  # type: ignore[no-untyped-def]
            if not dropped:  # the first content never reaches the broker
                dropped.append(node_id)
                task.content()
                return
            sends(task, node_id, content)

        agent._send_content = lossy  # type: ignore[method-assign]
        async with agent:
            await agent.wait_connected(10)
            rec = agent.send(Arrival(index=0, at=0.0, user_id=USER, steps=120), task_id="lost-c")
            await _wait(lambda: rec.outcome is not None)
        assert dropped and rec.outcome is Outcome.FINISHED
        assert metrics.retries.labels("no_answer")._value.get() >= 1
        admitted = sum(sample(stack.registry, "aaas_edge_tasks_total", node=n.id,
                              outcome="admitted") for n in stack.nodes)
        assert admitted == 1  # the node waited for the content; the task ran once


async def test_a_node_without_the_content_answers_content_unavailable_and_frees_it(
        embedded: BrokerURL) -> None:
    scenario = small_scenario(asps=1, users=5, runtime={"unit_s": 0.001},
                              limits={"queue_timeout_s": 1.0})
    async with running_stack(embedded, scenario) as stack:
        node = stack.nodes[0]
        node.content_wait_floor_s = 0.5
        probe = Probe(embedded)
        async with probe.session:
            await probe.session.wait_connected(10)
            req, _ = valid_task("no-content")
            probe.send_task(req)  # and never the content
            await probe.assigned("no-content")
            res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)),
                         TaskResult)
        assert res.status == "error" and res.error is not None
        assert res.error.code == "content_unavailable"
        assert node.ledger.used == 0 and len(node.content) == 0
        assert "no-content" not in node._results  # asking again runs it, not this answer


async def test_the_orchestrators_state_file_holds_no_content(mosquitto: BrokerURL,
                                                             tmp_path) -> None:  # type: ignore[no-untyped-def]
    scenario = small_scenario(asps=2, users=5)
    clock, registry = EmulatedClock(scale=10_000.0), CollectorRegistry()
    state = tmp_path / "state.sqlite"
    async with start_nodes(scenario=scenario, specs=scenario.asps, url=mosquitto, clock=clock,
                           metrics=EdgeMetrics(registry)), Orchestrator(
            scenario=scenario, policy=make_policy("least_loaded", scenario,
                                                  rng=np.random.default_rng(0)),
            url=mosquitto, clock=clock, metrics=OrchestratorMetrics(registry),
            state_path=state) as orch:
        await _wait(lambda: orch.cluster.online_count == 2)
        agent = UserAgent(scenario=scenario, user_ids=[USER], url=mosquitto, clock=clock,
                          images=ImageSource(size=32, rng=np.random.default_rng(0)),
                          metrics=UserMetrics(registry))
        async with agent:
            await agent.wait_connected(10)
            recs = [agent.send(Arrival(index=i, at=0.0, user_id=USER, steps=120),
                               task_id=f"s-{i}") for i in range(4)]
            await _wait(lambda: len(orch.store) == 4 or all(r.outcome for r in recs))
            with sqlite3.connect(state) as db:  # while the tasks are open
                blobs = [row[0] for row in db.execute("SELECT request FROM tasks")]
            await _wait(lambda: all(r.outcome for r in recs))
    assert blobs and all(b"\x89PNG" not in b and len(b) < 1000 for b in blobs)
    assert all(r.outcome is Outcome.FINISHED for r in recs)


async def test_after_content_unavailable_only_the_users_repeat_runs_the_task_again(
        mosquitto: BrokerURL) -> None:
    # A copy of the first assignment (the user's resend crossed the answer) must not run
    # the task a second time (that took the capacity twice and crashed nodes); the
    # user's repeat, a higher attempt with its content, is placed again by the policy.
    scenario = small_scenario(asps=2, users=5, runtime={"unit_s": 0.001},
                              limits={"queue_timeout_s": 1.0})
    async with running_stack(mosquitto, scenario) as stack:
        for node in stack.nodes:
            node.content_wait_floor_s = 0.5
        probe = Probe(mosquitto)
        async with probe.session:
            await probe.session.wait_connected(10)
            req, content = valid_task("late")
            probe.send_task(req)  # and no content: content_unavailable
            first = await probe.assigned("late")
            res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)),
                         TaskResult)
            assert res.error is not None and res.error.code == "content_unavailable"
            probe.send_task(req)  # the resend of the same attempt
            await probe.assigned("late", times=2)
            await asyncio.sleep(0.5)
            assert all(n.ledger.used == 0 for n in stack.nodes)
            probe.send_task(replace(req, attempt=1), content)  # the user's repeat
            await probe.assigned("late", times=3)
            res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)),
                         TaskResult)
        assert res.status == "ok", res
        admitted = {n.id: sample(stack.registry, "aaas_edge_tasks_total", node=n.id,
                                 outcome="admitted") for n in stack.nodes}
        assert sum(admitted.values()) == 2 and admitted[first] >= 1
        assert sample(stack.registry, "aaas_orchestrator_reassigned_tasks_total",
                      policy="least_loaded", reason="retry") == 1
