"""The typed contract: mypy refuses a payload on the wrong route; dispatch by route."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from aaas import (
    TOPICS,
    ConfigError,
    Dispatcher,
    ErrorCode,
    ErrorInfo,
    Incoming,
    LinkProfilePatch,
    LinkUpdate,
    NodeLoad,
    Params,
    ProtocolError,
    Role,
    TaskRequest,
    TaskResult,
    Timings,
    decode,
    encode,
)
from aaas.images import checksum

ROOT = Path(__file__).resolve().parents[2]

_SNIPPET = """\
from aaas import TOPICS, MqttSession, TaskRequest, TaskResult, Timings


def go(session: MqttSession, req: TaskRequest) -> None:
    res = TaskResult(task_id="t", user_id="u", status="ok", timings=Timings(sent_at=0.0))
    session.send(TOPICS.request, req, user_id="u")
    session.send(TOPICS.result, res, user_id="u")
"""


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "snippet.py"
    path.write_text(source)
    # MYPYPATH: this checkout's aaas, before any installed copy.
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--cache-dir", str(tmp_path / ".mypy_cache"), str(path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240, check=False)


@pytest.mark.slow
def test_mypy_checks_the_payload_type_of_each_route(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    good = _mypy(tmp_path, _SNIPPET)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = _mypy(tmp_path, _SNIPPET.replace("send(TOPICS.request, req",
                                           "send(TOPICS.request, res"))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    errors = [line for line in bad.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "snippet.py:6:" in errors[0] and '"send"' in errors[0], bad.stdout


def test_every_route_names_its_payload_and_roles() -> None:
    for route in TOPICS.all():
        assert issubclass(route.payload, msgspec.Struct)
        assert route.senders and route.receivers
        assert all(isinstance(r, Role) for r in route.senders | route.receivers)
    assert TOPICS.request.senders == {Role.USER}
    assert TOPICS.result.senders == {Role.EDGE_NODE, Role.ORCHESTRATOR}
    assert TOPICS.link_control.payload is LinkUpdate
    assert TOPICS.link_control.receivers == {Role.LINK}
    assert TOPICS.link_control.topic.format(user_id="user-0003") == "aaas/v1/link/user-0003/set"


# -- the dispatcher ---------------------------------------------------------------------------
REQ = TaskRequest(task_id="t1", user_id="user-0001", steps=120, size=7,
                  checksum=checksum(b"img", b"mask"), sent_at=1.0)
LOAD = NodeLoad(node_id="asp-01", capacity=800, used=0, free=800, running=0, at=0.0)


class _Recorder:
    def __init__(self) -> None:
        self.got: list[tuple[Any, dict[str, str]]] = []
        self.errors: list[tuple[ErrorCode, Incoming]] = []

    def handler(self, msg: Any, params: Params) -> None:
        self.got.append((msg, dict(params)))

    def on_error(self, exc: ProtocolError, msg: Incoming) -> None:
        self.errors.append((exc.code, msg))


def test_dispatcher_hands_typed_messages_and_topic_parameters_to_the_route_handler() -> None:
    rec = _Recorder()
    d = Dispatcher(on_error=rec.on_error)
    d.on(TOPICS.request, rec.handler)
    d.on(TOPICS.load, rec.handler)
    assert d.dispatch(TOPICS.request.topic.format(user_id="user-0001"), encode(REQ))
    assert d.dispatch(TOPICS.load.topic.format(node_id="asp-01"), encode(LOAD))
    assert not d.dispatch(TOPICS.result.topic.format(user_id="user-0001"), encode(REQ))
    assert rec.got == [(REQ, {"user_id": "user-0001"}), (LOAD, {"node_id": "asp-01"})]
    assert type(rec.got[0][0]) is TaskRequest and rec.errors == []


def test_dispatcher_sends_decode_guard_and_handler_errors_to_one_callback() -> None:
    rec = _Recorder()

    def guard(p: Params) -> None:
        if p["node_id"] != "asp-01":
            raise ProtocolError(ErrorCode.UNKNOWN_NODE, p["node_id"])

    def refuse(msg: TaskRequest, p: Params) -> None:
        raise ProtocolError(ErrorCode.STEPS_OUT_OF_RANGE, "no")

    d = Dispatcher(on_error=rec.on_error)
    d.on(TOPICS.request, refuse)
    d.on(TOPICS.load, rec.handler, guard=guard)
    d.dispatch(TOPICS.request.topic.format(user_id="u1"), b"{not json")
    d.dispatch(TOPICS.request.topic.format(user_id="u1"), encode(LOAD))  # wrong payload type
    d.dispatch(TOPICS.request.topic.format(user_id="u1"), encode(REQ))
    d.dispatch(TOPICS.load.topic.format(node_id="asp-99"), b"{not json")  # guard first
    d.dispatch(TOPICS.load.topic.format(node_id="asp-01"), b"")  # a cleared retained load
    assert [code for code, _ in rec.errors] == [ErrorCode.MALFORMED, ErrorCode.INVALID,
                                                ErrorCode.STEPS_OUT_OF_RANGE,
                                                ErrorCode.UNKNOWN_NODE]
    last = rec.errors[-1][1]
    assert (last.route, last.params, last.raw) == (TOPICS.load, {"node_id": "asp-99"},
                                                   b"{not json")
    assert rec.got == []


def test_dispatcher_subscriptions_narrow_to_given_parameters() -> None:
    d = Dispatcher(on_error=lambda exc, msg: None)
    d.on(TOPICS.result, lambda m, p: None)
    d.on(TOPICS.clock, lambda m, p: None)
    assert d.subscriptions() == [("aaas/v1/users/+/result", 1), ("aaas/v1/clock", 1)]
    assert d.subscriptions(user_id="user-0007") == [("aaas/v1/users/user-0007/result", 1),
                                                    ("aaas/v1/clock", 1)]


def test_a_node_subscribes_to_the_acks_naming_it_not_to_every_users_ack() -> None:
    d = Dispatcher(on_error=lambda exc, msg: None)
    d.on(TOPICS.assign, lambda m, p: None)
    d.on(TOPICS.ack, lambda m, p: None)
    assert d.subscriptions(node_id="asp-01") == [("aaas/v1/nodes/asp-01/assign/+", 1),
                                                 ("aaas/v1/users/+/ack/asp-01", 1)]
    assert d.subscriptions() == [("aaas/v1/nodes/+/assign/+", 1), ("aaas/v1/users/+/ack/+", 1)]
    assert TOPICS.ack.topic.narrowed(user_id="u-1") == "aaas/v1/users/u-1/ack/+"
    with pytest.raises(ConfigError, match="no parameter"):
        TOPICS.ack.topic.narrowed(task_id="t")
    with pytest.raises(ProtocolError):
        TOPICS.ack.topic.narrowed(node_id="a/b")


# -- error codes and the link control payload --------------------------------------------------
def test_error_codes_travel_as_their_plain_strings() -> None:
    res = TaskResult(task_id="t", user_id="u", status="rejected", timings=Timings(sent_at=0.0),
                     error=ErrorInfo(code=ErrorCode.OVERLOAD, message="m"))
    raw = msgspec.json.encode(res)
    assert b'"code":"overload"' in raw
    with pytest.raises(ProtocolError) as info:
        decode(raw.replace(b'"overload"', b'"no_such_code"'), TaskResult)
    assert info.value.code is ErrorCode.INVALID
    assert str(info.value).startswith("invalid: ")


def test_link_update_profile_keeps_left_out_fields_apart_from_null() -> None:
    raw = b'{"v":1,"profile":{"snr_db":null,"distance_m":120,"gilbert":{"loss_bad":0.4}}}'
    update = decode(raw, LinkUpdate)
    assert update.profile.changes() == {"snr_db": None, "distance_m": 120.0,
                                        "gilbert": {"loss_bad": 0.4}}
    assert decode(b'{"v":1}', LinkUpdate).profile.changes() == {}
    assert encode(LinkUpdate(profile=LinkProfilePatch(fading="rician"))) == \
        b'{"v":1,"profile":{"fading":"rician"},"outage_s":null,"reset":false}'
    for bad in (b'{"v":1,"profile":{"distance":1}}', b'{"v":1,"profile":{"mtu_bytes":"big"}}',
                b'{"v":1,"profile":{"gilbert":{"p":1}}}'):
        with pytest.raises(ProtocolError) as info:
            decode(bad, LinkUpdate)
        assert info.value.code is ErrorCode.INVALID
