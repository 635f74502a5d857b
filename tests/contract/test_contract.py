"""The MQTT contract: topics compile, payloads round-trip, bad payloads are named."""

from __future__ import annotations

import msgspec
import pytest

from aaas import (
    TOPICS,
    Assignment,
    ConfigError,
    ErrorInfo,
    ErrorReply,
    LostTask,
    NodeLoad,
    NodeStatus,
    ProtocolError,
    TaskContent,
    TaskEvent,
    TaskRequest,
    TaskResult,
    Timings,
    TopicTemplate,
    decode,
    encode,
)
from aaas.images import checksum

REQ = TaskRequest(task_id="t1", user_id="user-0001", steps=120, size=12,
                  checksum=checksum(b"\x89PNG-ish", b"mask"), sent_at=12.5)
CONTENT = TaskContent(task_id="t1", checksum=REQ.checksum, split=8, data=b"\x89PNG-ishmask")

PAYLOADS = [
    REQ,
    Assignment(node_id="asp-03", seq=7, policy="random", assigned_at=13.0, request=REQ),
    CONTENT,
    TaskResult(task_id="t1", user_id="user-0001", status="ok", node_id="asp-03", steps=120,
               image=b"img", checksum=checksum(b"img"), quality=0.7, metrics={"tv": 1.5},
               timings=Timings(sent_at=12.5, assigned_at=13.0, started_at=13.0,
                               finished_at=99.0, runtime_s=86.0)),
    TaskEvent(kind="crashed", task_id="t2", user_id="user-0002", node_id="asp-03", steps=200,
              reward=-3.5, lost=[LostTask(task_id="t1", user_id="user-0001", steps=120,
                                          progress=0.25)], at=50.0),
    NodeLoad(node_id="asp-03", capacity=800, used=320, free=480, running=2, seq=7, at=50.0),
    NodeStatus(node_id="asp-03", state="offline"),
    ErrorReply(task_id="t1", topic="aaas/v1/users/user-0001/request",
               error=ErrorInfo(code="invalid", message="bad")),
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: type(p).__name__)
def test_payloads_round_trip_through_json(payload: msgspec.Struct) -> None:
    raw = encode(payload)
    assert raw.startswith(b"{") and b'"v":1' in raw
    assert decode(raw, type(payload)) == payload


def test_a_request_carries_no_content_only_its_size_and_checksum() -> None:
    obj = msgspec.json.decode(encode(REQ))
    assert "image" not in obj and "mask" not in obj
    assert (obj["size"], obj["checksum"]) == (12, checksum(b"\x89PNG-ish", b"mask"))


def test_content_travels_as_raw_bytes_after_the_json_object() -> None:
    raw = encode(CONTENT)
    head, _, tail = raw.partition(b"\n")
    assert tail == b"\x89PNG-ishmask"  # no base64: the broker carries it at its own size
    assert msgspec.json.decode(head)["data"] == ""
    assert decode(raw, TaskContent) == CONTENT
    assert (CONTENT.image, CONTENT.mask) == (b"\x89PNG-ish", b"mask")
    result = TaskResult(task_id="t1", user_id="user-0001", status="ok", image=b"\n{png}\n",
                        timings=Timings(sent_at=1.0))
    assert decode(encode(result), TaskResult) == result


def test_an_attachment_may_come_inside_the_json_too_but_not_both_ways() -> None:
    inline = msgspec.json.encode(CONTENT)  # base64 inside, as a JSON-only tool sends it
    assert decode(inline, TaskContent) == CONTENT
    head = encode(CONTENT).partition(b"\n")[0]
    pretty = msgspec.json.format(head, indent=2)  # newlines inside the JSON object
    assert decode(pretty + b"\n" + CONTENT.data, TaskContent) == CONTENT
    with pytest.raises(ProtocolError) as info:
        decode(inline + b"\nmore", TaskContent)
    assert info.value.code == "invalid"
    with pytest.raises(ProtocolError) as info:
        decode(b'{"v": 1, "task_id": "t1"\n\x89PNG', TaskContent)  # never closes
    assert info.value.code == "malformed"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"not json", "malformed"),
        (b"[1, 2]", "malformed"),
        (b'{"v": 2, "task_id": "x"}', "schema_version"),
        (b'{"task_id": "x"}', "schema_version"),
        (b'{"v": 1, "task_id": "x"}', "invalid"),
        (encode(REQ).replace(b'"steps":120', b'"steps":-5'), "invalid"),
        (encode(REQ).replace(b'"steps":120', b'"steps":"many"'), "invalid"),
        (encode(REQ)[:-1] + b',"extra":1}', "invalid"),
    ],
)
def test_bad_payloads_raise_protocol_errors_with_a_code(raw: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(raw, TaskRequest)
    assert info.value.code == code
    assert isinstance(info.value, ValueError)


def test_topic_templates_compile_to_filters_and_match() -> None:
    t = TOPICS.request.topic
    assert t.filter == "aaas/v1/users/+/request"
    topic = t.format(user_id="user-0042")
    assert topic == "aaas/v1/users/user-0042/request"
    assert t.match(topic) == {"user_id": "user-0042"}
    assert t.match("aaas/v1/users/a/b/request") is None
    assert TOPICS.load.topic.match(topic) is None


def test_topic_values_cannot_inject_levels_or_wildcards() -> None:
    for bad in ("a/b", "+", "#", "", "x" * 200):
        with pytest.raises(ProtocolError):
            TOPICS.request.topic.format(user_id=bad)
    with pytest.raises(ConfigError):
        TopicTemplate("aaas/{x}y")


def test_every_route_is_under_the_versioned_root_and_unique() -> None:
    routes = TOPICS.all()
    assert len({r.topic.template for r in routes}) == len(routes)
    assert all(r.topic.template.startswith("aaas/v1/") for r in routes)
    assert {r.name for r in routes if r.retain} == {"load", "status", "clock"}
