"""Edge nodes (ASPs): capacity and the crash rule, inpainting backends, load reports."""

from .capacity import Admission, CapacityLedger, Running
from .group import make_backend, start_nodes
from .node import EdgeNode

__all__ = ["Admission", "CapacityLedger", "EdgeNode", "Running", "make_backend", "start_nodes"]
