"""The link's faults, one small file each (after toxiproxy's toxics).

Each works on a :class:`~broker.link.direction.DirectionChannel` and a
:class:`~broker.link.direction.Transmission` in progress:

* ``_outage``: hold a packet while the instantaneous SNR is below the threshold
  (until the fading block ends), or close the connection after a long outage;
* ``_airtime``: the rate, so a frame's air time follows its size;
* ``_arq``: resend failed frames up to a retry limit, then a TCP retransmission;
* ``_corrupt``: flip bits of a PUBLISH payload, keeping the MQTT framing.
"""

from .airtime import air_time_s, frames_in_block
from .arq import arq_tries
from .corrupt import flip_bits, frame_bit_errors
from .outage import wait_for_signal

__all__ = ["air_time_s", "arq_tries", "flip_bits", "frame_bit_errors", "frames_in_block",
           "wait_for_signal"]
