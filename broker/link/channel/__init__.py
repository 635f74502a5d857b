"""Channel models of the emulated wireless link: pure functions, closed forms where they exist.

* path loss (log-distance, 3GPP TR 38.901 UMi street canyon LOS/NLOS) and the link
  budget giving the mean SNR;
* block fading (Rayleigh, Rician) with a coherence time;
* BER of BPSK, QPSK and 16-QAM on AWGN; PER of a frame; MTU framing;
* Gilbert–Elliott bursty loss; outage; bit rate (modulation or Shannon);
* analytic-vs-Monte-Carlo reports for ``aaas channel``.
"""

from .bit_errors import BITS_PER_SYMBOL, MODULATIONS, ber, ber_array, check_modulation, qfunc
from .fading import (
    FADING,
    BlockFading,
    check_fading,
    draw_gain,
    expect,
    gain_pdf,
    outage_probability,
)
from .frames import frame_sizes, per, per_array
from .gilbert import GilbertElliott, GilbertParams
from .montecarlo import ChannelReport, channel_report, simulate_ber
from .pathloss import (
    PATHLOSS_MODELS,
    free_space_db,
    log_distance_db,
    path_loss_db,
    umi_los_db,
    umi_nlos_db,
)
from .rate import RATE_MODELS, bit_rate, shannon_rate
from .snr import db_to_linear, linear_to_db, mean_snr_db, noise_dbm

__all__ = [
    "BITS_PER_SYMBOL",
    "FADING",
    "MODULATIONS",
    "PATHLOSS_MODELS",
    "RATE_MODELS",
    "BlockFading",
    "ChannelReport",
    "GilbertElliott",
    "GilbertParams",
    "ber",
    "ber_array",
    "bit_rate",
    "channel_report",
    "check_fading",
    "check_modulation",
    "db_to_linear",
    "draw_gain",
    "expect",
    "frame_sizes",
    "free_space_db",
    "gain_pdf",
    "linear_to_db",
    "log_distance_db",
    "mean_snr_db",
    "noise_dbm",
    "outage_probability",
    "path_loss_db",
    "per",
    "per_array",
    "qfunc",
    "shannon_rate",
    "simulate_ber",
    "umi_los_db",
    "umi_nlos_db",
]
