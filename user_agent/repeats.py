"""Users who ask again (``[workload.repeats]``), live: a small hook of the user agent.

A user whose result's quality is below its own threshold (``aaas.repeats``: drawn once
per user from the scenario's seed, the same the simulator uses), or whose task crashed
or was rejected, sends the task again (a new task id, ``<id>-r<n>``, the same steps)
``delay_s`` after the answer, up to ``max_repeats`` times. Repeats and the payload bytes
they cost (request up, result down) are counted in the metrics and the summary.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aaas import Outcome, Scenario
from aaas.repeats import asks_again, user_thresholds

from .workload import Arrival

if TYPE_CHECKING:
    from .agent import UserAgent
    from .qos import TaskRecord

__all__ = ["RepeatAsker"]

_NO_CONTENT = frozenset({Outcome.CRASHED, Outcome.REJECTED})


class RepeatAsker:
    """Decides and sends the repeats of one user agent's users."""

    def __init__(self, scenario: Scenario) -> None:
        self.rule = scenario.workload.repeats
        self.threshold = dict(zip(scenario.user_ids(), user_thresholds(scenario).tolist(),
                                  strict=True))
        self._tasks: set[asyncio.Task[None]] = set()

    def settled(self, agent: UserAgent, rec: TaskRecord) -> None:
        """Called when *rec* got its outcome, before it stops being outstanding."""
        if rec.repeat:
            agent.metrics.repeat_bytes.labels("received").inc(rec.bytes_down)
        if rec.outcome is Outcome.FINISHED:
            quality = rec.quality
        elif rec.outcome in _NO_CONTENT:
            quality = None
        else:
            return  # an error or no answer: not the content's fault
        if quality is not None and quality >= self.threshold.get(rec.user_id, 0.0):
            return
        if not asks_again(self.rule, quality, self.threshold.get(rec.user_id, 0.0), rec.repeat):
            return
        if self.rule.delay_s <= 0:
            self._send(agent, rec)
            return
        agent._outstanding += 1  # held for the repeat, so drain() waits for it
        task = asyncio.get_running_loop().create_task(self._later(agent, rec))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _later(self, agent: UserAgent, rec: TaskRecord) -> None:
        try:
            await agent.clock.sleep(self.rule.delay_s)
        finally:
            agent._outstanding -= 1
        self._send(agent, rec)

    def _send(self, agent: UserAgent, rec: TaskRecord) -> None:
        root = rec.repeat_of or rec.task_id
        arrival = Arrival(index=-1, at=0.0, user_id=rec.user_id, steps=rec.steps)
        new = agent.send(arrival, task_id=f"{root}-r{rec.repeat + 1}")
        new.repeat, new.repeat_of = rec.repeat + 1, root
        agent.metrics.repeats.inc()
        agent.metrics.repeat_bytes.labels("sent").inc(new.bytes_up)
        agent.log.info("%s: asking again for %s (quality %s, repeat %d)", rec.user_id, root,
                       rec.quality, new.repeat)
