"""The data channel's wire format without a peer: frames round-trip, junk is refused."""

from __future__ import annotations

import os

import pytest

from aaas import ProtocolError
from aaas.datachannel import CHUNK_BYTES, DeliverySettings, FrameHeader, FrameReader, send_frame


class _Channel:
    """Keeps what is sent, in order (an RTCDataChannel with an empty buffer)."""

    bufferedAmount = 0

    def __init__(self) -> None:
        self.sent: list[str | bytes] = []

    def send(self, data: str | bytes) -> None:
        self.sent.append(data)


async def test_a_frame_round_trips_in_chunks() -> None:
    data = os.urandom(3 * CHUNK_BYTES + 17)
    ch = _Channel()
    n = await send_frame(ch, FrameHeader(kind="request", task_id="t1", size=len(data),
                                         split=100), data)
    assert n == len(data)
    assert isinstance(ch.sent[0], str) and len(ch.sent) == 1 + 4
    reader = FrameReader()
    frames = [f for m in ch.sent if (f := reader.feed(m)) is not None]
    assert len(frames) == 1
    assert frames[0].data == data and frames[0].header.split == 100


async def test_an_empty_frame_is_its_header() -> None:
    ch = _Channel()
    await send_frame(ch, FrameHeader(kind="pull", task_id="t2"))
    frame = FrameReader().feed(ch.sent[0])
    assert frame is not None and frame.header.kind == "pull" and frame.data == b""


@pytest.mark.parametrize("messages", [
    [b"content first"],
    ['{"v":1,"kind":"result","task_id":"t","size":2}', '{"v":1,"kind":"pull","task_id":"t"}'],
    ['{"v":1,"kind":"result","task_id":"t","size":2}', b"abc"],
    ['{"v":1,"kind":"teleport","task_id":"t"}'],
    ['{"v":2,"kind":"pull","task_id":"t"}'],
    ["not json"],
])
def test_messages_out_of_place_are_refused(messages: list[str | bytes]) -> None:
    reader = FrameReader()
    *first, last = messages
    for m in first:
        reader.feed(m)
    with pytest.raises(ProtocolError):
        reader.feed(last)


async def test_the_header_must_match_the_content() -> None:
    with pytest.raises(ValueError, match="header says"):
        await send_frame(_Channel(), FrameHeader(kind="result", task_id="t", size=3), b"ab")


def test_delivery_settings_choose_the_path_by_size() -> None:
    auto = DeliverySettings(mode="auto", threshold_bytes=1000)
    assert not auto.over_webrtc(999) and auto.over_webrtc(1000)
    assert DeliverySettings(mode="webrtc").over_webrtc(1)
    assert not DeliverySettings(mode="mqtt").over_webrtc(10**9)
    with pytest.raises(ValueError, match="delivery mode"):
        DeliverySettings(mode="carrier-pigeon")  # type: ignore[arg-type]


def test_the_light_client_imports_without_aiortc() -> None:
    import subprocess
    import sys

    probe = """
import importlib.abc, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'aiortc':
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
import user_agent, edge_node.delivery
from aaas import ConfigError, EmulatedClock
from aaas.datachannel import DeliverySettings
from monitoring import DeliveryMetrics
from prometheus_client import CollectorRegistry
from user_agent.delivery import make_user_delivery
kw = dict(clock=EmulatedClock(), send_answer=print, metrics=DeliveryMetrics(CollectorRegistry()))
assert make_user_delivery(DeliverySettings(mode="mqtt"), **kw) is None
try:
    make_user_delivery(DeliverySettings(mode="webrtc"), **kw)
except ConfigError as exc:
    print(exc)
"""
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    assert "needs aiortc" in res.stdout and "[user,webrtc]" in res.stdout
