"""Bad input gets a clear error reply and a metric; valid work goes on."""

from __future__ import annotations

import pytest

from aaas import (
    TOPICS,
    BrokerURL,
    ErrorReply,
    NodeLoad,
    TaskRequest,
    TaskResult,
    decode,
    encode,
)
from tests.helpers.probe import USER, Probe, sample, valid_request
from tests.helpers.stack import running_stack, small_scenario


def _with_bad_checksum(req: TaskRequest) -> bytes:
    fields = {f: getattr(req, f) for f in req.__struct_fields__}
    return encode(TaskRequest(**{**fields, "checksum": "0" * 64}))


REQUEST_CASES = [
    ("malformed", lambda: b"{{ not json"),
    ("schema_version", lambda: b'{"v": 2, "task_id": "old-1"}'),
    ("invalid", lambda: b'{"v": 1, "task_id": "half-1", "steps": 100}'),
    ("steps_out_of_range", lambda: encode(valid_request("steps-1", steps=999))),
    ("image_too_large", lambda: encode(valid_request("big-1", image=b"\x89PNG" + bytes(40_000)))),
    ("checksum_mismatch", lambda: _with_bad_checksum(valid_request("sum-1"))),
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
            probe.session.send(TOPICS.request, valid_request("good-1"), user_id=USER)
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
            probe.session.publish_raw(TOPICS.assign.topic.format(node_id="asp-00"), b"garbage")
            reply = decode(await probe.next_on(TOPICS.node_error.topic.format(node_id="asp-00")),
                           ErrorReply)
            assert reply.error.code == "malformed"
            assert sample(stack.registry, "aaas_edge_bad_input_total", node="asp-00",
                          reason="malformed") == 1
            probe.session.send(TOPICS.request, valid_request("after-1"), user_id=USER)
            res = decode(await probe.next_on(TOPICS.result.topic.format(user_id=USER)), TaskResult)
            assert res.status == "ok"
