"""How an edge node delivers content: inline over MQTT, or over WebRTC to the user.

:func:`make_node_delivery` gives ``None`` for ``--delivery mqtt`` (the node sends
everything inline, as always) and an :class:`~edge_node.delivery.webrtc.RtcNodeDelivery`
otherwise; aiortc is imported only then, so a node without the ``webrtc`` extra runs
``mqtt`` as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aaas import EmulatedClock, RtcOffer
from aaas.datachannel import DeliverySettings
from monitoring import DeliveryMetrics

if TYPE_CHECKING:
    from .webrtc import RtcNodeDelivery

__all__ = ["make_node_delivery"]


def make_node_delivery(settings: DeliverySettings, *, node_id: str, clock: EmulatedClock,
                       send_offer: Callable[[RtcOffer], None], metrics: DeliveryMetrics,
                       logger: logging.Logger | None = None) -> RtcNodeDelivery | None:
    """The node's WebRTC delivery, or None when *settings* say ``mqtt``."""
    if settings.mode == "mqtt":
        return None
    from .webrtc import RtcNodeDelivery

    return RtcNodeDelivery(settings, node_id=node_id, clock=clock, send_offer=send_offer,
                           metrics=metrics, logger=logger)
