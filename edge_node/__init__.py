"""Edge nodes (ASPs): capacity and the crash rule, inpainting backends, load reports."""

from ._capacity import Admission, CapacityLedger, Running
from ._group import make_backend, start_nodes
from ._node import EdgeNode

__all__ = ["Admission", "CapacityLedger", "EdgeNode", "Running", "make_backend", "start_nodes"]
