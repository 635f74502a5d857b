"""The paper's model on hand-computed cases, in all three places that apply it.

The simulators were only tested against each other, so one model drifting in
both (or the live node drifting from them) went unnoticed. Here every number
is worked out by hand from the brief's definitions, and AaasEnv, BatchSim, the
live CapacityLedger and the live EdgeNode must each produce exactly those
numbers. The numbers are dyadic, so "exactly" is ``==``.

The testbed (two ASPs):

* ASP 0: C = 300, (Ax, Ay, Bx, By) = (0, 0, 200, 1):        q0(t) = t/200, 1 above t = 200.
* ASP 1: C = 250, (Ax, Ay, Bx, By) = (120, 0.25, 248, 0.75): q1(t) = 0 below t = 120,
  (t − 120)/256 up to t = 248, By − Ay = 0.5 above.
* runtime(t) = (0·t² + 1·t + 0)·60 s = 60·t s: 6000 s for t = 100, 9000 for 150,
  12000 for 200, 15000 for 250.
* crash penalty = 2 + Σ_lost 2·(1 − progress), progress = (now − start)/runtime(t).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry

from aaas import (
    Assignment,
    BrokerURL,
    EmulatedClock,
    Scenario,
    TaskContent,
    TaskEvent,
    TaskRequest,
    TaskResult,
    decode,
    parse_scenario,
)
from aaas.images import checksum, encode_png
from edge_node import CapacityLedger, Running
from edge_node.backends import InpaintBackend, InpaintJob, InpaintOutput
from edge_node.node import EdgeNode
from monitoring import EdgeMetrics
from orchestrator.sim import AaasEnv, BatchSim, Episode


def hand_scenario() -> Scenario:
    data: dict[str, Any] = {
        "name": "paper-model-cases", "seed": 0,
        "asps": {"count": 2, "override": [
            {"index": 0, "capacity": 300, "ax": 0, "ay": 0, "bx": 200, "by": 1.0},
            {"index": 1, "capacity": 250, "ax": 120, "ay": 0.25, "bx": 248, "by": 0.75},
        ]},
        "runtime": {"a": 0.0, "b": 1.0, "c": 0.0, "unit_s": 60.0},
        "crash": {"base_penalty": 2.0, "lost_weight": 2.0},
    }
    return parse_scenario(data)


@dataclass(frozen=True)
class Case:
    name: str
    arrival_s: float
    steps: int
    asp: int
    free_before: tuple[int, int]
    """Free capacity of both ASPs when the task arrives (after the releases due by then)."""
    reward: float
    lost: dict[str, float] = field(default_factory=dict)
    """On a crash: progress of every task the crash kills."""
    freed: int = 0
    """On a crash: the capacity the lost tasks held, given back to the ASP."""

    @property
    def crash(self) -> bool:
        return self.reward < 0


CASES = [
    Case("a", 0.0, 100, 0, (300, 250), reward=0.5),        # q0(100) = 100/200; a ends at 6000
    Case("b", 750.0, 150, 0, (200, 250), reward=0.75),     # q0(150); b ends at 750 + 9000 = 9750
    Case("c", 1500.0, 200, 1, (50, 250), reward=0.3125),   # q1(200) = 80/256; ends at 13500
    # 50 < 100: ASP 0 crashes. a at 3000/6000 = 0.5, b at 2250/9000 = 0.25:
    # 2 + 2·(1 − 0.5) + 2·(1 − 0.25) = 2 + 1 + 1.5; a and b held 100 + 150.
    Case("d", 3000.0, 100, 0, (50, 50), reward=-4.5, lost={"a": 0.5, "b": 0.25}, freed=250),
    # 50 < 100: ASP 1 crashes. c at 3000/12000 = 0.25: 2 + 2·0.75.
    Case("e", 4500.0, 100, 1, (300, 50), reward=-3.5, lost={"c": 0.25}, freed=200),
    Case("f", 6000.0, 250, 1, (300, 250), reward=0.5),     # free == t fits; q1(250) = By − Ay
    Case("g", 6500.0, 150, 0, (300, 0), reward=0.75),      # ASP 0 empty since d; g ends at 15500
    # 150 < 200: g at 2250/9000 = 0.25.
    Case("h", 8750.0, 200, 0, (150, 0), reward=-3.5, lost={"g": 0.25}, freed=150),
    # f ends at 6000 + 15000 = 21000 exactly and has freed its 250 by then.
    Case("i", 21000.0, 250, 1, (300, 250), reward=0.5),
    # Same instant: i has progress 0, so it costs the full 2·(1 − 0).
    Case("j", 21000.0, 100, 1, (300, 0), reward=-4.0, lost={"i": 0.0}, freed=250),
    Case("k", 22000.0, 100, 1, (300, 250), reward=0.0),    # admitted; t < Ax earns q1 = 0
]

RETURN = 0.5 + 0.75 + 0.3125 - 4.5 - 3.5 + 0.5 + 0.75 - 3.5 + 0.5 - 4.0 + 0.0  # -12.1875
ADMITTED_Q = 0.5 + 0.75 + 0.3125 + 0.5 + 0.75 + 0.5 + 0.0
LOST_Q = 0.5 + 0.75 + 0.3125 + 0.75 + 0.5  # a, b, c, g, i
EPISODE_STATS = {"tasks": 11, "admitted": 7, "crashes": 4, "lost": 5, "finished": 2,
                 "crashed_tasks": 9, "ret": RETURN, "admitted_utility": ADMITTED_Q,
                 "lost_utility": LOST_Q, "utility": ADMITTED_Q - LOST_Q}
CAPACITY = (300, 250)
RUNTIME = {100: 6000.0, 150: 9000.0, 200: 12000.0, 250: 15000.0}


def _episode(scenario: Scenario) -> Episode:
    steps = np.array([c.steps for c in CASES], dtype=np.int64)
    return Episode(arrival_s=np.array([c.arrival_s for c in CASES]), steps=steps,
                   runtime_s=scenario.runtime.many(steps))


def _check_stats(summary: dict[str, float]) -> None:
    assert {k: summary[k] for k in EPISODE_STATS} == EPISODE_STATS


def test_the_scenario_gives_the_hand_computed_curves_and_runtimes() -> None:
    sc = hand_scenario()
    assert [sc.runtime(t) for t in RUNTIME] == list(RUNTIME.values())
    assert _episode(sc).runtime_s.tolist() == [RUNTIME[c.steps] for c in CASES]
    q0, q1 = (a.curve for a in sc.asps)
    assert [q0(t) for t in (100, 150, 200, 250)] == [0.5, 0.75, 1.0, 1.0]
    assert [q1(t) for t in (100, 119, 120, 150, 200, 248, 250)] == [
        0.0, 0.0, 0.0, 30 / 256, 80 / 256, 0.5, 0.5]
    assert sc.crash.penalty([0.5, 0.25]) == 4.5
    assert sc.crash.penalty([]) == 2.0


def test_single_env_gives_the_hand_computed_numbers() -> None:
    sc = hand_scenario()
    env = AaasEnv(sc)
    env.reset(options={"episode": _episode(sc)})
    lost_so_far = 0
    for k, case in enumerate(CASES):
        obs = env.observation()
        assert (obs.steps, tuple(obs.free_M.tolist())) == (case.steps, case.free_before), case
        _, reward, done, _, info = env.step(case.asp)
        assert reward == case.reward, case
        lost_so_far += len(case.lost)
        assert env.stats.lost == lost_so_far, case
        assert done == (k == len(CASES) - 1)
    _check_stats(info["episode"])


def test_batch_sim_gives_the_hand_computed_numbers() -> None:
    sc = hand_scenario()
    sim = BatchSim(sc, 3, seed=0, autoreset=False)
    # env 1 plays the same episode; env 0 and 2 keep their own drawn episodes running
    # beside it (their actions must not leak into env 1).
    sim.set_episode(1, _episode(sc))
    rng = np.random.default_rng(0)
    for case in CASES:
        assert sim.current_steps()[1] == case.steps
        assert tuple(sim.free[1].tolist()) == case.free_before, case
        actions = rng.integers(0, 2, 3)
        actions[1] = case.asp
        res = sim.step(actions)
        assert res.reward[1] == case.reward, case
    assert res.done[1]
    _check_stats(dict(res.finished)[1].summary())


def test_capacity_ledgers_give_the_hand_computed_numbers() -> None:
    """The live crash rule: one ledger per ASP, tasks released when their runtime is over."""
    sc = hand_scenario()
    ledgers = [CapacityLedger(capacity=a.capacity, rule=sc.crash) for a in sc.asps]
    for case in CASES:
        for led in ledgers:  # what the node's backend does when a task's runtime is over
            for r in list(led.running.values()):
                if r.started_at + r.runtime_s <= case.arrival_s:
                    assert led.finish(r.task_id) is r
        assert tuple(led.free for led in ledgers) == case.free_before, case
        led = ledgers[case.asp]
        task = Running(task_id=case.name, user_id="u", steps=case.steps,
                       started_at=case.arrival_s, runtime_s=sc.runtime(case.steps),
                       quality=sc.asps[case.asp].curve(case.steps))
        verdict = led.offer(task, case.arrival_s)
        assert verdict.admitted == (not case.crash), case
        assert verdict.reward == case.reward, case
        assert {r.task_id: p for r, p in verdict.lost} == case.lost, case
        if case.crash:
            assert verdict.penalty == -case.reward
            assert sum(r.steps for r, _ in verdict.lost) == case.freed
            assert led.free == led.capacity and not led.running
        else:
            assert led.free == case.free_before[case.asp] - case.steps
    assert [led.crashes for led in ledgers] == [2, 2]


# --- the live edge node, end to end through its event and load messages -------


@dataclass(frozen=True, kw_only=True)
class ManualClock(EmulatedClock):
    """Emulated time that moves only when the test moves it."""

    at: list[float] = field(default_factory=lambda: [0.0])

    def now(self) -> float:
        return self.at[0]


class GatedBackend(InpaintBackend):
    """Finishes a job only when the test opens its gate (its runtime is over)."""

    name = "gated"

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Future[None]] = {}

    def gate(self, task_id: str) -> asyncio.Future[None]:
        return self.gates.setdefault(task_id, asyncio.get_running_loop().create_future())

    async def run(self, job: InpaintJob) -> InpaintOutput:
        await self.gate(job.task_id)
        return InpaintOutput(image=job.image, runtime_s=RUNTIME[job.steps])


class Recorder:
    """Stands in for the node's MQTT session: keeps what the node sends."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, route: Any, payload: Any, **params: str) -> None:
        self.sent.append(payload)

    def publish_raw(self, topic: str, raw: bytes, **_: Any) -> None:
        """Results go out pre-encoded (the node keeps the bytes for sending again)."""
        assert topic.endswith("/result"), topic
        self.sent.append(decode(raw, TaskResult))


IMAGE = encode_png(np.zeros((8, 8, 3), dtype=np.uint8))
MASK = encode_png(np.zeros((8, 8), dtype=bool))


def _assignment(node_id: str, case: Case, seq: int) -> Assignment:
    req = TaskRequest(task_id=case.name, user_id="user-0", steps=case.steps,
                      size=len(IMAGE) + len(MASK), checksum=checksum(IMAGE, MASK),
                      sent_at=case.arrival_s)
    return Assignment(node_id=node_id, seq=seq, policy="fixed", assigned_at=case.arrival_s,
                      request=req)


def _assign_with_content(node: EdgeNode, case: Case, seq: int) -> None:
    """The assignment, then the content its user sends the node."""
    a = _assignment(node.id, case, seq)
    node._on_assignment(a)
    node._on_content(TaskContent(task_id=case.name, checksum=a.request.checksum,
                                 split=len(IMAGE), data=IMAGE + MASK),
                     {"node_id": node.id, "user_id": "user-0"})


async def test_live_edge_nodes_give_the_hand_computed_numbers() -> None:
    sc = hand_scenario()
    clock = ManualClock()
    metrics = EdgeMetrics(CollectorRegistry())
    nodes = []
    for spec in sc.asps:
        node = EdgeNode(spec=spec, scenario=sc, url=BrokerURL(), clock=clock,
                        backend=GatedBackend(), metrics=metrics)
        node.session = Recorder()  # type: ignore[assignment]
        nodes.append(node)
    try:
        for seq, case in enumerate(CASES):
            clock.at[0] = case.arrival_s
            for node in nodes:  # open the gates of the tasks whose runtime is over
                for r in list(node.ledger.running.values()):
                    if r.started_at + r.runtime_s <= case.arrival_s:
                        assert isinstance(node.backend, GatedBackend)
                        node.backend.gate(r.task_id).set_result(None)
                        # The node encodes the result in a worker thread (to_thread) before
                        # it frees the capacity: wait for that thread (a hundred bare yields
                        # were not enough on a loaded CI machine), within 10 s.
                        for _ in range(10_000):
                            if r.task_id not in node.ledger.running:
                                break
                            await asyncio.sleep(0.001)
                        assert r.task_id not in node.ledger.running
            assert tuple(n.load().free for n in nodes) == case.free_before, case
            node = nodes[case.asp]
            sent = node.session.sent  # type: ignore[attr-defined]
            first = len(sent)
            _assign_with_content(node, case, seq)
            new = sent[first:]
            [event] = [m for m in new if isinstance(m, TaskEvent) and m.task_id == case.name]
            assert event.kind == ("crashed" if case.crash else "admitted"), case
            assert event.reward == case.reward, case
            assert {t.task_id: t.progress for t in event.lost} == case.lost, case
            load = event.load  # the event carries the node's load after it
            assert load is not None
            if case.crash:
                assert load.free == CAPACITY[case.asp] and load.running == 0
                assert sum(t.steps for t in event.lost) == case.freed
            else:
                assert load.free == case.free_before[case.asp] - case.steps
        assert [n.ledger.crashes for n in nodes] == [2, 2]
    finally:
        for node in nodes:
            for job in node._jobs.values():
                job.cancel()
            await asyncio.gather(*node._jobs.values(), return_exceptions=True)
