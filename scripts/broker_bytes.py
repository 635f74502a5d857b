#!/usr/bin/env python3
"""Where the broker's bytes go: ``aaas demo`` with every MQTT payload counted by message kind.

Runs the demo in this process (its arguments are ``aaas demo``'s) with paho's publish
and message handling wrapped, so that each payload is counted where it is published and
again where it is delivered, as the demo summary's ``delivery.broker_bytes`` counts them.
After the demo's summary it prints one line per kind (``users/request``,
``nodes/assign``, ...: the area and the kind of ``aaas/v1/{area}/{id}/{kind}/...``) with
its bytes and messages published and delivered, and its bytes per task both ways. A
kind's payload includes the raw content after the JSON where it carries one
(``nodes/content``, ``users/result``).

    .venv/bin/python scripts/broker_bytes.py                 # the default demo
    .venv/bin/python scripts/broker_bytes.py --users 100     # any ``aaas demo`` option

Only the demo's own processes are counted: give it no ``--spread`` (a spread demo's
children are not wrapped).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_bytes: Counter[tuple[str, str]] = Counter()
_messages: Counter[tuple[str, str]] = Counter()


def kind(topic: str) -> str:
    """``aaas/v1/nodes/asp-03/assign/user-0001`` -> ``nodes/assign``."""
    parts = topic.split("/")
    return f"{parts[2]}/{parts[4]}" if len(parts) >= 5 else "/".join(parts[2:4])


def _count(way: str, topic: str, payload: Any) -> None:
    key = (kind(topic), way)
    _bytes[key] += len(payload) if payload else 0
    _messages[key] += 1


def _wrap_paho() -> None:
    """Wrapped by hand: paho has no hook that sees every payload with its topic."""
    publish, handle = paho.Client.publish, paho.Client._handle_on_message

    def counted_publish(self: paho.Client, topic: str, payload: Any = None,
                        *args: Any, **kwargs: Any) -> Any:
        _count("sent", topic, payload)
        return publish(self, topic, payload, *args, **kwargs)

    def counted_handle(self: paho.Client, message: paho.MQTTMessage) -> None:
        _count("delivered", message.topic, message.payload)
        handle(self, message)

    paho.Client.publish = counted_publish  # type: ignore[method-assign]
    paho.Client._handle_on_message = counted_handle  # type: ignore[method-assign]


def table(tasks: int) -> str:
    kinds = sorted({k for k, _ in _bytes},
                   key=lambda k: -(_bytes[k, "sent"] + _bytes[k, "delivered"]))
    lines = [f"{'kind':16} {'published':>12} {'delivered':>12} {'messages':>15} "
             f"{'bytes/task':>10}"]
    for k in kinds:
        both = _bytes[k, "sent"] + _bytes[k, "delivered"]
        lines.append(f"{k:16} {_bytes[k, 'sent']:>12,} {_bytes[k, 'delivered']:>12,} "
                     f"{_messages[k, 'sent']:>7,}/{_messages[k, 'delivered']:<7,} "
                     f"{both / max(tasks, 1):>10,.0f}")
    total = sum(_bytes.values())
    lines.append(f"{'total':16} {total:>25,} {'':15} {total / max(tasks, 1):>10,.0f}"
                 f"   ({tasks} tasks)")
    return "\n".join(lines)


def main() -> int:
    _wrap_paho()
    from testbed.cli import main as aaas

    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        rc = aaas(["demo", "--no-spread", *sys.argv[1:], "--json", str(summary)])
        tasks = json.loads(summary.read_text())["tasks"]["sent"] if summary.exists() else 0
    print(table(tasks))
    return rc


if __name__ == "__main__":
    sys.exit(main())
