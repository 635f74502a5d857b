"""Users who ask again (``[workload.repeats]``), live: the decision, for the agent to act on.

A user whose result's quality is below its own threshold (``aaas.repeats``: drawn once
per user from the scenario's seed, the same the simulator uses), or whose task crashed
or was rejected, sends the task again (a new task id, ``<id>-r<n>``, the same steps)
``delay_s`` after the answer, up to ``max_repeats`` times. :class:`RepeatAsker` only
decides; the user agent sends the repeat and counts it and the payload bytes it costs
(request up, result down) in the metrics and the summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from aaas import Outcome, Scenario
from aaas.repeats import asks_again, user_thresholds

from .qos import TaskRecord

__all__ = ["Repeat", "RepeatAsker"]

_NO_CONTENT = frozenset({Outcome.CRASHED, Outcome.REJECTED})


@dataclass(frozen=True, kw_only=True)
class Repeat:
    """Ask again for a settled task: what to send, and when."""

    task_id: str
    """The repeat's own task id (``<first id>-r<n>``)."""
    user_id: str
    steps: int
    domain: str
    """The same content domain as the task it asks again for."""
    repeat: int
    """n for the n-th time its user asks again."""
    repeat_of: str
    """The task id of the first request."""
    delay_s: float
    """Emulated seconds after the answer."""


class RepeatAsker:
    """Decides the repeats of one user agent's users."""

    def __init__(self, scenario: Scenario) -> None:
        self.rule = scenario.workload.repeats
        self.threshold = dict(zip(scenario.user_ids(), user_thresholds(scenario).tolist(),
                                  strict=True))

    def settled(self, rec: TaskRecord) -> Repeat | None:
        """What to do once *rec* got its outcome: a repeat, or nothing."""
        if rec.outcome is Outcome.FINISHED:
            quality = rec.quality
        elif rec.outcome in _NO_CONTENT:
            quality = None
        else:
            return None  # an error or no answer: not the content's fault
        threshold = self.threshold.get(rec.user_id, 0.0)
        if quality is not None and quality >= threshold:
            return None
        if not asks_again(self.rule, quality, threshold, rec.repeat):
            return None
        root = rec.repeat_of or rec.task_id
        return Repeat(task_id=f"{root}-r{rec.repeat + 1}", user_id=rec.user_id, steps=rec.steps,
                      domain=rec.domain,
                      repeat=rec.repeat + 1, repeat_of=root, delay_s=self.rule.delay_s)
