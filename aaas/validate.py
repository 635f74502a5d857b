"""Checks of a task request and of its content beyond their schemas.

The request is checked where a decision is made (the orchestrator) and again where it
is run (the node): its steps, its content domain and the size of the content it
announces. The content
itself is checked only by the node it is assigned to, when it arrives
(:func:`check_content`): against the request's size and checksum, and its images'
headers against the scenario's pixel limit before anything decodes them.
"""

from __future__ import annotations

from .config import Scenario
from .errors import ProtocolError
from .images import check_pixels, checksum
from .schemas import ErrorCode, TaskRequest

__all__ = ["check_content", "check_request"]


def check_request(req: TaskRequest, scenario: Scenario, *, topic_user: str | None = None) -> None:
    """Raise ProtocolError when *req* breaks the scenario's limits."""
    if topic_user is not None and req.user_id != topic_user:
        raise ProtocolError(ErrorCode.INVALID, f"user_id {req.user_id!r} does not match the "
                            f"topic's {topic_user!r}")
    w = scenario.workload
    if not scenario.check_steps(req.steps):
        raise ProtocolError(ErrorCode.STEPS_OUT_OF_RANGE, f"steps={req.steps} is outside "
                            f"[{w.steps_min}, {w.steps_max}]")
    if req.domain not in scenario.domains.names:
        raise ProtocolError(ErrorCode.UNKNOWN_DOMAIN, f"domain {req.domain!r} is not one of this "
                            f"scenario's: {', '.join(scenario.domains.names)}")
    limit = 2 * scenario.limits.max_image_bytes
    if req.size > limit:
        raise ProtocolError(ErrorCode.IMAGE_TOO_LARGE, f"the content is {req.size} bytes; the "
                            f"limit is {limit} (max_image_bytes for the image and for the mask)")


def check_content(image: bytes, mask: bytes, scenario: Scenario, *, size: int,
                  expected_checksum: str) -> None:
    """Raise ProtocolError unless *image* and *mask* are the content a request announced
    (*size* bytes hashing to *expected_checksum*), each within the scenario's limits."""
    limit = scenario.limits.max_image_bytes
    for name, data in (("image", image), ("mask", mask)):
        if len(data) > limit:
            raise ProtocolError(ErrorCode.IMAGE_TOO_LARGE, f"{name} is {len(data)} bytes; "
                                f"the limit is {limit}")
        if not data:
            raise ProtocolError(ErrorCode.INVALID, f"{name} is empty")
    if len(image) + len(mask) != size or checksum(image, mask) != expected_checksum:
        raise ProtocolError(ErrorCode.CHECKSUM_MISMATCH, "the content is not the request's "
                            f"({len(image) + len(mask)} bytes, announced {size}; or its "
                            "sha256 differs): damaged on the way, send it again")
    # Bounded work: the pixel count from the headers, before anything decodes them.
    check_pixels(image, "image", scenario.limits.max_image_pixels)
    check_pixels(mask, "mask", scenario.limits.max_image_pixels)
