#!/usr/bin/env python3
"""Bytes through the broker with ``--delivery mqtt`` and ``--delivery webrtc``, side by side.

Runs the same workload (the scenario's, with large content) twice in one process, on
the same broker, seed and wireless channel: once with every image inline in MQTT
payloads, once with the images over WebRTC data channels (signalled over MQTT, their
datagrams through each user's emulated channel). Prints JSON with, per mode, the
tasks and their outcomes, the broker's bytes, the WebRTC bytes, the fallbacks and the
delivery time per MB by path (emulated s, from the user's histogram), and the
broker-bytes reduction; exits 1 when a task was lost or the reduction is under
``--target``.

    .venv/bin/python scripts/bench_delivery.py --users 20 --duration 60000 \\
        --image-size 1024 --image-noise 8 --json runs/bench_delivery.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from msgspec.structs import replace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aaas import BrokerURL, load_scenario
from aaas.datachannel import DeliverySettings
from testbed.demo import DemoOptions, run_demo


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scenario", default="paper")
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--duration", type=float, default=60_000.0,
                   help="emulated seconds of workload (default: 60000)")
    p.add_argument("--time-scale", type=float, default=10_000.0)
    p.add_argument("--image-size", type=int, default=1024)
    p.add_argument("--image-noise", type=float, default=8.0,
                   help="sensor noise (grey levels): 8 makes PNGs photo-sized (default: 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-link", action="store_true", help="bypass the emulated wireless link")
    p.add_argument("--broker", choices=("mosquitto", "embedded"), default="mosquitto")
    p.add_argument("--target", type=float, default=0.90,
                   help="least broker-bytes reduction that passes (default: 0.90)")
    p.add_argument("--json", type=Path, default=None)
    return p


async def _run(args: argparse.Namespace, url: BrokerURL) -> dict[str, Any]:
    base = load_scenario(args.scenario)
    scenario = replace(base, limits=replace(base.limits, image_size=args.image_size,
                                            image_noise=args.image_noise,
                                            max_image_bytes=64 << 20))
    out: dict[str, Any] = {"image_size": args.image_size, "image_noise": args.image_noise,
                           "users": args.users, "duration_s": args.duration,
                           "time_scale": args.time_scale, "link": not args.no_link}
    for mode in ("mqtt", "webrtc"):
        s = await run_demo(DemoOptions(
            scenario=scenario, broker=url, time_scale=args.time_scale, users=args.users,
            duration_s=args.duration, seed=args.seed, link=not args.no_link, progress=False,
            delivery=DeliverySettings(mode=mode)))  # type: ignore[arg-type]
        out[mode] = {"tasks": s["tasks"], "delivery": s["delivery"], "wall_s": s["wall_s"],
                     "latency_s": s["latency_s"], "bytes": s["bytes"]}
    m, w = out["mqtt"]["delivery"]["broker_bytes"], out["webrtc"]["delivery"]["broker_bytes"]
    out["broker_bytes_reduction"] = round(1 - w / m, 4) if m else None
    return out


def main() -> int:
    args = _parser().parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.broker == "mosquitto":
        from broker import MosquittoProcess

        with MosquittoProcess() as proc:
            out = asyncio.run(_run(args, proc.url))
    else:
        from broker import EmbeddedBroker

        async def embedded() -> dict[str, Any]:
            async with EmbeddedBroker() as b:
                return await _run(args, b.url)

        out = asyncio.run(embedded())
    text = json.dumps(out, indent=2)
    print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    lost = out["mqtt"]["tasks"]["lost"] + out["webrtc"]["tasks"]["lost"]
    reduction = out["broker_bytes_reduction"] or 0.0
    return 0 if lost == 0 and reduction >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
