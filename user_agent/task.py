"""One open task of one user: what it sent, where its content goes, when to ask again.

The agent keeps one :class:`OpenTask` per task from its send to its outcome, as
``asyncio.Future`` keeps its state: the task's fields change only through its own
methods (``assigned``, ``resent``, ``retry`` ...), which return what the agent is to
do (send the content to a node, send the request again, settle it lost); the agent
does it. Times are wall monotonic seconds: an outage lasts wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from msgspec.structs import replace

from aaas import Assignment, TaskContent, TaskRequest

from .qos import TaskRecord

__all__ = ["CONTENT_PIECE_BYTES", "Due", "OpenTask"]

CONTENT_PIECE_BYTES = 64 * 1024
"""Content goes to its node in pieces of at most this many bytes, each its own QoS 1
message: a reconnect (the link closes a connection in a long fade) resends only the
pieces not yet acknowledged, never the whole content (docs/protocol.md). 64 KiB crosses
the paper's farthest users' channel between two closes (docs/link.md)."""


class Due(Enum):
    """What the watchdog should do with a task now."""

    NOTHING = "nothing"
    RESEND = "resend"
    """No answer in time: send the request again."""
    LOST = "lost"
    """Past its deadline with no answer."""


@dataclass(kw_only=True, slots=True, eq=False)
class OpenTask:
    """A task sent and not yet settled (see the module doc)."""

    record: TaskRecord
    """What its user records (also kept in ``UserAgent.records``)."""
    request: TaskRequest
    """The request as last sent."""
    image: bytes
    mask: bytes
    """The content, kept until the task is settled: its node may need it again."""
    first_sent: float
    """When it was first sent (answer latency samples)."""
    resend_at: float
    """When to ask again if no answer came by then."""
    every: float
    """The wait before the next resend (doubles up to the resend timer's ceiling)."""
    deadline: float
    """When it is lost if no answer came by then."""
    second_chance: float | None = None
    """When its first resend has had its wait: until then it may still be recovered."""
    node_id: str | None = None
    """The node of its latest assignment: where its content goes."""
    content_to: str | None = None
    """The node its content was last sent to (None: not sent since it was last wanted)."""

    @property
    def task_id(self) -> str:
        return self.record.task_id

    @property
    def user_id(self) -> str:
        return self.record.user_id

    @property
    def size(self) -> int:
        return len(self.image) + len(self.mask)

    # -- where the content goes -------------------------------------------------------
    def assigned(self, a: Assignment) -> bool:
        """The orchestrator assigned it to ``a.node_id`` (again, maybe): True when its
        content should go there now. Content sent over WebRTC is the node's to fetch."""
        self.node_id = a.node_id
        self.record.node_id = a.node_id
        if self.request.content != "mqtt" or self.content_to == a.node_id:
            return False
        self.content_to = a.node_id
        return True

    def content(self) -> list[TaskContent]:
        """The TaskContent pieces for its node (they count as bytes sent)."""
        self.record.bytes_up += self.size
        data = self.image + self.mask
        return [TaskContent(task_id=self.task_id, checksum=self.request.checksum,
                            split=len(self.image), offset=at,
                            data=data[at:at + CONTENT_PIECE_BYTES])
                for at in range(0, len(data), CONTENT_PIECE_BYTES)]

    def content_wanted(self) -> None:
        """Its node may lack the content (no answer yet, or the node could not get it):
        the next assignment it sees sends the content again."""
        self.content_to = None

    # -- asking again ---------------------------------------------------------------------
    def retry(self, max_retries: int, *, inline: bool = False) -> TaskRequest | None:
        """The request to send again after a damaged answer or a refusal, or None when
        it was tried ``max_retries`` times. *inline*: its content goes on MQTT now."""
        if self.record.attempts > max_retries:
            return None
        content = "mqtt" if inline else self.request.content
        self.request = replace(self.request, attempt=self.record.attempts, content=content)
        self.record.attempts += 1
        return self.request

    def retry_content(self, max_retries: int) -> list[TaskContent] | None:
        """The content to send its node again after the node refused it (damaged on the
        way), or None when it was tried ``max_retries`` times."""
        if self.record.attempts > max_retries:
            return None
        self.record.attempts += 1
        return self.content()

    def due(self, now: float) -> Due:
        if now >= self.deadline:
            return Due.LOST
        return Due.RESEND if now >= self.resend_at else Due.NOTHING

    def resent(self, now: float, ceiling_s: float) -> None:
        """The watchdog sent it again at *now*: back off, and let its node have the content
        again (it may never have arrived)."""
        if self.second_chance is None:
            self.second_chance = now + self.every
        self.every = min(2 * self.every, max(ceiling_s, self.every))
        self.resend_at = now + self.every
        self.content_wanted()

    def still_open(self, now: float) -> None:
        """A ``duplicate`` reply: the services have it; wait a full interval again."""
        self.resend_at = now + self.every

    def recovering(self, now: float) -> bool:
        """Not yet asked again after its wait, or asked less than a wait ago."""
        return self.second_chance is None or now < self.second_chance
