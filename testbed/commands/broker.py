"""``aaas broker``: the embedded MQTT broker as a process of its own."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from testbed.options import Subparsers

if TYPE_CHECKING:
    from aaas.clock import EmulatedClock


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "broker", help="run the embedded MQTT 3.1.1 broker (amqtt) until Ctrl-C",
        description="Run the embedded pure-Python broker. For testbeds prefer Mosquitto with "
        "broker/mosquitto.conf.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=1883, help="port (default: 1883; 0: any free)")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from broker import EmbeddedBroker
    from testbed.service import Service

    async def serve(_clock: EmulatedClock, stop: asyncio.Event) -> int:
        async with EmbeddedBroker(host=args.host, port=args.port):
            await stop.wait()
        return 0

    return Service.from_args(args).run(serve)
