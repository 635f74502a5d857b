#!/usr/bin/env python3
"""Benchmark one MqttSession's publish-and-receive loop: the loop's own writes against
aiomqtt's writer per packet, side by side on one private Mosquitto.

The session subscribes to its own topic and publishes N QoS 1 messages; the time runs
until all N came back. Each round runs both ways (``aaas.mqtt._write_from_the_loop``
on, and off: aiomqtt's ``add_writer`` for every packet), alternating; prints JSON with
the median seconds of each and their ratio (docs/performance.md).

    .venv/bin/python scripts/bench_mqtt_session.py [--messages 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aaas.mqtt as mqtt
from broker.mosquitto import MosquittoProcess

WRITE_FROM_THE_LOOP = mqtt._write_from_the_loop


async def _one_run(url: mqtt.BrokerURL, n: int, tag: str) -> float:
    got = 0
    done = asyncio.Event()

    async def on_message(_msg: Any) -> None:
        nonlocal got
        got += 1
        if got == n:
            done.set()

    async with mqtt.MqttSession(url=url, client_id=f"bench-{tag}",
                                subscriptions=[(f"bench/{tag}", 1)],
                                handler=on_message) as session:
        await session.wait_connected(10)
        t0 = time.perf_counter()
        for i in range(n):
            session.publish_raw(f"bench/{tag}", str(i).encode())
        await asyncio.wait_for(done.wait(), 300)
        return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    times: dict[str, list[float]] = {"loop_writes": [], "aiomqtt_writer": []}
    with MosquittoProcess() as broker:
        for r in range(args.rounds):
            for way in times:
                mqtt._write_from_the_loop = (WRITE_FROM_THE_LOOP if way == "loop_writes"
                                             else lambda _client: None)
                times[way].append(asyncio.run(_one_run(broker.url, args.messages, f"{way}{r}")))
    med = {way: statistics.median(t) for way, t in times.items()}
    print(json.dumps({"messages": args.messages, "rounds": args.rounds,
                      "median_s": {k: round(v, 3) for k, v in med.items()},
                      "ratio": round(med["loop_writes"] / med["aiomqtt_writer"], 3),
                      "runs_s": {k: [round(x, 3) for x in v] for k, v in times.items()}},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
