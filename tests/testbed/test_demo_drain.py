"""The demo's drain does not cut off a task that its user may still recover."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from aaas import TOPICS, BrokerURL
from aaas.schemas import Outcome
from monitoring import UserMetrics
from testbed.users_run import DRAIN_QUIET_WALL_S, drain_answers
from tests.helpers.stack import running_stack, small_scenario
from user_agent import Arrival, ImageSource, UserAgent


@pytest.mark.mosquitto
async def test_a_request_lost_on_the_way_is_answered_before_the_run_ends(
        mosquitto: BrokerURL) -> None:
    """The request vanishes after the broker took it (as when the broker dies without
    persistence). The user asks again after its resend wait, which here is longer than
    the drain's quiet time: the run must wait for that answer, not count the task lost."""
    scenario = small_scenario(asps=2, users=1)
    async with running_stack(mosquitto, scenario, scale=20_000) as stack:
        agent = UserAgent(scenario=scenario, user_ids=["user-0000"], url=mosquitto,
                          clock=stack.clock, metrics=UserMetrics(stack.registry),
                          images=ImageSource(size=32, rng=np.random.default_rng(0)),
                          resend_min_s=DRAIN_QUIET_WALL_S + 1.5)
        async with agent:
            await agent.wait_connected(10)
            session = agent.sessions["user-0000"]
            send = session.send
            dropped: list[str] = []

            def lossy(route: Any, payload: Any, **params: str) -> None:
                if route is TOPICS.request and not dropped:
                    dropped.append(payload.task_id)
                    return
                send(route, payload, **params)

            session.send = lossy  # type: ignore[method-assign]
            rec = agent.send(Arrival(index=0, at=0.0, user_id="user-0000", steps=100),
                             task_id="drain-t000000")
            await drain_answers(agent, stack.clock, drain_s=0.0)
    assert dropped == ["drain-t000000"]
    assert rec.outcome is Outcome.FINISHED, (rec.outcome, rec.error)
