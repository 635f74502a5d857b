"""The emulated wireless link: an MQTT-aware TCP proxy with a channel per user.

>>> async with LinkProxy(upstream=broker.url, profiles=load_link_profiles(scenario),
...                      clock=clock, rng=np.random.default_rng(1), registry=registry) as link:
...     ...   # users connect to link.url; link.stats() sums bytes on air, retransmissions
"""

from .direction import DirectionChannel, Transmission
from .metrics import LinkMetrics, LinkStats
from .profile import ERROR_MODES, LinkProfile
from .profiles import LinkProfiles, load_link_profiles, parse_link_table
from .proxy import LinkProxy

__all__ = [
    "ERROR_MODES",
    "DirectionChannel",
    "LinkMetrics",
    "LinkProfile",
    "LinkProfiles",
    "LinkProxy",
    "LinkStats",
    "Transmission",
    "load_link_profiles",
    "parse_link_table",
]
