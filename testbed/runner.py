"""Run a service until SIGINT/SIGTERM, then shut it down cleanly.

The first signal sets the stop event the service waits on, so it leaves its
context managers in order (status offline, queues flushed, broker stopped).
A second signal cancels the main task outright.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from aaas.mqtt import ON_REFUSED, BrokerRefusedError

__all__ = ["freeze_heap", "run_until_stopped"]

log = logging.getLogger("aaas")


def freeze_heap() -> None:
    """Keep the garbage collector's full collections short during a run: call once the
    set-up is done (services built, clients connected).

    A full collection walks every tracked object; with the demo's 1000 users' clients,
    the services and torch loaded, one paused the event loop for 177 ms inside a x10^5
    run (17,700 emulated seconds, up to a task's runtime; docs/performance.md).
    ``gc.freeze`` moves what exists now out of the collector's reach for good, so a
    later full collection walks only what the run made. The set-up's objects live
    until the process ends anyway.
    """
    gc.collect()
    gc.freeze()


def _quiet_mqtt_disconnects(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Quiet the asyncio-level echoes of a dropped MQTT connection.

    aiomqtt leaves a future with the disconnect error unread when a connection
    drops (a broker restart, the link closing a connection), and paho may ask the
    loop to watch a socket that has just closed: both are normal events here, which
    MqttSession already logs and recovers from. Everything else is reported as usual.
    """
    exc = context.get("exception")
    if exc is not None and type(exc).__module__.startswith("aiomqtt"):
        log.debug("connection dropped: %s", exc)
        return
    # paho asks (from its callbacks) to watch a socket that has closed by the time
    # the loop gets to it: the same dropped connection, seen from the selector.
    handle = repr(context.get("handle", ""))
    if isinstance(exc, OSError) and ("add_writer(" in handle or "add_reader(" in handle):
        log.debug("socket closed before the loop could watch it: %s", exc)
        return
    loop.default_exception_handler(context)


def run_until_stopped(main: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    """``asyncio.run`` *main(stop)*; returns its exit code.

    A service that shut down cleanly on a signal returns 0; a job cut short
    (the demo) returns 130 itself; a forced stop (second signal) gives 130.
    """

    async def wrapper() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        signals = 0

        def on_signal(signum: int) -> None:
            nonlocal signals
            signals += 1
            if signals == 1:
                log.warning("%s received: shutting down (again to force)",
                            signal.Signals(signum).name)
                stop.set()
            elif task is not None:
                task.cancel()

        refused: list[BrokerRefusedError] = []

        def on_refused(exc: BrokerRefusedError) -> None:
            # Wrong credentials do not get better by retrying: stop, and say so once.
            if not refused:
                refused.append(exc)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        loop.set_exception_handler(_quiet_mqtt_disconnects)
        ON_REFUSED.set(on_refused)
        try:
            code = await main(stop)
        except asyncio.CancelledError:
            return 130
        if refused:
            raise refused[0]
        return code

    return asyncio.run(wrapper())
