"""Bad input gets a clear error reply and a metric; valid work goes on."""

from __future__ import annotations

import msgspec
import pytest

from aaas import (
    TOPICS,
    BrokerURL,
    ErrorReply,
    NodeLoad,
    TaskContent,
    TaskResult,
    decode,
    encode,
)
from tests.helpers.probe import USER, Probe, sample, valid_request, valid_task
from tests.helpers.stack import running_stack, small_scenario

REQUEST_CASES = [
    ("malformed", lambda: b"{{ not json"),
    ("schema_version", lambda: b'{"v": 2, "task_id": "old-1"}'),
    ("invalid", lambda: b'{"v": 1, "task_id": "half-1", "steps": 100}'),
    ("steps_out_of_range", lambda: encode(valid_request("steps-1", steps=999))),
    ("unknown_domain", lambda: encode(msgspec.structs.replace(valid_request("domain-1"),
                                                            domain="cats"))),
    ("image_too_large", lambda: encode(valid_request("big-1", image=b"\x89PNG" + bytes(40_000)))),
]


@pytest.mark.parametrize(("code", "payload"), REQUEST_CASES, ids=[c for c, _ in REQUEST_CASES])
async def test_bad_request_gets_error_reply_metric_and_service_goes_on(
        broker_url: BrokerURL, code: str, payload) -> None:  # type: ignore[no-untyped-def]
    scenario = small_scenario(asps=2, users=5, limits={"max_image_bytes": 20_000})
    async with running_stack(broker_url, scenario) as stack:
        probe = Probe(broker_url)
        async with probe.session:
            await probe.session.wait_connected(10)
            probe.session.publish_raw(TOPICS.request.topic.format(user_id=USER), payload())
            reply = decode(await probe.next_on(TOPICS.user_error.topic.format(user_id=USER)),
                           ErrorReply)
            assert reply.status == "error" and reply.error.code == code
            assert reply.error.message
            if code == "schema_version":
                assert reply.task_id == "old-1"
            assert sample(stack.registry, "aaas_orchestrator_bad_input_total", reason=code) == 1
            # The next valid task is still served.
            probe.send_task(*valid_task("good-1"))
            res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)), TaskResult)
            assert (res.task_id, res.status) == ("good-1", "ok")


async def test_unknown_user_and_unknown_node_are_refused(embedded: BrokerURL) -> None:
    async with running_stack(embedded, small_scenario(asps=2, users=5)) as stack:
        probe = Probe(embedded)
        async with probe.session:
            await probe.session.wait_connected(10)
            ghost = valid_request("ghost-1")
            probe.session.publish_raw(TOPICS.request.topic.format(user_id="ghost-9"),
                                      encode(ghost))
            reply = decode(await probe.next_on(TOPICS.user_error.topic.format(user_id="ghost-9")),
                           ErrorReply)
            assert reply.error.code == "unknown_user" and reply.task_id == "ghost-1"
            probe.session.send(TOPICS.load, NodeLoad(node_id="asp-99", capacity=1, used=0, free=1,
                                                     running=0, at=0.0), node_id="asp-99")
            reply = decode(await probe.next_on(TOPICS.node_error.topic.format(node_id="asp-99")),
                           ErrorReply)
            assert reply.error.code == "unknown_node"
            assert sample(stack.registry, "aaas_orchestrator_bad_input_total",
                          reason="unknown_node") == 1
            assert stack.orch.cluster.online_count == 2


async def test_bad_assignment_to_a_node_is_refused_and_node_keeps_serving(
        embedded: BrokerURL) -> None:
    async with running_stack(embedded, small_scenario(asps=2, users=5)) as stack:
        probe = Probe(embedded)
        async with probe.session:
            await probe.session.wait_connected(10)
            probe.session.publish_raw(TOPICS.assign.topic.format(node_id="asp-00", user_id=USER),
                                      b"garbage")
            reply = decode(await probe.next_on(TOPICS.node_error.topic.format(node_id="asp-00")),
                           ErrorReply)
            assert reply.error.code == "malformed"
            assert sample(stack.registry, "aaas_edge_bad_input_total", node="asp-00",
                          reason="malformed") == 1
            probe.send_task(*valid_task("after-1"))
            res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)), TaskResult)
            assert res.status == "ok"


def _damaged(c: TaskContent) -> TaskContent:
    return msgspec.structs.replace(c, data=c.data[:-1] + bytes([c.data[-1] ^ 1]))


CONTENT_CASES = [
    # (code, the content sent for the assigned task "c-1")
    ("checksum_mismatch", lambda c: encode(_damaged(c))),
    ("invalid", lambda c: encode(msgspec.structs.replace(c, checksum="0" * 64))),
    ("not_assigned", lambda c: encode(msgspec.structs.replace(c, task_id="c-9"))),
    ("malformed", lambda c: b"{{ not json"),
]


@pytest.mark.parametrize(("code", "bad"), CONTENT_CASES, ids=[c for c, _ in CONTENT_CASES])
async def test_bad_content_gets_an_error_reply_from_the_node_and_the_task_goes_on(
        broker_url: BrokerURL, code: str, bad) -> None:  # type: ignore[no-untyped-def]
    """Content goes from the user to the node only: the node checks it against the
    assignment, replies to the user on its content_error route, counts it, and still
    takes the right content for the task afterwards."""
    async with running_stack(broker_url, small_scenario(asps=2, users=5)) as stack:
        probe = Probe(broker_url)
        async with probe.session:
            await probe.session.wait_connected(10)
            req, content = valid_task("c-1")
            probe.send_task(req)
            node = await probe.assigned("c-1")
            probe.session.publish_raw(TOPICS.content.topic.format(node_id=node, user_id=USER),
                                      bad(content))
            topic = TOPICS.content_error.topic.format(user_id=USER, node_id=node)
            reply = decode(await probe.next_on(topic), ErrorReply)
            assert reply.error.code == code and reply.error.message
            assert sample(stack.registry, "aaas_edge_bad_input_total", node=node,
                          reason=code) == 1
            probe.session.send(TOPICS.content, content, node_id=node, user_id=USER)
            res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)), TaskResult)
            assert (res.task_id, res.status) == ("c-1", "ok")
