"""User-device emulators: arrivals, requests, results and QoS (no torch: runs on a Pi)."""

from ._agent import UserAgent
from ._images import ImageSource
from ._qos import OUTCOMES, QoSSummary, TaskRecord
from ._workload import Arrival, poisson_arrivals

__all__ = ["OUTCOMES", "Arrival", "ImageSource", "QoSSummary", "TaskRecord", "UserAgent",
           "poisson_arrivals"]
