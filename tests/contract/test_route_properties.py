"""Property test: random and mutated payloads on every route, at every service that reads it.

Each service (orchestrator, edge node, user agent) is built as in a testbed and its
dispatcher is fed the payloads directly (no broker: what is under test is the
decoder and the handler). Whatever arrives, no exception escapes; a payload the
route's decoder refuses is counted in the service's ``*_bad_input_total`` and,
at the services that answer (orchestrator, edge node), gets an ErrorReply queued
on an error topic. Routes no service here reads (clock, link control, node
errors) have their decoder checked: it refuses with ProtocolError, nothing else.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from aaas import (
    TOPICS,
    Assignment,
    BrokerURL,
    ClockSpec,
    EmulatedClock,
    ErrorInfo,
    ErrorReply,
    LinkUpdate,
    NodeLoad,
    NodeStatus,
    ProtocolError,
    Route,
    RtcAnswer,
    RtcOffer,
    TaskAck,
    TaskEvent,
    TaskResult,
    Timings,
    decode,
    encode,
)
from edge_node import EdgeNode
from edge_node.backends.modeled import ModeledBackend
from monitoring import EdgeMetrics, OrchestratorMetrics, UserMetrics
from orchestrator import Orchestrator
from orchestrator.policies import make_policy
from tests.helpers.probe import USER, valid_content, valid_request
from tests.helpers.stack import small_scenario
from user_agent import ImageSource, UserAgent

NODE = "asp-00"
URL = BrokerURL(host="127.0.0.1", port=1)  # never connected: the sessions are not entered

VALID: dict[str, msgspec.Struct] = {
    "request": valid_request("prop-1"),
    "assign": Assignment(node_id=NODE, seq=0, policy="p", assigned_at=0.0,
                         request=valid_request("prop-2")),
    "content": valid_content("prop-2"),
    "content_error": ErrorReply(task_id="prop-2", topic="t",
                                error=ErrorInfo(code="checksum_mismatch", message="m")),
    "result": TaskResult(task_id="prop-3", user_id=USER, status="ok", timings=Timings(sent_at=0)),
    "event": TaskEvent(kind="finished", task_id="prop-4", user_id=USER, node_id=NODE, steps=120,
                       at=0.0),
    "load": NodeLoad(node_id=NODE, capacity=1000, used=0, free=1000, running=0, at=0.0),
    "status": NodeStatus(node_id=NODE, state="online", boot="b1"),
    "user_error": ErrorReply(topic="t", error=ErrorInfo(code="invalid", message="m")),
    "node_error": ErrorReply(topic="t", error=ErrorInfo(code="invalid", message="m")),
    "clock": ClockSpec(scale=1.0, epoch=0.0, wall_epoch=0.0),
    "ack": TaskAck(task_id="prop-1", user_id=USER),
    "rtc_offer": RtcOffer(node_id=NODE, user_id=USER, session="s1", sdp="v=0", at=0.0),
    "rtc_answer": RtcAnswer(node_id=NODE, user_id=USER, session="s1", sdp="v=0", at=0.0),
    "link_control": LinkUpdate(),
}
PARAMS = {"user_id": USER, "node_id": NODE}


def test_every_route_has_a_sample() -> None:
    assert set(VALID) == {r.name for r in TOPICS.all()}


class Services:
    """The three services on one event loop, never connected."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        scenario = small_scenario(asps=2, users=5)
        clock = EmulatedClock(scale=1.0)
        self.reg = {"orchestrator": CollectorRegistry(), "edge": CollectorRegistry(),
                    "user": CollectorRegistry()}

        async def build() -> None:
            self.orch = Orchestrator(scenario=scenario,
                                     policy=make_policy("least_loaded", scenario,
                                                        rng=np.random.default_rng(0)),
                                     url=URL, clock=clock,
                                     metrics=OrchestratorMetrics(self.reg["orchestrator"]))
            self.node = EdgeNode(spec=scenario.asp(NODE), scenario=scenario, url=URL,
                                 clock=clock, backend=ModeledBackend(clock=clock,
                                                                     runtime=scenario.runtime),
                                 metrics=EdgeMetrics(self.reg["edge"]))
            self.user = UserAgent(scenario=scenario, user_ids=[USER], url=URL, clock=clock,
                                  images=ImageSource(size=32, rng=np.random.default_rng(0)),
                                  metrics=UserMetrics(self.reg["user"]))

        loop.run_until_complete(build())

    def readers(self, route: Route[Any]) -> list[tuple[str, Any, Any]]:
        """(service, dispatcher, session or None) of the services that read *route*."""
        out = []
        for name, svc, session in (("orchestrator", self.orch, self.orch.session),
                                   ("edge", self.node, self.node.session),
                                   ("user", self.user, None)):
            if route in svc.dispatch.routes:
                out.append((name, svc.dispatch, session))
        return out


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    loop = asyncio.new_event_loop()
    try:
        yield Services(loop)
    finally:
        for t in asyncio.all_tasks(loop):
            t.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()


def bad_total(registry: CollectorRegistry, service: str) -> float:
    name = f"aaas_{service}_bad_input_total"
    return sum(s.value for m in registry.collect() for s in m.samples if s.name == name)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=16)


@st.composite
def payloads(draw: st.DrawFn, route_name: str) -> bytes:
    valid = encode(VALID[route_name])
    kind = draw(st.sampled_from(["bytes", "json", "flip", "cut", "insert", "field", "drop",
                                 "deep", "valid"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "valid":
        return valid
    if kind == "deep":
        depth = draw(st.integers(30, 3000))
        return valid[:-1] + b',"x":' + b"[" * depth + b"]" * depth + b"}"
    i = draw(st.integers(0, len(valid) - 1))
    if kind == "flip":
        return valid[:i] + bytes([valid[i] ^ draw(st.integers(1, 255))]) + valid[i + 1:]
    if kind == "cut":
        return valid[:i] + valid[i + draw(st.integers(1, 20)):]
    if kind == "insert":
        return valid[:i] + draw(st.binary(min_size=1, max_size=10)) + valid[i:]
    head, sep, attached = valid.partition(b"\n")  # content follows its JSON (attachments)
    obj = json.loads(head)
    key = draw(st.sampled_from(sorted(obj)))
    if kind == "drop":
        del obj[key]
    else:
        obj[key] = draw(json_values)
    return json.dumps(obj).encode() + sep + attached


@pytest.mark.parametrize("route", TOPICS.all(), ids=lambda r: r.name)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_payload_on_any_route(services: Services, route: Route[Any], data: st.DataObject
                                  ) -> None:
    raw = data.draw(payloads(route.name))
    topic = route.topic.format(**{p: PARAMS[p] for p in route.topic.params})
    try:
        decode(raw, route.payload)
        refused = False
    except ProtocolError:
        refused = True
    # Anything else escaping the decoder fails the test here.
    for service, dispatch, session in services.readers(route):
        reg = services.reg[service]
        before, queued = bad_total(reg, service), session.pending if session else 0

        async def feed(d: Any = dispatch) -> None:
            assert d.dispatch(topic, raw)

        services.loop.run_until_complete(feed())
        # An empty payload is ignored where the service says so (a cleared retained message).
        ignored = not raw and any(e.route is route and e.ignore_empty
                                  for e in dispatch._entries)
        if refused and not ignored:
            assert bad_total(reg, service) == before + 1, (service, raw[:200])
            if session is not None:
                # The reply among what was queued meanwhile (a node's retained load
                # report, due from an earlier valid assignment, may come after it).
                replies = [m for m in list(session._outbox)[queued:] if "/error" in m.topic]
                assert replies, (service, raw[:200])
                assert decode(replies[-1].payload, ErrorReply).error.code
        if session is not None:
            session._outbox.clear()  # never connected: keep the outbox small
