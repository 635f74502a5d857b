"""The content a node waits for: the image and mask of the tasks assigned to it.

A request carries no content (docs/protocol.md: the claim check). When a node admits a
task whose content comes over MQTT it expects a :class:`~aaas.TaskContent` from the
task's user on its ``content`` route, with the checksum the assignment names; the
task's job waits for it (:meth:`ContentInbox.wait`), for a bounded time, then drops it.
Content for a task the node is not waiting for changes nothing.
"""

from __future__ import annotations

import asyncio
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
        """Take *msg* from *user_id* if a task of that user waits for it: True when taken,
        False when no task waits for it. ProtocolError when it is for a waiting task
        but not its content (damaged on the way: the user sends it again)."""
        want = self._expected.get(msg.task_id)
        if want is None or want.user_id != user_id or want.arrived.done():
            return False
        if msg.checksum != want.checksum:
            raise ProtocolError(ErrorCode.INVALID, f"content of {msg.task_id} names checksum "
                                f"{msg.checksum[:12]}..., the assignment {want.checksum[:12]}...")
        check_content(msg.image, msg.mask, self.scenario, size=want.size,
                      expected_checksum=want.checksum)
        want.arrived.set_result((msg.image, msg.mask))
        return True

    async def wait(self, task_id: str, timeout_s: float) -> tuple[bytes, bytes] | None:
        """The image and mask of *task_id* once they arrived, or None when they did not
        within *timeout_s* wall seconds (it goes on waiting for them: :meth:`drop` ends
        that)."""
        want = self._expected[task_id]
        try:
            async with asyncio.timeout(max(0.0, timeout_s)):
                return await asyncio.shield(want.arrived)
        except TimeoutError:
            return None

    def drop(self, task_id: str) -> None:
        """Stop waiting for *task_id*'s content (it came, the task crashed or timed out)."""
        want = self._expected.pop(task_id, None)
        if want is not None and not want.arrived.done():
            want.arrived.cancel()
