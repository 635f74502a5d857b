#!/usr/bin/env python3
"""Benchmark the link proxy (perfect channel) against a direct connection, side by side.

Prints JSON:

* ``small``: end-to-end wall time of N QoS 1 publishes of S bytes (publisher and
  subscriber both through the proxy, vs both direct) and their ratio;
* ``large``: MB/s of large QoS 1 payloads delivered end to end, through the proxy
  and direct.

The broker (Mosquitto by default, or the embedded amqtt broker) and the proxy
each run in their own process, as on a testbed; the clients are paho.

    .venv/bin/python scripts/bench_link.py [--broker mosquitto|embedded] [--messages 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from broker import free_port, wait_port


def _run_proxy(upstream_port: int, listen_port: int) -> None:
    import numpy as np

    from aaas import BrokerURL
    from link import LinkProfiles, LinkProxy

    async def main() -> None:
        async with LinkProxy(upstream=BrokerURL(port=upstream_port), listen_port=listen_port,
                             profiles=LinkProfiles.perfect(), rng=np.random.default_rng(0),
                             control=False):
            await asyncio.Event().wait()

    asyncio.run(main())


def _run_embedded(port: int) -> None:
    from broker import EmbeddedBroker

    async def main() -> None:
        async with EmbeddedBroker(port=port):
            await asyncio.Event().wait()

    asyncio.run(main())


INFLIGHT = 20
"""QoS 1 messages a client (and Mosquitto, per subscriber) may have unacknowledged."""


def _client(port: int, cid: str) -> paho.Client:
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=cid, protocol=paho.MQTTv311)
    c.max_inflight_messages_set(INFLIGHT)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def _round(port: int, n: int, size: int, tag: str) -> float:
    """Seconds from the first publish until the subscriber has all *n* messages."""
    topic = f"bench/{tag}"
    done = threading.Event()
    count = 0
    subscribed = threading.Event()

    def on_message(_c: paho.Client, _u: object, _m: paho.MQTTMessage) -> None:
        nonlocal count
        count += 1
        if count >= n:
            done.set()

    sub = _client(port, f"sub-{tag}")
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.subscribe(topic, 1)
    subscribed.wait(10)
    pub = _client(port, f"pub-{tag}")
    payload = b"x" * size
    start = time.perf_counter()
    for _ in range(n):
        pub.publish(topic, payload, qos=1)
    if not done.wait(600):
        raise RuntimeError(f"{tag}: only {count}/{n} messages arrived")
    elapsed = time.perf_counter() - start
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return elapsed


def _broker(kind: str) -> tuple[int, object]:
    port = free_port()
    if kind == "mosquitto":
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = Path(tempfile.mkdtemp()) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                        f"max_inflight_messages {INFLIGHT}\n"
                        "max_queued_messages 0\nmessage_size_limit 0\n")
        proc: object = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
    else:
        proc = mp.get_context("spawn").Process(target=_run_embedded, args=(port,), daemon=True)
        proc.start()  # type: ignore[attr-defined]
    wait_port(port)
    return port, proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", choices=["mosquitto", "embedded"], default="mosquitto")
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--large-bytes", type=int, default=1_000_000)
    ap.add_argument("--large-count", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the best of each is kept")
    ap.add_argument("--inflight", type=int, default=20,
                    help="QoS 1 window of the clients and of Mosquitto (default 20, both defaults)")
    args = ap.parse_args()
    global INFLIGHT
    INFLIGHT = args.inflight

    broker_port, broker_proc = _broker(args.broker)
    proxy_port = free_port()
    proxy = mp.get_context("spawn").Process(target=_run_proxy, args=(broker_port, proxy_port),
                                            daemon=True)
    proxy.start()
    try:
        wait_port(proxy_port)
        small = {"direct": [], "proxy": []}
        large = {"direct": [], "proxy": []}
        for i in range(args.repeat):  # interleaved, so both see the same machine load
            for name, port in (("direct", broker_port), ("proxy", proxy_port)):
                small[name].append(_round(port, args.messages, args.size, f"s{name}{i}"))
                t = _round(port, args.large_count, args.large_bytes, f"l{name}{i}")
                large[name].append(args.large_count * args.large_bytes / t / 1e6)
        result = {
            "broker": args.broker,
            "inflight": args.inflight,
            "small": {"messages": args.messages, "bytes": args.size,
                      "direct_s": min(small["direct"]), "proxy_s": min(small["proxy"]),
                      "ratio": min(small["proxy"]) / min(small["direct"]),
                      "overhead_pct": 100 * (min(small["proxy"]) / min(small["direct"]) - 1)},
            "large": {"payload_bytes": args.large_bytes, "count": args.large_count,
                      "direct_MBps": max(large["direct"]), "proxy_MBps": max(large["proxy"]),
                      "ratio": max(large["proxy"]) / max(large["direct"])},
        }
        print(json.dumps(result, indent=2))
    finally:
        proxy.terminate()
        if isinstance(broker_proc, subprocess.Popen):
            broker_proc.terminate()
        else:
            broker_proc.terminate()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
