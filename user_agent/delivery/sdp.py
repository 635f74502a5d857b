"""ICE candidates in an SDP: pick one, move it (the emulated link's UDP relay).

aiortc writes every gathered candidate into the SDP (no trickle ICE). To make the
peers talk through the link's relay, the user keeps one IPv4 UDP candidate per side
and replaces its address with the relay's (see docs/link.md#webrtc).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

__all__ = ["Address", "PathHook", "first_ipv4_candidate", "with_only_candidate"]

Address = tuple[str, int]

_CANDIDATE = re.compile(r"^a=candidate:(\S+) (\d+) (udp|UDP) (\d+) (\d+\.\d+\.\d+\.\d+) (\d+) "
                        r"typ (\S+)(.*)$")


PathHook = Callable[[str, Address], Awaitable[tuple[Address, Address]]]
"""``(user_id, the node's address) -> (the node's address as the user sees it, the
user's address as the node sees it)``: where the emulated link relays the user's
datagrams (the composition root wires ``link.UdpRelay.route`` in)."""


def first_ipv4_candidate(sdp: str) -> Address | None:
    """(host, port) of the first IPv4 UDP candidate of *sdp*."""
    for line in sdp.splitlines():
        m = _CANDIDATE.match(line.strip())
        if m:
            return m.group(5), int(m.group(6))
    return None


def with_only_candidate(sdp: str, addr: Address) -> str:
    """*sdp* with its candidates replaced by one host candidate at *addr*."""
    out: list[str] = []
    kept = False
    for line in sdp.splitlines():
        stripped = line.strip()
        if stripped.startswith("a=candidate:"):
            m = _CANDIDATE.match(stripped)
            if m is None or kept:
                continue
            kept = True
            line = (f"a=candidate:{m.group(1)} {m.group(2)} udp {m.group(4)} {addr[0]} {addr[1]} "
                    f"typ host")
        elif stripped.startswith("m=application "):
            parts = stripped.split(" ")
            parts[1] = str(addr[1])
            line = " ".join(parts)
        elif stripped.startswith("c=IN IP4 "):
            line = f"c=IN IP4 {addr[0]}"
        out.append(line)
    return "\r\n".join(out) + "\r\n"
