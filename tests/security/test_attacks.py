"""Attacks on a secure testbed: a real Mosquitto with the config `aaas security init` writes.

Real users run their workload while an attacker holding a stolen *user* credential,
then one holding a stolen *edge node* credential, tries every forgery of issue 11.
Each must fail: refused by the broker (the generated ACL: an observer allowed to read
everything never sees it) or rejected by its receiver (counted in its
``*_bad_input_total{reason}``), and every real task must finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from aaas import BrokerURL, EmulatedClock, MqttSession, Scenario
from aaas.mqtt import BrokerRefusedError
from broker.secure import SecureMosquitto
from broker.security import init_security
from edge_node import start_nodes
from monitoring import EdgeMetrics, OrchestratorMetrics, UserMetrics
from orchestrator import Orchestrator
from orchestrator.policies import make_policy
from tests.helpers.stack import small_scenario
from user_agent import ImageSource, UserAgent, poisson_arrivals

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

R = "aaas/v1"
REAL_USERS = [f"user-{i:04d}" for i in range(5)]
STOLEN_USER = "user-0009"   # a device that was stolen: its owner no longer runs it
STOLEN_NODE = "asp-03"      # a server whose credential leaked: the node is not running
MARK = "forged-by-attacker"


def scenario() -> Scenario:
    return small_scenario(asps=4, capacity=1000, workload={
        "users": 10, "horizon_s": 60_000, "arrival_rate": 0.0004})


def _j(**kw: Any) -> bytes:
    return json.dumps({"v": 1, **kw}).encode()


def _load(node: str, capacity: int, *, mark: bool = True) -> bytes:
    return _j(node_id=node, capacity=capacity, used=0, free=capacity, running=0, seq=-1,
              at=0.0, **({"note": MARK} if mark else {}))


def _result(user: str, task: str, status: str) -> bytes:
    return _j(task_id=task, user_id=user, status=status, node_id="evil-node", steps=100,
              image="eA==", quality=1.0, timings={"sent_at": 0.0}, metrics={MARK: 1.0},
              error=None if status == "ok" else {"code": "overload", "message": MARK})


def _content(task: str, mark: str) -> bytes:
    """A TaskContent: its JSON, then the bytes (here a marker, not an image)."""
    return _j(task_id=task, checksum="0" * 64, split=1) + b"\n" + mark.encode()


def _forgeries_refused_by_acl(victim_node: str = "asp-00") -> list[tuple[str, bytes, bool]]:
    """(topic, payload, retain): what no stolen user or edge credential may publish."""
    return [
        (f"{R}/nodes/asp-01/load", _load("asp-01", 10**23), True),          # stops placement
        (f"{R}/users/user-0001/error", _j(task_id="t000001", topic="x",
                                          error={"code": "invalid", "message": MARK}), False),
        (f"{R}/nodes/{victim_node}/status", _j(node_id=victim_node, state="offline",
                                               backend=MARK), True),       # removes a node
        (f"{R}/nodes/ghost-01/status", _j(node_id="ghost-01", state="online", backend=MARK),
         True),                                                            # black hole
        (f"{R}/clock", _j(scale=0.001, epoch=0.0, wall_epoch=time.time(), note=MARK), True),
        (f"{R}/nodes/{victim_node}/event", _j(kind="admitted", task_id="t000001",
                                              user_id="user-0001", node_id=victim_node,
                                              steps=100, reward=2.0**70, at=0.0, note=MARK),
         False),
        (f"{R}/nodes/{victim_node}/assign/user-0001", _j(node_id=victim_node, seq=0,
                                                         policy=MARK, assigned_at=0.0,
                                                         request={}), False),
        # content for another user's task: only that user may send it
        (f"{R}/nodes/{victim_node}/content/user-0001", _content("t000001", MARK), False),
        (f"{R}/link/user-0001/set", _j(outage_s=1e7, note=MARK), False),
        (f"{R}/users/user-0001/request", _j(task_id=MARK, user_id="user-0001"), False),
    ]


@dataclass
class Observer:
    """The read-only observer identity: sees every message the broker lets through."""

    seen: list[tuple[str, bytes]] = field(default_factory=list)

    def saw(self, pred: Callable[[str, bytes], bool]) -> bool:
        return any(pred(t, p) for t, p in self.seen)

    async def wait_for(self, pred: Callable[[str, bytes], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not self.saw(pred):
            assert time.monotonic() < deadline, "the observer never saw the canary"
            await asyncio.sleep(0.05)


@dataclass
class Bed:
    url: BrokerURL
    registry: CollectorRegistry
    orch: Orchestrator
    agent: UserAgent
    observer: Observer
    secdir: Path


def sample(reg: CollectorRegistry, name: str, **labels: str) -> float:
    return reg.get_sample_value(name, labels) or 0.0


@contextlib.asynccontextmanager
async def secure_broker(kind: str, security: Path, tmp: Path) -> AsyncIterator[BrokerURL]:
    if kind == "mosquitto":
        with SecureMosquitto(security, workdir=tmp) as mosquitto:
            yield mosquitto.url
    else:
        from broker.embedded_secure import SecureEmbeddedBroker

        async with SecureEmbeddedBroker(security) as embedded:
            yield embedded.url


@contextlib.asynccontextmanager
async def secure_bed(tmp: Path, kind: str = "mosquitto") -> AsyncIterator[Bed]:
    sc = scenario()
    d, _ = init_security(sc, tmp / "sec")
    registry, clock = CollectorRegistry(), EmulatedClock(scale=5_000)
    async with secure_broker(kind, d.root, tmp) as url:
        obs = Observer()

        async def record(m: aiomqtt.Message) -> None:
            obs.seen.append((m.topic.value, bytes(m.payload)))  # type: ignore[arg-type]

        async with MqttSession(url=url, client_id="observer", subscriptions=[(f"{R}/#", 1)],
                               handler=record) as watcher, \
                start_nodes(scenario=sc, specs=[a for a in sc.asps if a.id != STOLEN_NODE],
                            url=url, clock=clock, metrics=EdgeMetrics(registry)), \
                Orchestrator(scenario=sc, policy=make_policy("least_loaded", sc,
                                                             rng=np.random.default_rng(0)),
                             url=url, clock=clock, metrics=OrchestratorMetrics(registry)) as orch:
            await watcher.wait_connected(10)
            deadline = time.monotonic() + 30
            while orch.cluster.online_count < 3:
                assert time.monotonic() < deadline, "edge nodes did not come online"
                await asyncio.sleep(0.05)
            images = ImageSource(size=sc.limits.image_size, rng=np.random.default_rng(1))
            async with UserAgent(scenario=sc, user_ids=REAL_USERS, url=url, clock=clock,
                                 images=images, metrics=UserMetrics(registry)) as agent:
                await agent.wait_connected(30)
                yield Bed(url, registry, orch, agent, obs, d.root)


async def _attack(bed: Bed, identity: str, *, refused: list[tuple[str, bytes, bool]],
                  allowed: list[tuple[str, bytes, bool]], canary: str) -> None:
    """Log in as *identity* and publish every forgery; then try to read everyone's
    traffic and publish a canary it may publish: once the observer saw the canary,
    nothing published before it can still arrive."""
    kw = bed.url.client_kwargs(identity)
    # What the ACL refuses, each on a connection of its own: Mosquitto 2 drops a client
    # that publishes at QoS 1 where the ACL denies it (and drops the message).
    for topic, payload, retain in refused:
        with contextlib.suppress(aiomqtt.MqttError):
            async with aiomqtt.Client(**kw, identifier=identity) as c:
                await c.publish(topic, payload, qos=1, retain=retain)
    async with aiomqtt.Client(**kw, identifier=identity) as c:
        for topic, payload, retain in allowed:
            await c.publish(topic, payload, qos=1, retain=retain)
        for filt in (f"{R}/users/+/request", f"{R}/users/+/result", f"{R}/nodes/+/assign/+",
                     f"{R}/nodes/+/content/+", f"{R}/users/+/error/+"):
            await c.subscribe(filt, 1)
        await c.publish(canary, _j(note=f"canary-{identity}"), qos=1)
        await bed.observer.wait_for(lambda t, p: f"canary-{identity}".encode() in p)
        # What it could read of other identities' traffic meanwhile: nothing.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                async for m in c.messages:
                    if identity not in m.topic.value.split("/"):  # its own replies: fine
                        pytest.fail(f"{identity} read {m.topic.value}")


async def _run_workload(bed: Bed, attack: Callable[[], Any]) -> None:
    sc = scenario()
    arrivals = poisson_arrivals(sc.workload, REAL_USERS, np.random.default_rng(3))
    clock = bed.agent.clock
    sender = asyncio.create_task(bed.agent.run(arrivals, start=clock.now()))
    deadline = time.monotonic() + 20
    while bed.agent.outstanding < 2:  # attack while real tasks are open
        assert time.monotonic() < deadline and not sender.done(), "no tasks in flight"
        await asyncio.sleep(0.02)
    await attack()
    await sender
    await bed.agent.drain(3 * sc.runtime(sc.workload.steps_max))
    outcomes = [r.outcome for r in bed.agent.records.values()]
    assert len(outcomes) == len(arrivals)
    assert all(o == "finished" for o in outcomes), outcomes


def _no_forgery_delivered(bed: Bed) -> None:
    leaked = [t for t, p in bed.observer.seen if MARK.encode() in p]
    assert leaked == [], f"the broker let forgeries through: {leaked}"


def _forged_results(users: list[str], n: int, run_id: str) -> list[tuple[str, bytes, bool]]:
    """Results for the real task ids (the run's id prefixes them: it is on the wire in
    every request and assignment), so that only the reply key can tell them apart."""
    statuses = ("ok", "rejected", "error")
    return [(f"{R}/users/{u}/result", _result(u, f"{run_id}-t{i:06d}", statuses[i % 3]), False)
            for u in users for i in range(n)]


@pytest.mark.parametrize("kind", ["mosquitto", "embedded"])
async def test_stolen_user_credential_forges_nothing(tmp_path: Path, kind: str) -> None:
    async with secure_bed(tmp_path, kind) as bed:
        async def attack() -> None:
            # Content in its own name for real tasks of others (their ids are on the
            # wire): the broker lets it through, the nodes take content only for a task
            # of that user assigned to them.
            own = [(f"{R}/nodes/{node}/content/{STOLEN_USER}",
                    _content(f"{bed.agent.run_id}-t{i:06d}", "stolen"), False)
                   for node in ("asp-00", "asp-01") for i in range(3)]
            await _attack(bed, STOLEN_USER, allowed=own,
                          refused=_forged_results(REAL_USERS, 3, bed.agent.run_id)
                          + _forgeries_refused_by_acl(),
                          canary=f"{R}/users/{STOLEN_USER}/request")

        await _run_workload(bed, attack)
        _no_forgery_delivered(bed)
        assert sum(sample(bed.registry, "aaas_edge_bad_input_total", node=n,
                          reason="not_assigned") for n in ("asp-00", "asp-01")) == 6
        # The canary (a malformed request of its own) got an error reply, nothing more.
        assert sample(bed.registry, "aaas_orchestrator_bad_input_total",
                      reason="schema_version") + sample(
            bed.registry, "aaas_orchestrator_bad_input_total", reason="invalid") >= 1
        assert bed.orch.ledger.crashes == 0 and 0 <= bed.orch.ledger.reward < 1_000


async def test_stolen_edge_credential_forges_nothing(tmp_path: Path) -> None:
    async with secure_bed(tmp_path) as bed:
        reg = bed.registry

        async def attack() -> None:
            own = [  # on its own topics the broker lets it publish: the receivers check
                (f"{R}/nodes/{STOLEN_NODE}/load", _load(STOLEN_NODE, 10**23, mark=False), True),
                (f"{R}/nodes/{STOLEN_NODE}/event", _j(
                    kind="admitted", task_id="t000001", user_id=REAL_USERS[1],
                    node_id=STOLEN_NODE, steps=100, reward=2.0**70, at=0.0), False),
                (f"{R}/nodes/{STOLEN_NODE}/event", _j(
                    kind="admitted", task_id="t000002", user_id=REAL_USERS[1],
                    node_id=STOLEN_NODE, steps=100, reward=-5.0, at=0.0), False),
            ]
            # Results to any user are allowed to nodes by the ACL: the reply key decides.
            forged = [(t, p.replace(MARK.encode(), b"edge"), r)
                      for t, p, r in _forged_results(REAL_USERS, 40, bed.agent.run_id)]
            # Refusals of content it never got: a user believes only its task's node.
            forged += [(f"{R}/users/{u}/error/{STOLEN_NODE}", _j(
                task_id=f"{bed.agent.run_id}-t{i:06d}", topic="x",
                error={"code": "checksum_mismatch", "message": "edge"}), False)
                for u in REAL_USERS for i in range(3)]
            await _attack(bed, STOLEN_NODE, allowed=forged + own,
                          refused=_forgeries_refused_by_acl(),
                          canary=f"{R}/nodes/{STOLEN_NODE}/error")
            deadline = time.monotonic() + 10
            while sum(sample(reg, "aaas_orchestrator_bad_input_total", reason=r)
                      for r in ("implausible", "not_assigned")) < 3:
                assert time.monotonic() < deadline, "forged load and events were not refused"
                await asyncio.sleep(0.05)

        await _run_workload(bed, attack)
        _no_forgery_delivered(bed)
        # The 10^23 load and the 2^70 reward: implausible; the other event: not its task.
        assert sample(reg, "aaas_orchestrator_bad_input_total", reason="implausible") >= 2
        assert sample(reg, "aaas_orchestrator_bad_input_total", reason="not_assigned") >= 1
        assert sample(reg, "aaas_user_bad_input_total", reason="not_assigned") >= 1
        assert bed.orch.cluster.nodes[3].capacity == 1000   # the 10^23 report changed nothing
        assert bed.orch.ledger.crashes == 0 and 0 <= bed.orch.ledger.reward < 1_000


@pytest.mark.parametrize("kind", ["mosquitto", "embedded"])
async def test_anonymous_plain_and_wrong_password_clients_are_refused(tmp_path: Path,
                                                                     kind: str) -> None:
    sc = scenario()
    d, _ = init_security(sc, tmp_path / "sec")
    async with secure_broker(kind, d.root, tmp_path) as url:
        anonymous = url.with_options(secrets_dir=None)
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(**anonymous.client_kwargs(), identifier="anon"):
                pass
        plain = BrokerURL(host="127.0.0.1", port=url.port, username="user-0001",
                          password=d.password_of("user-0001"))
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(**plain.client_kwargs(), identifier="user-0001",
                                      timeout=3):
                pass
        untrusted = ssl.create_default_context()  # the system CAs: not the testbed's
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(hostname="localhost", port=url.port, tls_context=untrusted,
                                      username="user-0001", password=d.password_of("user-0001"),
                                      timeout=3):
                pass
        # A wrong password ends the session at once, with one clear error.
        wrong = url.with_options(secrets_dir=None, username="user-0001", password="nope")
        async with MqttSession(url=wrong, client_id="user-0001") as s:
            with pytest.raises(BrokerRefusedError, match="refused 'user-0001'"):
                await s.wait_connected(10)
        if kind == "embedded":  # amqtt has no use_username_as_clientid: the plugin refuses
            with pytest.raises(aiomqtt.MqttError):
                async with aiomqtt.Client(**url.client_kwargs("user-0001"),
                                          identifier="user-0002"):
                    pass
