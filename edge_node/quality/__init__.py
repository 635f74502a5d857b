"""Image-quality evaluation with piq: TV and BRISQUE (no reference), DSS,
HaarPSI, MDSI and VIF (full reference). torch and piq are imported only when
a metric is computed, so importing this package stays light."""

from .brisque import BrisqueUnavailableError, brisque_score, find_brisque_weights
from .metrics import METRICS, NO_REFERENCE, Metric, evaluate, parse_metrics, to_tensor

__all__ = [
    "METRICS",
    "NO_REFERENCE",
    "BrisqueUnavailableError",
    "Metric",
    "brisque_score",
    "evaluate",
    "find_brisque_weights",
    "parse_metrics",
    "to_tensor",
]
