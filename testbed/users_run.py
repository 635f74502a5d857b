"""The users' run, shared by ``aaas demo`` and ``aaas user-agent``.

Both send the workload's arrivals on the emulated clock, stop sending when the stop
event is set (the first Ctrl-C), then wait for the answers (:func:`drain_answers`) and
count what has none by then lost. The demo also shows its progress (rich).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aaas.clock import EmulatedClock
from aaas.config import Scenario
from aaas.datachannel import DeliverySettings

if TYPE_CHECKING:  # the user agent is imported by the commands that run it
    from user_agent import Arrival, UserAgent

__all__ = ["DRAIN_QUIET_WALL_S", "connect_users", "drain_answers", "drain_time_s", "run_users"]

_log = logging.getLogger("aaas.user")

DRAIN_QUIET_WALL_S = 2.0
"""The drain goes on while answers keep coming: it ends once none came for this many wall
seconds (or the emulated drain time, if longer)."""

TICK_S = 0.25
"""Wall seconds between looks at the stop event and updates of the progress bar."""


def drain_time_s(scenario: Scenario, delivery: DeliverySettings, clock: EmulatedClock) -> float:
    """Emulated seconds to wait for answers after the last send: the longest task's answer
    deadline (:meth:`aaas.config.Scenario.answer_deadline_s`) plus, with WebRTC, the wall
    time its fallbacks may take (real network work)."""
    return (scenario.answer_deadline_s(scenario.workload.steps_max)
            + delivery.grace_wall_s() * clock.scale)


async def run_users(agent: UserAgent, arrivals: Sequence[Arrival], *, clock: EmulatedClock,
                    stop: asyncio.Event, drain_s: float, progress: bool = False,
                    log: logging.Logger = _log) -> None:
    """Send *arrivals* from now on, then wait for the answers (:func:`drain_answers`, for
    *drain_s* emulated seconds after the last one); every task then has its outcome.

    A set *stop* ends the sending, or the wait, at once: what has no answer is lost.
    *progress* shows a bar of the tasks answered (rich).
    """
    start = clock.now()
    stopper = asyncio.create_task(stop.wait(), name="users-stop")
    try:
        with _AnswerBar(agent, clock, start=start, total=len(arrivals), enabled=progress) as bar:
            sender = asyncio.create_task(agent.run(arrivals, start=start), name="users-send")
            await _until(sender, stopper, bar)
            if stopper.done() and not sender.done():
                log.warning("stopped early: %d of %d tasks were sent",
                            agent.summary().tasks.sent, len(arrivals))
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            drain = asyncio.create_task(drain_answers(
                agent, clock, 0.0 if stopper.done() else drain_s), name="users-drain")
            await _until(drain, stopper, bar)
            if not drain.done():  # stopped while draining: the rest is lost now
                drain.cancel()
                await asyncio.gather(drain, return_exceptions=True)
                await agent.drain(0.0)
            bar.finish()
    finally:
        stopper.cancel()


async def _until(task: asyncio.Task[None], stopper: asyncio.Task[Any],
                 bar: _AnswerBar) -> None:
    """Wait until *task* or *stopper* is done, updating *bar* meanwhile."""
    while not task.done() and not stopper.done():
        bar.update()
        await asyncio.wait({task, stopper}, timeout=TICK_S, return_when=asyncio.FIRST_COMPLETED)


async def drain_answers(agent: UserAgent, clock: EmulatedClock, drain_s: float) -> None:
    """Wait for the answers; what has none by the end is lost.

    The end is *drain_s* emulated seconds after the last answer, and at least
    :data:`DRAIN_QUIET_WALL_S` wall seconds after it: a testbed that falls behind its
    clock (an overrun, which the demo summary's ``emulation`` reports) slows down instead
    of declaring tasks lost that are still on their way. At high time scales the
    emulated drain is a fraction of a wall second, less than a busy broker's queue.
    Nor does it end while a task may still be recovered (``UserAgent.recovering``: its
    user has not yet asked again after its resend wait, or asked less than a wait
    ago): a request lost on the way, or a user the link cut off and whose session is
    reconnecting, is answered after the resend; each task's deadline bounds the wait.
    """
    quiet_s = max(clock.to_wall(drain_s), DRAIN_QUIET_WALL_S)
    seen, since = agent.outstanding, time.monotonic()
    while agent.outstanding and (time.monotonic() - since < quiet_s or agent.recovering):
        await asyncio.sleep(0.05)
        if agent.outstanding != seen:
            seen, since = agent.outstanding, time.monotonic()
    await agent.drain(0.0)


class _AnswerBar:
    """The "tasks answered" bar (rich), with the emulated hours run; a no-op when not
    *enabled*."""

    def __init__(self, agent: UserAgent, clock: EmulatedClock, *, start: float, total: int,
                 enabled: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.agent, self.clock, self.start = agent, clock, start
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("emulated {task.fields[hours]:.0f} h"), TimeRemainingColumn(),
            disable=not enabled)
        self.task = self.progress.add_task("tasks answered", total=total, hours=0.0)

    def __enter__(self) -> _AnswerBar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def update(self) -> None:
        answered = len(self.agent.records) - self.agent.outstanding
        self.progress.update(self.task, completed=answered,
                             hours=(self.clock.now() - self.start) / 3600)

    def finish(self) -> None:
        n = len(self.agent.records)
        self.progress.update(self.task, total=n, completed=n)


async def connect_users(agent: UserAgent, *, stop: asyncio.Event, progress: bool = False,
                        timeout_s: float = 60.0, log: logging.Logger = _log) -> None:
    """Wait until every user is connected, or *timeout_s* (wall) passed, or *stop*.

    Users that are not connected by then keep trying on their own (a user in a
    deep fade may never connect); their requests wait in their outboxes.
    """
    from rich.progress import Progress

    total = len(agent.sessions)
    deadline = time.monotonic() + timeout_s
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("connecting users", total=total)
        while (n := agent.connected) < total and time.monotonic() < deadline \
                and not stop.is_set():
            bar.update(task, completed=n)
            await asyncio.sleep(0.1)
    if agent.connected < total:
        log.warning("%d of %d users connected; the rest keep trying", agent.connected, total)
    else:
        log.info("%d users connected", total)
