"""Checks of a task request beyond its schema (shared by orchestrator and node)."""

from __future__ import annotations

from .config import Scenario
from .errors import ProtocolError
from .images import check_pixels, checksum
from .schemas import ErrorCode, TaskRequest

__all__ = ["check_content", "check_request"]


def check_request(req: TaskRequest, scenario: Scenario, *, topic_user: str | None = None) -> None:
    """Raise ProtocolError when *req* breaks the scenario's limits or its checksum."""
    if topic_user is not None and req.user_id != topic_user:
        raise ProtocolError(ErrorCode.INVALID, f"user_id {req.user_id!r} does not match the "
                            f"topic's {topic_user!r}")
    w = scenario.workload
    if not scenario.check_steps(req.steps):
        raise ProtocolError(ErrorCode.STEPS_OUT_OF_RANGE, f"steps={req.steps} is outside "
                            f"[{w.steps_min}, {w.steps_max}]")
    if req.content == "webrtc":
        # The content comes later, over the data channel: the node checks it then.
        if req.image or req.mask:
            raise ProtocolError(ErrorCode.INVALID, "content is webrtc but image or mask "
                                "is not empty")
        return
    check_content(req, scenario)


def check_content(req: TaskRequest, scenario: Scenario) -> None:
    """Raise ProtocolError when *req*'s image or mask is too large, empty, or damaged."""
    limit = scenario.limits.max_image_bytes
    for name, data in (("image", req.image), ("mask", req.mask)):
        if len(data) > limit:
            raise ProtocolError(ErrorCode.IMAGE_TOO_LARGE, f"{name} is {len(data)} bytes; "
                                f"the limit is {limit}")
        if not data:
            raise ProtocolError(ErrorCode.INVALID, f"{name} is empty")
    if checksum(req.image, req.mask) != req.checksum:
        raise ProtocolError(ErrorCode.CHECKSUM_MISMATCH, "sha256(image + mask) does not match "
                            "checksum; the content was damaged on the way")
    # Bounded work: the pixel count from the headers, before anything decodes them.
    check_pixels(req.image, "image", scenario.limits.max_image_pixels)
    check_pixels(req.mask, "mask", scenario.limits.max_image_pixels)
