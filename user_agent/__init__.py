"""User-device emulators: arrivals, requests, results and QoS (no torch: runs on a Pi)."""

from .agent import UserAgent
from .images import ImageSource
from .qos import OUTCOMES, QoSSummary, TaskRecord
from .workload import Arrival, poisson_arrivals, scenario_arrivals

__all__ = ["OUTCOMES", "Arrival", "ImageSource", "QoSSummary", "TaskRecord", "UserAgent",
           "poisson_arrivals", "scenario_arrivals"]
