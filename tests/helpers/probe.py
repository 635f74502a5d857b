"""A hand-driven MQTT client and a valid request, for tests that poke services directly."""

from __future__ import annotations

import asyncio

import aiomqtt
import numpy as np

from aaas import BrokerURL, MqttSession, TaskRequest
from aaas.images import checksum, encode_png, random_mask, synthetic_image

__all__ = ["USER", "Probe", "sample", "valid_request"]

USER = "user-0001"


def valid_request(task_id: str, *, steps: int = 120, image: bytes | None = None) -> TaskRequest:
    rng = np.random.default_rng(1)
    img = image if image is not None else encode_png(synthetic_image(rng, 32))
    mask = encode_png(random_mask(rng, 32))
    return TaskRequest(task_id=task_id, user_id=USER, steps=steps, image=img, mask=mask,
                       checksum=checksum(img, mask), sent_at=0.0)


class Probe:
    """A hand-driven client that records everything it receives by topic."""

    def __init__(self, url: BrokerURL) -> None:
        self.inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

        async def handler(m: aiomqtt.Message) -> None:
            await self.inbox.put((m.topic.value, bytes(m.payload)))  # type: ignore[arg-type]

        self.session = MqttSession(url=url, client_id="probe-user", handler=handler,
                                   subscriptions=[("aaas/v1/users/+/result", 1),
                                                  ("aaas/v1/users/+/error", 1),
                                                  ("aaas/v1/nodes/+/error", 1)])

    async def next_on(self, topic: str, timeout: float = 20) -> bytes:
        async def wait() -> bytes:
            while True:
                t, raw = await self.inbox.get()
                if t == topic:
                    return raw
        return await asyncio.wait_for(wait(), timeout)


def sample(registry, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return registry.get_sample_value(name, labels) or 0.0
