"""The link's faults, one small file each, after toxiproxy's toxics.

A fault is a frozen settings struct behind one interface (:class:`Fault`,
``base.py``), registered by name in :data:`LINK_FAULTS` (entry point group
``aaas.link_faults`` for packages outside this repository). It touches the
channel only through the :class:`Air` it is given (``air.py``: the SNR of a block,
the rate and BER, the generator, "the air is busy until t"). Each direction of a
user's link runs a chain of them per packet, the structs its profile holds
(:func:`link.profile.fault_chain`):

* ``outage`` (``outage.py``): hold a packet while the instantaneous SNR is below
  the threshold (until the fading block ends), or close the connection after a
  long outage;
* the profile's ``error_mode``, one of:
  * ``arq`` (``arq.py``): put the frames on the air, resend failed ones up to a
    retry limit, then a TCP retransmission;
  * ``corrupt`` (``corrupt.py``): flip bits of a PUBLISH payload, keeping the MQTT
    framing (other packets by ``arq``);
* ``latency`` (``latency.py``): a fixed delay after the air;
* then the profile's extra ``faults``, in order.

``airtime.py`` holds the air-time arithmetic the error modes share.
"""

from .air import Air
from .airtime import air_time_s, frames_in_block
from .arq import Arq, arq_tries
from .base import (
    LINK_FAULTS,
    Fault,
    check_error_mode,
    error_mode_fault,
    error_modes,
    make_fault,
    register_fault,
)
from .corrupt import Corrupt, flip_bits, frame_bit_errors
from .latency import Latency
from .outage import Outage, wait_for_signal

__all__ = ["LINK_FAULTS", "Air", "Arq", "Corrupt", "Fault", "Latency", "Outage", "air_time_s",
           "arq_tries", "check_error_mode", "error_mode_fault", "error_modes", "flip_bits",
           "frame_bit_errors", "frames_in_block", "make_fault", "register_fault",
           "wait_for_signal"]
