"""Large content through the lossy link, on a real broker (docs/link.md, docs/protocol.md).

The link here closes a user's connection in the middle of every long content transfer,
as a channel does whose fades come more often than a large message takes to cross: each
1500-byte frame of a content message has a 2 % chance to end the connection there. A
content sent as one message (440 KB, 300 frames) then crosses once in 400 tries; in
64 KiB pieces, each acknowledged piece stays delivered across the reconnects. Every task
must end in exactly one outcome at its user: finished for the user whose transfer is
slow, ``undeliverable`` (never ``lost``) for the one whose content can never cross.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from prometheus_client import CollectorRegistry

from aaas import BrokerURL, Outcome
from link import Fault, LinkProxy, load_link_profiles, register_fault
from monitoring import UserMetrics
from tests.helpers.stack import running_stack, small_scenario
from user_agent import Arrival, ImageSource, UserAgent

if TYPE_CHECKING:
    from link import Air, Transmission

SLOW, CUT_OFF = "user-0001", "user-0002"


@register_fault
@dataclass(frozen=True, kw_only=True)
class ContentFade(Fault):
    """Close the connection in the middle of a content message: each of its frames ends
    the connection with probability ``p`` (the close comes when that frame is sent)."""

    name = "test_content_fade"
    p: float = 0.02

    def apply(self, tx: Transmission, air: Air) -> None:
        if tx.closed is not None or b"/content/" not in tx.packet[:160]:
            return
        frames = -(-len(tx.packet) // 1500)
        cut = int(air.rng.geometric(self.p)) if self.p < 1 else 1
        if cut <= frames:
            tx.end_s = tx.start_s + (tx.end_s - tx.start_s) * cut / frames
            tx.closed = "retry_limit"


def _scenario():  # type: ignore[no-untyped-def]
    return small_scenario(asps=2, users=5, limits={"image_size": 384, "image_noise": 64.0},
                          link={"default": {"pathloss": "none", "fading": "none",
                                            "rate_bps": 1e8},
                                "user": [{"ids": [SLOW], "faults": [
                                    {"fault": "test_content_fade", "p": 0.02}]},
                                         {"ids": [CUT_OFF], "faults": [
                                    {"fault": "test_content_fade", "p": 1.0}]}]})


async def test_large_content_survives_closes_mid_transfer_and_every_task_has_one_outcome(
        mosquitto: BrokerURL) -> None:
    scenario = _scenario()
    async with running_stack(mosquitto, scenario) as stack, LinkProxy(
            upstream=mosquitto, profiles=load_link_profiles(scenario), clock=stack.clock,
            rng=np.random.default_rng(3), registry=CollectorRegistry()) as link:
        for node in stack.nodes:
            node.content_wait_floor_s = 3.0
        metrics = UserMetrics(CollectorRegistry())
        agent = UserAgent(scenario=scenario, user_ids=[SLOW, CUT_OFF], url=link.url,
                          clock=stack.clock, metrics=metrics, max_retries=1,
                          images=ImageSource(size=384, noise=64.0, pool=2,
                                             rng=np.random.default_rng(0)),
                          resend_min_s=5.0, lost_after_s=25.0)
        async with agent:
            await agent.wait_connected(20)
            recs = [agent.send(Arrival(index=i, at=0.0, user_id=user, steps=100),
                               task_id=f"big-{user}-{i}")
                    for i, user in enumerate((SLOW, SLOW, CUT_OFF))]
            started = time.monotonic()
            await agent.drain(1.0)
        closed = link.stats().closed_by_link
    assert closed >= 3, "the link closed no transfer in the middle"
    outcomes = [r.outcome for r in recs]
    assert outcomes == [Outcome.FINISHED, Outcome.FINISHED, Outcome.UNDELIVERABLE], \
        (outcomes, [r.error for r in recs], time.monotonic() - started)
    summary = agent.summary()
    assert summary.tasks.sent == 3 and summary.tasks.undeliverable == 1
    assert summary.tasks.lost == 0
    assert metrics.outcomes.labels("undeliverable")._value.get() == 1
