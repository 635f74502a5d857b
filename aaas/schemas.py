"""Payload schemas of the MQTT contract (schema version 1).

Every payload is a frozen msgspec Struct, encoded as JSON on the wire so any
MQTT tool (mosquitto_pub, Node-RED, MQTT Explorer) can take part. Content (the
image and mask a user sends its node, the restored image it gets back) is the
attachment of its route: raw bytes after the JSON object (``aaas.contract``); any
other ``bytes`` field travels as a base64 string. Every payload carries ``v``, the
schema version; a receiver refuses any other version with a
``schema_version`` error reply.

All times are emulated seconds (see :mod:`aaas.clock`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "SCHEMA_VERSION",
    "Assignment",
    "ClockSpec",
    "ContentPath",
    "ErrorCode",
    "ErrorInfo",
    "ErrorReply",
    "GilbertPatch",
    "LinkProfilePatch",
    "LinkUpdate",
    "LostTask",
    "NodeLoad",
    "NodeStatus",
    "Outcome",
    "RtcAnswer",
    "RtcOffer",
    "TaskAck",
    "TaskContent",
    "TaskEvent",
    "TaskRequest",
    "TaskResult",
    "TaskStatus",
    "Timings",
]

SCHEMA_VERSION = 1

Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$")]
NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
Steps = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
Domain = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
"""A content domain's name (aaas.config.DOMAIN_NAME); the scenario says which exist."""
ReplyKey = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{16,64}$")]
ContentBytes = Annotated[int, msgspec.Meta(ge=1, le=1 << 40)]

TaskStatus = Literal["ok", "crashed", "rejected", "error"]
"""The ``status`` of a TaskResult."""

ContentPath = Literal["mqtt", "webrtc"]
"""Where a task's content (image and mask, or the restored image) travels: in an MQTT
message between the user and its node (``mqtt``), or over the WebRTC data channel between
them (``webrtc``). Never through the orchestrator."""


class ErrorCode(StrEnum):
    """Every error code of the contract: ``ErrorInfo.code`` and ``ProtocolError.code``.

    The values are what travels on the wire and what the ``*_bad_input_total{reason}``
    metrics are labelled with; docs/protocol.md lists them (a test keeps it equal).
    """

    MALFORMED = "malformed"
    """Not a JSON object (or, on the link, not a well-formed MQTT packet)."""
    SCHEMA_VERSION = "schema_version"
    """``v`` missing or not the version this process speaks."""
    INVALID = "invalid"
    """A field is missing, of the wrong type, unknown, or contradicts the topic."""
    STEPS_OUT_OF_RANGE = "steps_out_of_range"
    """``steps`` outside the scenario's range."""
    UNKNOWN_DOMAIN = "unknown_domain"
    """``domain`` is not one of the scenario's content domains."""
    IMAGE_TOO_LARGE = "image_too_large"
    """Image or mask over the scenario's ``max_image_bytes`` (a request's ``size`` over
    twice that)."""
    CHECKSUM_MISMATCH = "checksum_mismatch"
    """The content does not match its checksum (damaged on the way; ask again)."""
    BAD_IMAGE = "bad_image"
    """The node could not decode the image or the mask."""
    UNKNOWN_USER = "unknown_user"
    """The topic's user is not a user of the scenario."""
    UNKNOWN_NODE = "unknown_node"
    """A message names a node that is not an ASP of the scenario."""
    UNKNOWN_TASK = "unknown_task"
    """A reply names a task its user does not have open (counted by the user, never sent)."""
    OVERLOAD = "overload"
    """Result ``rejected``: the task's arrival crashed the node."""
    NODE_CRASHED = "node_crashed"
    """Result ``crashed``: the node crashed (overload) while running the task."""
    NODE_OFFLINE = "node_offline"
    """Result ``crashed``: the node went offline while running the task."""
    NO_NODE_ONLINE = "no_node_online"
    """Result ``rejected``: no node was online for the scenario's ``queue_timeout_s``."""
    BACKEND_ERROR = "backend_error"
    """Result ``error``: the node's inpainting backend failed on the task."""
    IMPLAUSIBLE = "implausible"
    """A number is not finite or out of bounds, or contradicts the scenario's model
    (a capacity, a reward, a quality, a crash that the crash rule would not cause)."""
    NOT_ASSIGNED = "not_assigned"
    """A message about a task its sender was not given: an event for a task not assigned
    to that node, a result without the task's ``reply_key``."""
    DUPLICATE = "duplicate"
    """The task id is already open in this run: it is queued or running (keep waiting), or
    its result is sent again. Not an outcome: the user goes on waiting."""
    TOO_DEEP = "too_deep"
    """The JSON nests deeper than the contract allows (32 levels)."""
    CONTENT_UNAVAILABLE = "content_unavailable"
    """Result ``error``: the task's content did not reach the node in time (over the
    ``content`` route or WebRTC): ask again."""


class Outcome(StrEnum):
    """How a task ended at its user: every task sent ends in exactly one of these."""

    FINISHED = "finished"
    """The restored image arrived intact."""
    CRASHED = "crashed"
    """Lost in a crash, or on a node that went offline."""
    REJECTED = "rejected"
    """Not admitted: its arrival crashed the node, or no node was online."""
    ERROR = "error"
    """A bad request, a backend failure, or content damaged on every try."""
    LOST = "lost"
    """No answer before the end of the run."""
    UNDELIVERABLE = "undeliverable"
    """Its content could not cross the user's channel by the task's deadline."""

    @classmethod
    def of_status(cls, status: TaskStatus) -> Outcome:
        """The outcome a TaskResult of *status* settles its task with."""
        return _OUTCOME_OF_STATUS[status]


_OUTCOME_OF_STATUS: dict[str, Outcome] = {
    "ok": Outcome.FINISHED, "crashed": Outcome.CRASHED, "rejected": Outcome.REJECTED,
    "error": Outcome.ERROR,
}

EventKind = Literal["admitted", "finished", "crashed", "refused"]
NodeState = Literal["online", "offline"]


class _Payload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    v: int = SCHEMA_VERSION
    """Schema version of the payload."""

    ATTACHMENT: ClassVar[str | None] = None
    """A ``bytes`` field that travels as raw bytes after the JSON object, not inside it
    (content: no base64; ``aaas.contract.encode``)."""


class TaskRequest(_Payload, frozen=True, kw_only=True):
    """A user's inpainting request: users/{user_id}/request, QoS 1.

    It carries what a decision needs, not the content: the image and mask go from the
    user to the node the task is assigned to only (a :class:`TaskContent` on the
    ``content`` route, or over WebRTC), which checks them against ``size`` and
    ``checksum`` (the claim check of docs/protocol.md).
    """

    task_id: Id
    """Unique id of the task, chosen by the user (echoed in every reply)."""
    user_id: Id
    """The requesting user; must equal the topic's user_id."""
    steps: Steps
    """Diffusion steps t asked for."""
    domain: Domain = "generic"
    """The content's domain (``faces``, ``places``, ...): one of the scenario's
    ``[domains]``; the default is the one domain of a scenario without them."""
    size: ContentBytes
    """Bytes of the content: the encoded image followed by the mask."""
    checksum: Sha256
    """sha256 hex of the image bytes followed by the mask bytes."""
    sent_at: float
    """Emulated time at which the user sent the request."""
    attempt: NonNegInt = 0
    """0 for the first try; the user increments it when it asks again."""
    reply_key: ReplyKey | None = None
    """A random value only the orchestrator and the node the task is assigned to see
    (the broker's ACL keeps requests and assignments from everyone else); every
    TaskResult for the task echoes it, so the user believes only results from them."""
    content: ContentPath = "mqtt"
    """How the node gets the content: ``mqtt``, a TaskContent from the user on the
    node's ``content`` route once the user sees the assignment; ``webrtc``, the node
    fetches it over the data channel (docs/protocol.md#content-over-webrtc)."""
    rtc: bool = False
    """The user answers WebRTC offers: the node may deliver the result over a data channel."""


class TaskContent(_Payload, frozen=True, kw_only=True):
    """A task's content, from its user to the node it is assigned to:
    nodes/{node_id}/content/{user_id}, QoS 1.

    On the wire the JSON object is followed by ``data`` as raw bytes (the route's
    attachment, docs/protocol.md): no base64, so content crosses the broker once each
    way at its own size. The node takes it only for a task assigned to it, with the
    assignment's checksum, and only when ``data`` hashes to it.
    """

    task_id: Id
    """The task the content is for (of the topic's user)."""
    checksum: Sha256
    """The request's checksum: sha256 of ``data``."""
    split: NonNegInt
    """Bytes of the image at the start of the content; the mask follows it."""
    data: bytes = b""
    """The encoded image followed by the encoded mask (single channel, 255 where
    pixels are missing), or one piece of them at ``offset``. Sent after the JSON
    object, not inside it."""
    offset: NonNegInt = 0
    """Where ``data`` starts in the content: large content goes in pieces, each its own
    QoS 1 message, so a reconnect resends only the pieces not yet acknowledged."""

    ATTACHMENT: ClassVar[str] = "data"

    @property
    def image(self) -> bytes:
        return self.data[:self.split]

    @property
    def mask(self) -> bytes:
        return self.data[self.split:]


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
    """The user's request, forwarded as received (it carries no content)."""
    boot: Id | None = None
    """The node's process run (NodeStatus.boot) the orchestrator assigned to; a node of
    another run drops the assignment (the orchestrator places such tasks again)."""
    resend: bool = False
    """A decision sent again (its user asked again while the task was with the node), not
    a new one: a node that never got it and has no room for it refuses it (event
    ``refused``) instead of crashing, and the orchestrator places the task anew."""


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

    code: ErrorCode
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
    """The restored image, PNG encoded, when status is ok. On the wire it follows the
    JSON object as raw bytes (the route's attachment), not inside it."""
    checksum: Sha256 | None = None
    """sha256 hex of ``image`` when present."""
    quality: float | None = None
    """Quality of the content as the serving ASP measures it (its q(t) when modeled)."""
    metrics: dict[str, float] = {}
    """Extra quality metrics (no-reference ones, by name)."""
    timings: Timings
    error: ErrorInfo | None = None
    reply_key: ReplyKey | None = None
    """The request's ``reply_key``, echoed (see TaskRequest)."""
    content: ContentPath = "mqtt"
    """``webrtc``: ``image`` is left out; the user got it over the data channel (and
    acknowledged it there, after checking ``checksum``) before this message was sent."""

    ATTACHMENT: ClassVar[str] = "image"


class LostTask(msgspec.Struct, frozen=True, kw_only=True):
    """A task lost in a crash and how far it had got."""

    task_id: Id
    user_id: Id
    steps: NonNegInt
    progress: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


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


class TaskEvent(_Payload, frozen=True, kw_only=True):
    """What happened to an assigned task: nodes/{node_id}/event, QoS 1.

    * ``admitted``: reward = q_i(t) (the paper's reward of an admission);
    * ``finished``: the task completed, ``quality`` set, reward 0;
    * ``crashed``: the task's arrival crashed the node; reward = −penalty and
      ``lost`` lists every task that was running;
    * ``refused``: a re-sent assignment (``Assignment.resend``) of a task the node never
      had, with too little free capacity for it: nothing ran, reward 0.
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
    load: NodeLoad | None = None
    """The node's load right after the event. A node sends it here instead of a load
    report of its own, which saves the orchestrator two messages per task; the retained
    load report still follows, at most every few tenths of a wall second."""


class NodeStatus(_Payload, frozen=True, kw_only=True):
    """nodes/{node_id}/status, retained; the ``offline`` form is the last will."""

    node_id: Id
    state: NodeState
    backend: str = ""
    at: float | None = None
    boot: Id | None = None
    """Id of the node's process run (new on every start): a node that is online again with
    another ``boot`` was restarted and has lost its running tasks."""


class TaskAck(_Payload, frozen=True, kw_only=True):
    """A user has settled a task: users/{user_id}/ack/{node_id}, QoS 1 (``node_id``: the
    node its answer named, ``none`` when it named none).

    Whoever keeps the task's result for sending again (the node, the orchestrator)
    may forget it.
    """

    task_id: Id
    user_id: Id


class ClockSpec(_Payload, frozen=True, kw_only=True):
    """The testbed's clock, retained on aaas/v1/clock by the orchestrator."""

    scale: Annotated[float, msgspec.Meta(gt=0)]
    epoch: float
    wall_epoch: float


class RtcOffer(_Payload, frozen=True, kw_only=True):
    """A node's WebRTC offer to a user: users/{user_id}/rtc/offer, QoS 1.

    The SDP carries the node's ICE candidates (aiortc gathers them all before it
    writes the offer; there is no trickle ICE), so no separate candidate message
    exists. A new offer from the same node replaces that node's peer connection.
    """

    node_id: Id
    user_id: Id
    session: Id
    """Id of this peer connection attempt; the answer echoes it."""
    sdp: str
    at: float
    """Emulated time of the offer."""


class RtcAnswer(_Payload, frozen=True, kw_only=True):
    """A user's answer to an :class:`RtcOffer`: nodes/{node_id}/rtc/answer, QoS 1."""

    node_id: Id
    user_id: Id
    session: Id
    """The offer's ``session``."""
    sdp: str
    """The answer, with the user's ICE candidates."""
    at: float


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


class GilbertPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Gilbert–Elliott parameters of a link update; a field left out takes the link's default."""

    p_good_bad: float | UnsetType = UNSET
    p_bad_good: float | UnsetType = UNSET
    loss_good: float | UnsetType = UNSET
    loss_bad: float | UnsetType = UNSET


class LinkProfilePatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The link profile fields a :class:`LinkUpdate` changes; a field left out is kept.

    The fields mirror ``link.LinkProfile`` (its docstrings say what each
    means; a test keeps the two equal). ``null`` is a value here: it clears
    ``snr_db``, ``rate_bps`` or ``gilbert``. The link checks the values (known
    model names, ranges) when it applies them.
    """

    distance_m: float | UnsetType = UNSET
    pathloss: str | UnsetType = UNSET
    exponent: float | UnsetType = UNSET
    carrier_ghz: float | UnsetType = UNSET
    snr_db: float | UnsetType | None = UNSET
    ue_tx_power_dbm: float | UnsetType = UNSET
    ap_tx_power_dbm: float | UnsetType = UNSET
    noise_figure_db: float | UnsetType = UNSET
    bandwidth_hz: float | UnsetType = UNSET
    modulation: str | UnsetType = UNSET
    rate: str | UnsetType = UNSET
    rate_bps: float | UnsetType | None = UNSET
    fading: str | dict[str, str | float | int | bool] | UnsetType = UNSET
    """A model name (``"rician"``) or a table (``{"model": "rician", "k": 8}``)."""
    rician_k: float | UnsetType = UNSET
    """The older flat form of the Rician model's ``k`` (still accepted)."""
    coherence_s: float | UnsetType = UNSET
    mtu_bytes: int | UnsetType = UNSET
    error_mode: str | UnsetType = UNSET
    retry_limit: int | UnsetType = UNSET
    rto_s: float | UnsetType = UNSET
    tcp_retries: int | UnsetType = UNSET
    outage_snr_db: float | UnsetType = UNSET
    min_rate_bps: float | UnsetType = UNSET
    outage_close_s: float | UnsetType = UNSET
    latency_s: float | UnsetType = UNSET
    gilbert: GilbertPatch | UnsetType | None = UNSET
    faults: list[dict[str, str | float | int | bool]] | UnsetType = UNSET
    """Extra faults, each ``{"fault": name, **settings}``: the settings depend on the
    fault (a plug-in of the ``link`` package), so they stay a table here; the link checks them."""

    def changes(self) -> dict[str, Any]:
        """The fields given, by name (``gilbert`` as a table of the parameters given)."""
        out: dict[str, Any] = {}
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is UNSET:
                continue
            if isinstance(value, GilbertPatch):
                value = {k: getattr(value, k) for k in value.__struct_fields__
                         if getattr(value, k) is not UNSET}
            out[name] = value
        return out


class LinkUpdate(_Payload, frozen=True, kw_only=True):
    """A change to one user's link: link/{user_id}/set, QoS 1 (toxiproxy's API as a topic).

    The fields of ``profile`` replace those of the user's profile from its next
    packet on (nothing in flight is dropped).
    """

    profile: LinkProfilePatch = msgspec.field(default_factory=LinkProfilePatch)
    """Profile fields to change, e.g. {"distance_m": 300, "fading": "rician"}."""
    outage_s: float | None = None
    """Start an outage of this many emulated seconds now."""
    reset: bool = False
    """Go back to the user's profile from the scenario before applying ``profile``."""
