"""The emulated wireless link: an MQTT-aware TCP proxy with a channel per user.

>>> async with LinkProxy(upstream=broker.url, profiles=load_link_profiles(scenario),
...                      clock=clock, rng=np.random.default_rng(1), registry=registry) as link:
...     ...   # users connect to link.url; link.stats() sums bytes on air, retransmissions
"""

from .channel import FADING_MODELS, FadingModel, register_fading_model
from .direction import DirectionChannel, Transmission
from .faults import LINK_FAULTS, Air, Fault, error_modes, register_fault
from .metrics import LinkMetrics, LinkStats
from .profile import LinkProfile, fault_chain
from .profiles import LinkProfiles, load_link_profiles, parse_link_table
from .proxy import LinkProxy
from .udp import UdpRelay

__all__ = [
    "FADING_MODELS",
    "LINK_FAULTS",
    "Air",
    "DirectionChannel",
    "FadingModel",
    "Fault",
    "LinkMetrics",
    "LinkProfile",
    "LinkProfiles",
    "LinkProxy",
    "LinkStats",
    "Transmission",
    "UdpRelay",
    "error_modes",
    "fault_chain",
    "load_link_profiles",
    "parse_link_table",
    "register_fading_model",
    "register_fault",
]
