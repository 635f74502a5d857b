"""A hand-driven MQTT client and a valid task, for tests that poke services directly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiomqtt
import numpy as np

from aaas import TOPICS, Assignment, BrokerURL, MqttSession, TaskContent, TaskRequest, decode
from aaas.images import checksum, encode_png, random_mask, synthetic_image

__all__ = ["USER", "Probe", "sample", "send_content_if_assigned", "valid_content",
           "valid_request", "valid_task"]

USER = "user-0001"


def valid_task(task_id: str, *, steps: int = 120, image: bytes | None = None,
               user: str = USER) -> tuple[TaskRequest, TaskContent]:
    """A request and the content its user sends the node it is assigned to."""
    rng = np.random.default_rng(1)
    img = image if image is not None else encode_png(synthetic_image(rng, 32))
    mask = encode_png(random_mask(rng, 32))
    req = TaskRequest(task_id=task_id, user_id=user, steps=steps, size=len(img) + len(mask),
                      checksum=checksum(img, mask), sent_at=0.0)
    return req, TaskContent(task_id=task_id, checksum=req.checksum, split=len(img),
                            data=img + mask)


def valid_request(task_id: str, *, steps: int = 120, image: bytes | None = None) -> TaskRequest:
    return valid_task(task_id, steps=steps, image=image)[0]


def valid_content(task_id: str, *, image: bytes | None = None) -> TaskContent:
    return valid_task(task_id, image=image)[1]


def send_content_if_assigned(session: MqttSession, contents: dict[str, TaskContent],
                             topic: str, raw: bytes) -> bool:
    """Act as the user of *contents*' tasks: when (*topic*, *raw*) is an assignment of one
    of them, send its content to the node it names. True when it was an assignment."""
    params = TOPICS.assign.topic.match(topic)
    if params is None:
        return False
    a = decode(raw, Assignment)
    content = contents.get(a.request.task_id)
    if content is not None:
        session.send(TOPICS.content, content, node_id=a.node_id, user_id=params["user_id"])
    return True


class Probe:
    """A hand-driven client that records everything it receives by topic (results, error
    replies). For the tasks it sends with :meth:`send_task` it acts as their user: every
    assignment of one sends its content to the node named (as often as the orchestrator
    sends it); :meth:`assigned` tells which node that was."""

    def __init__(self, url: BrokerURL) -> None:
        self.inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.contents: dict[str, TaskContent] = {}
        self.nodes: dict[str, list[str]] = {}
        """Task id -> the nodes its assignments named, in order."""
        self._assigned = asyncio.Condition()

        async def handler(m: aiomqtt.Message) -> None:
            raw = bytes(m.payload)  # type: ignore[arg-type]
            if send_content_if_assigned(self.session, self.contents, m.topic.value, raw):
                a = decode(raw, Assignment)
                async with self._assigned:
                    self.nodes.setdefault(a.request.task_id, []).append(a.node_id)
                    self._assigned.notify_all()
                return
            await self.inbox.put((m.topic.value, raw))

        self.session = MqttSession(url=url, client_id="probe-user", handler=handler,
                                   subscriptions=[("aaas/v1/users/+/result", 1),
                                                  ("aaas/v1/users/+/error", 1),
                                                  ("aaas/v1/users/+/error/+", 1),
                                                  ("aaas/v1/nodes/+/assign/+", 1),
                                                  ("aaas/v1/nodes/+/error", 1)])

    async def next_on(self, topic: str, timeout: float = 20) -> bytes:
        return (await self.next_where(lambda t: t == topic, timeout))[1]

    async def next_where(self, want: Callable[[str], bool],
                         timeout: float = 20) -> tuple[str, bytes]:
        """The next message whose topic *want* accepts (the others are dropped)."""
        async def wait() -> tuple[str, bytes]:
            while True:
                t, raw = await self.inbox.get()
                if want(t):
                    return t, raw
        return await asyncio.wait_for(wait(), timeout)

    def send_task(self, req: TaskRequest, content: TaskContent | None = None) -> None:
        """Send *req* as its user; *content* goes to every node an assignment of it names
        (None: the test sends content itself)."""
        if content is not None:
            self.contents[req.task_id] = content
        self.session.send(TOPICS.request, req, user_id=req.user_id)

    async def assigned(self, task_id: str, timeout: float = 20, *, times: int = 1) -> str:
        """The node named by the *times*-th assignment of *task_id*."""
        async def wait() -> str:
            async with self._assigned:
                await self._assigned.wait_for(lambda: len(self.nodes.get(task_id, [])) >= times)
                return self.nodes[task_id][times - 1]
        return await asyncio.wait_for(wait(), timeout)


def sample(registry, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return registry.get_sample_value(name, labels) or 0.0
