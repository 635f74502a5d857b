"""Payload schemas of the MQTT contract (schema version 1).

Every payload is a frozen msgspec Struct, encoded as JSON on the wire so any
MQTT tool (mosquitto_pub, Node-RED, MQTT Explorer) can take part. ``bytes``
fields (images) travel as base64 strings. Every payload carries ``v``, the
schema version; a receiver refuses any other version with a
``schema_version`` error reply.

All times are emulated seconds (see :mod:`aaas.clock`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = [
    "SCHEMA_VERSION",
    "Assignment",
    "ClockSpec",
    "ErrorInfo",
    "ErrorReply",
    "LostTask",
    "NodeLoad",
    "NodeStatus",
    "TaskEvent",
    "TaskRequest",
    "TaskResult",
    "Timings",
]

SCHEMA_VERSION = 1

Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$")]
NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
Steps = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]

TaskStatus = Literal["ok", "crashed", "rejected", "error"]
EventKind = Literal["admitted", "finished", "crashed"]
NodeState = Literal["online", "offline"]


class _Payload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    v: int = SCHEMA_VERSION
    """Schema version of the payload."""


class TaskRequest(_Payload, frozen=True, kw_only=True):
    """A user's inpainting request: users/{user_id}/request, QoS 1."""

    task_id: Id
    """Unique id of the task, chosen by the user (echoed in every reply)."""
    user_id: Id
    """The requesting user; must equal the topic's user_id."""
    steps: Steps
    """Diffusion steps t asked for."""
    image: bytes
    """The damaged image, PNG encoded (base64 in JSON)."""
    mask: bytes
    """The mask, PNG encoded, single channel: 255 where pixels are missing."""
    checksum: Sha256
    """sha256 hex of image bytes followed by mask bytes."""
    sent_at: float
    """Emulated time at which the user sent the request."""
    attempt: NonNegInt = 0
    """0 for the first try; the user increments it when it asks again."""


class Assignment(_Payload, frozen=True, kw_only=True):
    """The orchestrator's choice of node: nodes/{node_id}/assign, QoS 1."""

    node_id: Id
    """The chosen node; must equal the topic's node_id."""
    seq: NonNegInt
    """Per-node sequence number of assignments (load reports echo the last seen)."""
    policy: str
    """Name of the policy that chose the node."""
    assigned_at: float
    """Emulated time of the decision."""
    request: TaskRequest
    """The user's request, forwarded as received."""


class Timings(msgspec.Struct, frozen=True, kw_only=True):
    """Emulated timestamps of a task's life; ``None`` where it did not happen."""

    sent_at: float
    assigned_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    runtime_s: float | None = None
    """Emulated run time of the inference (modeled, or measured × time scale)."""


class ErrorInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Why something failed: a stable code and a sentence for people."""

    code: str
    message: str


class TaskResult(_Payload, frozen=True, kw_only=True):
    """The outcome of a task, to users/{user_id}/result, QoS 1.

    ``status``: ``ok`` (restored image attached), ``crashed`` (the node crashed
    while running it), ``rejected`` (not admitted: its arrival crashed the
    node, or no node could take it) or ``error`` (the task itself was bad or the
    backend failed).
    """

    task_id: Id
    user_id: Id
    status: TaskStatus
    node_id: Id | None = None
    steps: NonNegInt = 0
    image: bytes | None = None
    """The restored image, PNG encoded, when status is ok."""
    checksum: Sha256 | None = None
    """sha256 hex of ``image`` when present."""
    quality: float | None = None
    """Quality of the content as the serving ASP measures it (its q(t) when modeled)."""
    metrics: dict[str, float] = {}
    """Extra quality metrics (no-reference ones, by name)."""
    timings: Timings
    error: ErrorInfo | None = None


class LostTask(msgspec.Struct, frozen=True, kw_only=True):
    """A task lost in a crash and how far it had got."""

    task_id: Id
    user_id: Id
    steps: NonNegInt
    progress: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class TaskEvent(_Payload, frozen=True, kw_only=True):
    """What happened to an assigned task: nodes/{node_id}/event, QoS 1.

    * ``admitted``: reward = q_i(t) (the paper's reward of an admission);
    * ``finished``: the task completed, ``quality`` set, reward 0;
    * ``crashed``: the task's arrival crashed the node; reward = −penalty and
      ``lost`` lists every task that was running.
    """

    kind: EventKind
    task_id: Id
    user_id: Id
    node_id: Id
    steps: NonNegInt
    reward: float = 0.0
    quality: float | None = None
    progress: float = 0.0
    lost: list[LostTask] = []
    at: float
    """Emulated time of the event."""


class NodeLoad(_Payload, frozen=True, kw_only=True):
    """An edge node's load: nodes/{node_id}/load, retained, QoS 1."""

    node_id: Id
    capacity: NonNegInt
    """Total diffusion steps the node can run at once (C_i)."""
    used: NonNegInt
    free: int
    running: NonNegInt
    """Number of tasks running."""
    seq: int = -1
    """Sequence number of the last assignment the node has processed."""
    crashes: NonNegInt = 0
    at: float


class NodeStatus(_Payload, frozen=True, kw_only=True):
    """nodes/{node_id}/status, retained; the ``offline`` form is the last will."""

    node_id: Id
    state: NodeState
    backend: str = ""
    at: float | None = None


class ClockSpec(_Payload, frozen=True, kw_only=True):
    """The testbed's clock, retained on aaas/v1/clock by the orchestrator."""

    scale: Annotated[float, msgspec.Meta(gt=0)]
    epoch: float
    wall_epoch: float


class ErrorReply(_Payload, frozen=True, kw_only=True):
    """Reply to a bad message, on the sender's error topic.

    Shaped like every reply, ``{status, data, error}``, echoing the task id
    when the message had a readable one.
    """

    status: Literal["error"] = "error"
    task_id: str | None = None
    topic: str
    """The topic the bad message arrived on."""
    data: None = None
    error: ErrorInfo
