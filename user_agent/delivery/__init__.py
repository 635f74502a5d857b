"""How the users take and give content: inline over MQTT, or over WebRTC with the node.

:func:`make_user_delivery` gives ``None`` for ``--delivery mqtt`` and an
:class:`~user_agent.delivery.webrtc.RtcUserDelivery` otherwise. aiortc is imported
only then (``user_agent.delivery.webrtc`` is the one module of the user agent that
imports it), so the light client without the ``webrtc`` extra runs ``mqtt``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aaas import ConfigError, EmulatedClock, RtcAnswer
from aaas.datachannel import DeliverySettings
from monitoring import DeliveryMetrics

from .sdp import Address, PathHook

if TYPE_CHECKING:
    from .webrtc import RtcUserDelivery

__all__ = ["Address", "PathHook", "make_user_delivery"]

def make_user_delivery(settings: DeliverySettings, *, clock: EmulatedClock,
                       send_answer: Callable[[RtcAnswer], None], metrics: DeliveryMetrics,
                       path: PathHook | None = None,
                       on_preview: Callable[[str, int], None] | None = None,
                       logger: logging.Logger | None = None) -> RtcUserDelivery | None:
    """The users' WebRTC delivery, or None when *settings* say ``mqtt``."""
    if settings.mode == "mqtt":
        return None
    try:
        from .webrtc import RtcUserDelivery
    except ImportError as exc:
        raise ConfigError(f"--delivery {settings.mode} needs aiortc: "
                          f"pip install 'aaas-edge-emulator[user,webrtc]' ({exc})") from None
    return RtcUserDelivery(settings, clock=clock, send_answer=send_answer, metrics=metrics,
                           path=path, on_preview=on_preview, logger=logger)
