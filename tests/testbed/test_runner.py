"""The service runner: signals stop services; dropped-connection noise stays quiet."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import aiomqtt
import pytest

from testbed.runner import _quiet_mqtt_disconnects, run_until_stopped


def test_first_signal_stops_cleanly_with_the_services_code() -> None:
    async def service(stop: asyncio.Event) -> int:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
        await asyncio.wait_for(stop.wait(), 5)
        return 0

    assert run_until_stopped(service) == 0


def test_dropped_connection_echoes_are_debug_and_other_errors_are_not(
        caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.DEBUG):
            _quiet_mqtt_disconnects(loop, {"message": "x",
                                           "exception": aiomqtt.MqttError("gone")})
            _quiet_mqtt_disconnects(loop, {"message": "x", "exception": OSError(9, "bad fd"),
                                           "handle": "<Handle Loop.add_writer(7, cb)>"})
            _quiet_mqtt_disconnects(loop, {"message": "real trouble",
                                           "exception": ValueError("bug")})
    finally:
        loop.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["real trouble"]
