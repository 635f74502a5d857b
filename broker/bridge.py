"""Federated brokers: a Mosquitto bridge from a site broker to the core broker.

A site (an edge site: its users and its edge nodes) runs its own Mosquitto; the
orchestrator (and the operators' tools) talk to the core broker. The site broker
carries a bridge to the core whose ``topic`` lines are made from the route table
(:data:`aaas.TOPICS`), so a new route is bridged the day it is added:

* a route goes **out** (site -> core) when a role that lives at a site sends it;
* it comes **in** (core -> site) when a role that lives at a site receives it;
* both, when both hold (a result from a node at site A to a user at site B goes
  A -> core -> B; a node's status, and its last will, reach every site).

Each line carries the route's QoS. The bridge's session is persistent
(``cleansession false``) so QoS 1 messages queued while the link to the core is down
are delivered when it is back, and ``try_private`` keeps a message that came in over
the bridge from being sent back out of it (no loops with ``both``).

``python -m broker.bridge --site NAME --core mqtt://HOST:PORT`` prints the lines to
append to the site broker's mosquitto.conf (``broker/mosquitto-bridge.conf.example``
is its output for a site ``site-a``; a test keeps the two equal).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from aaas import TOPICS, BrokerURL, Role, Route

__all__ = ["CORE_ROLES", "SITE_ROLES", "bridge_config", "bridge_topics", "direction"]

SITE_ROLES = frozenset({Role.USER, Role.EDGE_NODE, Role.LINK})
"""The roles that run at an edge site, on the site broker."""
CORE_ROLES = frozenset({Role.ORCHESTRATOR, Role.OPERATOR})
"""The roles that run at the core, on the core broker."""


def _expand(roles: frozenset[Role]) -> frozenset[Role]:
    return SITE_ROLES | CORE_ROLES if Role.ANY in roles else roles


def direction(route: Route[Any], site_roles: frozenset[Role] = SITE_ROLES) -> str | None:
    """``out``, ``in``, ``both`` or None (the route never crosses the bridge)."""
    out = bool(_expand(route.senders) & site_roles)
    into = bool(_expand(route.receivers) & site_roles)
    if out and into:
        return "both"
    return "out" if out else "in" if into else None


def bridge_topics(routes: Sequence[Route[Any]] | None = None) -> list[str]:
    """The bridge's ``topic PATTERN DIRECTION QOS`` lines, one per route that crosses."""
    lines = []
    for route in routes if routes is not None else TOPICS.all():
        d = direction(route)
        if d is not None:
            lines.append(f"topic {route.topic.filter} {d} {route.qos}")
    return lines


def bridge_config(*, site: str, core: BrokerURL, keepalive_s: int = 30,
                  restart_s: tuple[int, int] = (1, 10)) -> str:
    """The lines that make a site's Mosquitto bridge to *core* (append to its config).

    The core broker needs nothing special: the bridge is an ordinary (persistent)
    client there, ``aaas-bridge-SITE``; with passwords on the core, *core* carries the
    bridge's username and password (the ACL gives it the orchestrator's topics).
    The bridge notices a dead uplink after 1.5 *keepalive_s* and retries with a back-off
    from ``restart_s[0]`` to ``restart_s[1]`` seconds (Mosquitto's ``restart_timeout``).
    """
    name = f"aaas-{site}"
    lines = [
        "# Generated from aaas/contract.py by broker.bridge (python -m broker.bridge): "
        "do not edit by hand.",
        f"connection {name}",
        f"address {core.host}:{core.port}",
        "bridge_protocol_version mqttv311",
        f"remote_clientid aaas-bridge-{site}",
        f"local_clientid aaas-bridge-{site}-local",
        "cleansession false",
        "try_private true",
        "notifications true",
        f"keepalive_interval {keepalive_s}",
        f"restart_timeout {restart_s[0]} {restart_s[1]}",
        "start_type automatic",
    ]
    if core.username:
        lines.append(f"remote_username {core.username}")
    if core.password:
        lines.append(f"remote_password {core.password}")
    return "\n".join([*lines, *bridge_topics()]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m broker.bridge", description="Print a site "
                                "broker's Mosquitto bridge to the core broker, from the contract.")
    p.add_argument("--site", required=True, help="the site's name (in client ids)")
    p.add_argument("--core", required=True, type=BrokerURL.parse,
                   help="the core broker, mqtt://[user[:password]@]host[:port]")
    p.add_argument("--keepalive", type=int, default=30, help="bridge keepalive, s")
    args = p.parse_args(argv)
    sys.stdout.write(bridge_config(site=args.site, core=args.core, keepalive_s=args.keepalive))
    return 0


if __name__ == "__main__":
    sys.exit(main())
