"""A modelled task holds its node's capacity for runtime(t) from admission, as in the
simulator: not also for the thread hops that make and encode its content."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from aaas import (
    Assignment,
    BrokerURL,
    EmulatedClock,
    NodeLoad,
    Scenario,
    TaskContent,
    TaskRequest,
    TaskResult,
    decode,
    parse_scenario,
)
from aaas.images import checksum, encode_png
from edge_node.backends import InpaintBackend, InpaintJob, InpaintOutput
from edge_node.backends.modeled import ModeledBackend
from edge_node.node import EdgeNode
from monitoring import EdgeMetrics

pytest.importorskip("cv2")

SCALE = 1000.0
"""Emulated seconds per wall second: runtime(t) = t s, so t = 100 runs 0.1 s wall."""


def one_asp() -> Scenario:
    return parse_scenario({
        "name": "timing", "seed": 0,
        "asps": {"count": 1, "override": [
            {"index": 0, "capacity": 300, "ax": 0, "ay": 0, "bx": 200, "by": 1.0}]},
        "runtime": {"a": 0.0, "b": 1.0, "c": 0.0, "unit_s": 1.0},
    })


class Recorder:
    """Stands in for the node's MQTT session: what it sends, with the wall time."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, Any]] = []

    def send(self, route: Any, payload: Any, **params: str) -> None:
        self.sent.append((time.monotonic(), payload))

    def publish_raw(self, topic: str, raw: bytes, **_: Any) -> None:
        self.sent.append((time.monotonic(), decode(raw, TaskResult)))


IMAGE = encode_png(np.full((16, 16, 3), 128, dtype=np.uint8))
MASK_ARRAY = np.zeros((16, 16), dtype=bool)
MASK_ARRAY[4:8, 4:8] = True
MASK = encode_png(MASK_ARRAY)


def _recorded_node(sc: Scenario, clock: EmulatedClock,
                   backend: InpaintBackend) -> tuple[EdgeNode, Recorder]:
    """The scenario's one ASP as a node whose session records what it sends."""
    node = EdgeNode(spec=sc.asps[0], scenario=sc, url=BrokerURL(), clock=clock,
                    backend=backend, metrics=EdgeMetrics(CollectorRegistry()))
    rec = Recorder()
    node.session = rec  # type: ignore[assignment]
    return node, rec


def _assign(node: EdgeNode, task_id: str) -> None:
    """Assign the node *task_id* (t = 100) of user-0, whose content is IMAGE and MASK."""
    req = TaskRequest(task_id=task_id, user_id="user-0", steps=100, size=len(IMAGE) + len(MASK),
                      checksum=checksum(IMAGE, MASK), sent_at=node.clock.now())
    node._on_assignment(Assignment(node_id=node.id, seq=0, policy="fixed",
                                   assigned_at=node.clock.now(), request=req))


def _content(node: EdgeNode, task_id: str) -> None:
    """*task_id*'s content, as its user sends it."""
    node._on_content(TaskContent(task_id=task_id, checksum=checksum(IMAGE, MASK),
                                 split=len(IMAGE), data=IMAGE + MASK),
                     {"node_id": node.id, "user_id": "user-0"})


async def test_capacity_is_free_when_the_runtime_ends_not_after_the_encoding(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import edge_node.node as node_module

    real_encode = node_module.encode_png

    def slow_encode(a: np.ndarray) -> bytes:  # a loaded machine: the hop takes 0.3 s wall
        time.sleep(0.3)
        return real_encode(a)

    monkeypatch.setattr(node_module, "encode_png", slow_encode)

    class UnencodedContent(ModeledBackend):
        """A backend that leaves the encoding to the node (as repaint does)."""

        async def run(self, job: InpaintJob) -> InpaintOutput:
            return dataclasses.replace(await super().run(job), png=None)

    sc = one_asp()
    clock = EmulatedClock(scale=SCALE)
    node, rec = _recorded_node(sc, clock, UnencodedContent(clock=clock, runtime=sc.runtime))
    _assign(node, "t")
    _content(node, "t")
    started = node.ledger.running["t"].started_at
    try:
        for _ in range(500):
            if any(isinstance(m, TaskResult) for _, m in rec.sent):
                break
            await asyncio.sleep(0.01)
    finally:
        for job in node._jobs.values():
            job.cancel()
    [(result_at, result)] = [(t, m) for t, m in rec.sent if isinstance(m, TaskResult)]
    assert result.status == "ok"
    freed = [(t, m) for t, m in rec.sent if isinstance(m, NodeLoad) and m.running == 0]
    assert freed, "no load report with the task gone"
    freed_at, load = freed[0]
    # Reported free before the slow encoding ended, within 150 emulated s (0.15 s wall)
    # of the modelled end: before, the report came with the result, 300 s later.
    assert freed_at < result_at - 0.2
    assert load.at - (started + sc.runtime(100)) < 150.0, load.at - started
    assert result.timings.finished_at == pytest.approx(load.at, abs=1.0)


async def test_the_modelled_runtime_counts_from_admission() -> None:
    sc = one_asp()
    clock = EmulatedClock(scale=100.0)
    backend = ModeledBackend(clock=clock, runtime=sc.runtime)
    job = InpaintJob(task_id="t", steps=200, image=np.zeros((16, 16, 3), dtype=np.uint8),
                     mask=MASK_ARRAY, started_at=clock.now() - 150.0)  # 150 of 200 s gone
    t0 = time.monotonic()
    out = await backend.run(job)
    assert out.runtime_s == 200.0
    assert time.monotonic() - t0 < 1.5  # the 50 s left (0.5 s wall), not 200 s (2 s)
    # The content came encoded with it, made while the runtime passed (one thread hop).
    assert out.png == encode_png(out.image)


async def test_content_that_comes_late_does_not_hold_the_capacity_past_the_runtime() -> None:
    """The paper's model holds t steps for runtime(t) from admission. Content that comes
    after that (a slow upload, a user agent behind its clock) delays the result, not
    the capacity: the finished event and the free capacity come on the model's time."""
    sc = one_asp()
    clock = EmulatedClock(scale=SCALE)
    node, rec = _recorded_node(sc, clock, ModeledBackend(clock=clock, runtime=sc.runtime))
    admitted = time.monotonic()
    _assign(node, "late")
    await asyncio.sleep(0.3)  # runtime(100) = 100 s = 0.1 s wall: over, and no content yet
    assert node.ledger.used == 0 and "late" in node._jobs
    events = [(t, m) for t, m in rec.sent if getattr(m, "kind", None) == "finished"]
    assert len(events) == 1 and events[0][0] - admitted < 0.25, events
    assert not any(isinstance(m, TaskResult) for _, m in rec.sent)
    _content(node, "late")
    for _ in range(200):
        if any(isinstance(m, TaskResult) for _, m in rec.sent):
            break
        await asyncio.sleep(0.01)
    [result] = [m for _, m in rec.sent if isinstance(m, TaskResult)]
    assert result.status == "ok"
    # One finished event in all: the one on the model's time.
    assert len([m for _, m in rec.sent if getattr(m, "kind", None) == "finished"]) == 1
    assert "late" not in node._jobs and not node._freed
