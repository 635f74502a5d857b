"""The secure embedded broker keeps broadcasting while clients subscribe.

amqtt 0.12 walks its subscription table and awaits the ACL plugin for each
subscriber; a SUBSCRIBE (or a session going away) that lands during that await
changes the table, the walk raises ``RuntimeError: dictionary changed size during
iteration`` and the message being broadcast is dropped for everyone. CI lost an
edge node's ``online`` status this way. And a client that disconnects right after
its last PUBACK lost that message: amqtt left the loop and cancelled the delivery.
This test publishes a stream (the last at QoS 1, then disconnects at once) while
other identities keep subscribing to new filters, and counts what the observer got.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest

from broker.embedded_secure import SecureEmbeddedBroker
from broker.security import init_security
from tests.helpers.stack import small_scenario

pytestmark = pytest.mark.slow

R = "aaas/v1"
MESSAGES = 1500


async def test_broadcasts_survive_concurrent_subscribes(tmp_path: Path) -> None:
    sc = small_scenario(asps=2, users=12)
    d, _ = init_security(sc, tmp_path / "sec")
    users = sc.user_ids()
    async with SecureEmbeddedBroker(d.root) as broker:
        url = broker.url
        got: list[str] = []
        async with aiomqtt.Client(**url.client_kwargs("observer"), identifier="observer") as obs:
            await obs.subscribe(f"{R}/users/{users[0]}/request", 1)

            async def observe() -> None:
                async for m in obs.messages:
                    got.append(bytes(m.payload).decode())
                    if len(got) == MESSAGES:
                        return

            async def subscribe_churn(user: str) -> None:
                # Each connect/subscribe/disconnect adds and removes table entries.
                for _ in range(15):
                    async with aiomqtt.Client(**url.client_kwargs(user), identifier=user,
                                              clean_session=True) as c:
                        await c.subscribe(f"{R}/users/{user}/result", 1)
                        await c.subscribe(f"{R}/users/{user}/error", 1)

            async def publish() -> None:
                async with aiomqtt.Client(**url.client_kwargs(users[0]),
                                          identifier=users[0]) as pub:
                    for i in range(MESSAGES):  # at QoS 0: many broadcasts in flight
                        # the last at QoS 1: its PUBACK means the broker has them all
                        qos = 1 if i == MESSAGES - 1 else 0
                        await pub.publish(f"{R}/users/{users[0]}/request", f"{i}", qos=qos)
                        if i % 20 == 0:
                            await asyncio.sleep(0.005)

            watcher = asyncio.create_task(observe())
            await asyncio.gather(publish(), *(subscribe_churn(u) for u in users[1:]))
            try:
                async with asyncio.timeout(15):
                    await watcher
            except TimeoutError:
                watcher.cancel()
    missing = sorted(set(map(str, range(MESSAGES))) - set(got), key=int)
    assert not missing, f"the broker dropped messages {missing}"
