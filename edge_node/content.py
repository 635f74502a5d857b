"""The content a node waits for: the image and mask of the tasks assigned to it.

A request carries no content (docs/protocol.md: the claim check). When a node admits a
task whose content comes over MQTT it expects :class:`~aaas.TaskContent` from the
task's user on its ``content`` route, with the checksum the assignment names: the whole
content in one message, or in pieces (each its ``offset``), put together here as they
come, in any order and across the user's reconnects (tus-style resumable upload). The
task's job waits for it (:meth:`ContentInbox.wait`) while pieces keep coming, for a
bounded time without any, then drops it. Content for a task the node is not waiting
for changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aaas import ErrorCode, ProtocolError, Scenario, TaskContent, TaskRequest
from aaas.validate import check_content

__all__ = ["ContentInbox"]


@dataclass
class _Expected:
    user_id: str
    size: int
    checksum: str
    arrived: asyncio.Future[tuple[bytes, bytes]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())
    pieces: dict[int, bytes] = field(default_factory=dict)
    """Pieces received so far, by offset."""
    have: int = 0
    """Bytes in ``pieces``."""
    last_piece: float = field(default_factory=time.monotonic)
    """When the latest piece came (wall monotonic): the wait runs from it."""

    def add(self, msg: TaskContent) -> bytes | None:
        """Keep *msg*'s piece; the whole content once every byte came, else None."""
        end = msg.offset + len(msg.data)
        if end > self.size or not msg.data:
            raise ProtocolError(ErrorCode.INVALID, f"piece {msg.offset}..{end} of "
                                f"{msg.task_id} is outside its {self.size} bytes")
        if msg.offset not in self.pieces:
            self.pieces[msg.offset] = msg.data
            self.have += len(msg.data)
        self.last_piece = time.monotonic()
        if self.have < self.size:
            return None
        data = b"".join(self.pieces[k] for k in sorted(self.pieces))
        self.pieces.clear()
        self.have = 0  # damaged on the way: the user sends every piece again
        return data


class ContentInbox:
    """Content expected by task id (see the module doc)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._expected: dict[str, _Expected] = {}

    def __len__(self) -> int:
        return len(self._expected)

    def expect(self, req: TaskRequest) -> None:
        """Wait for *req*'s content from its user (called when the task is admitted)."""
        self._expected[req.task_id] = _Expected(req.user_id, req.size, req.checksum)

    def offer(self, msg: TaskContent, user_id: str) -> bool:
        """Take *msg* (the content or a piece of it) from *user_id* if a task of that user
        waits for it: True when taken, False when no task waits for it. ProtocolError
        when it is for a waiting task but not its content (damaged on the way: the user
        sends it again)."""
        want = self._expected.get(msg.task_id)
        if want is None or want.user_id != user_id or want.arrived.done():
            return False
        if msg.checksum != want.checksum:
            raise ProtocolError(ErrorCode.INVALID, f"content of {msg.task_id} names checksum "
                                f"{msg.checksum[:12]}..., the assignment {want.checksum[:12]}...")
        data = want.add(msg)
        if data is None:
            return True
        image, mask = data[:msg.split], data[msg.split:]
        check_content(image, mask, self.scenario, size=want.size,
                      expected_checksum=want.checksum)
        want.arrived.set_result((image, mask))
        return True

    def progress(self, task_id: str) -> tuple[int, int]:
        """(bytes received, bytes expected) of *task_id*'s content ((0, 0): not expected)."""
        want = self._expected.get(task_id)
        return (0, 0) if want is None else (want.have, want.size)

    async def wait(self, task_id: str, timeout_s: float, *,
                   idle: bool = False) -> tuple[bytes, bytes] | None:
        """The image and mask of *task_id* once they arrived, or None when they did not
        within *timeout_s* wall seconds; *idle*: within *timeout_s* of the latest piece
        (a slow transfer that keeps coming is waited for). It goes on waiting for them:
        :meth:`drop` ends that."""
        want = self._expected[task_id]
        start = time.monotonic()
        while True:
            since = max(start, want.last_piece) if idle else start
            left = since + timeout_s - time.monotonic()
            if left <= 0:
                return None
            try:
                async with asyncio.timeout(left):
                    return await asyncio.shield(want.arrived)
            except TimeoutError:
                continue

    def drop(self, task_id: str) -> None:
        """Stop waiting for *task_id*'s content (it came, the task crashed or timed out)."""
        want = self._expected.pop(task_id, None)
        if want is not None and not want.arrived.done():
            want.arrived.cancel()
