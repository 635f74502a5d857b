"""Channel models of the emulated wireless link: pure functions, closed forms where they exist.

* path loss (log-distance, 3GPP TR 38.901 UMi street canyon LOS/NLOS) and the link
  budget giving the mean SNR;
* block fading with a coherence time: fading models (none, Rayleigh, Rician) are
  settings structs registered by name in ``FADING_MODELS`` (``fading.py`` holds the
  interface, one file per model; entry point group ``aaas.channel_models``);
* BER of BPSK, QPSK and 16-QAM on AWGN; PER of a frame; MTU framing;
* Gilbert–Elliott bursty loss; outage; bit rate (modulation or Shannon);
* analytic-vs-Monte-Carlo reports for ``aaas channel``.
"""

from .bit_errors import BITS_PER_SYMBOL, MODULATIONS, ber, ber_array, check_modulation, qfunc
from .fading import (
    FADING_MODELS,
    BlockFading,
    FadingModel,
    draw_gain,
    expect,
    gain_pdf,
    make_fading,
    outage_probability,
    register_fading_model,
)
from .frames import frame_sizes, per, per_array
from .gilbert import GilbertElliott, GilbertParams
from .montecarlo import ChannelReport, channel_report, simulate_ber
from .no_fading import NoFading
from .pathloss import (
    PATHLOSS_MODELS,
    free_space_db,
    log_distance_db,
    path_loss_db,
    umi_los_db,
    umi_nlos_db,
)
from .rate import RATE_MODELS, bit_rate, shannon_rate
from .rayleigh import Rayleigh
from .rician import Rician
from .snr import db_to_linear, linear_to_db, mean_snr_db, noise_dbm

__all__ = [
    "BITS_PER_SYMBOL",
    "FADING_MODELS",
    "MODULATIONS",
    "PATHLOSS_MODELS",
    "RATE_MODELS",
    "BlockFading",
    "ChannelReport",
    "FadingModel",
    "GilbertElliott",
    "GilbertParams",
    "NoFading",
    "Rayleigh",
    "Rician",
    "ber",
    "ber_array",
    "bit_rate",
    "channel_report",
    "check_modulation",
    "db_to_linear",
    "draw_gain",
    "expect",
    "frame_sizes",
    "free_space_db",
    "gain_pdf",
    "linear_to_db",
    "log_distance_db",
    "make_fading",
    "mean_snr_db",
    "noise_dbm",
    "outage_probability",
    "path_loss_db",
    "per",
    "per_array",
    "qfunc",
    "register_fading_model",
    "shannon_rate",
    "simulate_ber",
    "umi_los_db",
    "umi_nlos_db",
]
