"""The orchestrator's task table: every open task of the run, kept so a restart rebuilds it.

A task is keyed by (user id, task id) and is ``queued`` (no node yet),
``assigned`` (to a node, under that node's process run ``boot``) or ``done``
(a node or the orchestrator answered it). It leaves the table when its user
acknowledges it (``users/{user_id}/ack/{node_id}``); acknowledged keys are remembered
(bounded) so a late copy of the request gets a ``duplicate`` reply, not a second run.

With a *path* the table is mirrored to SQLite (the standard library's; one
small transaction per change, WAL journal) and read back on start, so an
orchestrator killed and started again knows which tasks are where. Without a
path it lives in memory only (the in-process demo, where the orchestrator's
restart is the whole testbed's).
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

__all__ = ["TaskEntry", "TaskState", "TaskStore"]

TaskState = Literal["queued", "assigned", "done"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    user_id TEXT NOT NULL, task_id TEXT NOT NULL, state TEXT NOT NULL, steps INTEGER NOT NULL,
    node_id TEXT, boot TEXT, request BLOB, result BLOB, reassigned INTEGER NOT NULL,
    PRIMARY KEY (user_id, task_id));
CREATE TABLE IF NOT EXISTS boots (node_id TEXT PRIMARY KEY, boot TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acked (user_id TEXT NOT NULL, task_id TEXT NOT NULL,
    PRIMARY KEY (user_id, task_id));
"""


@dataclass(frozen=True, kw_only=True)
class TaskEntry:
    """One open task. Frozen: its state changes only through its own methods, each of
    which returns the entry after the change (the store keeps that one)."""

    user_id: str
    task_id: str
    steps: int
    state: TaskState = "queued"
    node_id: str | None = None
    boot: str | None = None
    """The node's process run when the task was assigned (its NodeStatus.boot)."""
    request: bytes | None = None
    """The encoded TaskRequest (no content: that goes from the user to the node), kept
    while the task may have to be placed again and for its reply key."""
    result: bytes | None = None
    """An encoded TaskResult the orchestrator sent itself (rejection, node_offline)."""
    reassigned: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.user_id, self.task_id)

    def assigned(self, node_id: str, boot: str | None) -> TaskEntry:
        """Placed on *node_id* (of process run *boot*)."""
        return replace(self, state="assigned", node_id=node_id, boot=boot)

    def answered_by(self, node_id: str) -> TaskEntry | None:
        """The node answered it (and keeps the answer to send again); None when the task
        is not assigned to that node (an answer of an earlier placement)."""
        if self.state != "assigned" or self.node_id != node_id:
            return None
        return replace(self, state="done")

    def answered(self, result: bytes) -> TaskEntry:
        """The orchestrator answered it itself with *result* (kept to send again)."""
        return replace(self, state="done", result=result)

    def requeued(self) -> TaskEntry:
        """Its node was lost: it waits to be placed again."""
        return replace(self, state="queued", node_id=None, boot=None,
                       reassigned=self.reassigned + 1)


class TaskStore:
    """Open tasks by (user, task id); see the module doc."""

    def __init__(self, path: Path | None = None, *, max_entries: int = 200_000,
                 max_acked: int = 50_000) -> None:
        self.path = path
        self.max_entries = max_entries
        self.max_acked = max_acked
        self._tasks: OrderedDict[tuple[str, str], TaskEntry] = OrderedDict()
        self._acked: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.boots: dict[str, str] = {}
        self.evicted = 0
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit: every change is its own small transaction, on disk before we go on.
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._load()

    def _load(self) -> None:
        assert self._db is not None
        for row in self._db.execute("SELECT user_id, task_id, state, steps, node_id, boot, "
                                    "request, result, reassigned FROM tasks ORDER BY rowid"):
            e = TaskEntry(user_id=row[0], task_id=row[1], state=row[2], steps=row[3],
                          node_id=row[4], boot=row[5], request=row[6], result=row[7],
                          reassigned=row[8])
            self._tasks[e.key] = e
        self.boots = dict(self._db.execute("SELECT node_id, boot FROM boots").fetchall())
        for user_id, task_id in self._db.execute("SELECT user_id, task_id FROM acked"):
            self._acked[(user_id, task_id)] = None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- queries -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._tasks)

    def get(self, user_id: str, task_id: str) -> TaskEntry | None:
        return self._tasks.get((user_id, task_id))

    def acked(self, user_id: str, task_id: str) -> bool:
        return (user_id, task_id) in self._acked

    def entries(self) -> Iterator[TaskEntry]:
        return iter(list(self._tasks.values()))

    def on_node(self, node_id: str, *, state: TaskState = "assigned") -> list[TaskEntry]:
        return [e for e in self._tasks.values() if e.node_id == node_id and e.state == state]

    # -- changes -------------------------------------------------------------------------
    def put(self, entry: TaskEntry) -> None:
        """Insert or update *entry* (and write it through)."""
        self._tasks[entry.key] = entry
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO tasks (user_id, task_id, state, steps, node_id, boot, "
                "request, result, reassigned) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.user_id, entry.task_id, entry.state, entry.steps, entry.node_id,
                 entry.boot, entry.request, entry.result, entry.reassigned))
        while len(self._tasks) > self.max_entries:
            # Bounded memory: a task its user never acknowledged (the user agent died)
            # is forgotten, oldest first.
            old = next(iter(self._tasks.values()))
            self._forget(old.key)
            self.evicted += 1

    def ack(self, user_id: str, task_id: str) -> TaskEntry | None:
        """The user settled the task: forget it, remember the key. Returns the entry."""
        entry = self._tasks.get((user_id, task_id))
        self._forget((user_id, task_id))
        self._acked[(user_id, task_id)] = None
        if self._db is not None:
            self._db.execute("INSERT OR IGNORE INTO acked VALUES (?, ?)", (user_id, task_id))
        while len(self._acked) > self.max_acked:
            old_key, _ = self._acked.popitem(last=False)
            if self._db is not None:
                self._db.execute("DELETE FROM acked WHERE user_id = ? AND task_id = ?", old_key)
        return entry

    def _forget(self, key: tuple[str, str]) -> None:
        self._tasks.pop(key, None)
        if self._db is not None:
            self._db.execute("DELETE FROM tasks WHERE user_id = ? AND task_id = ?", key)

    def set_boot(self, node_id: str, boot: str) -> None:
        self.boots[node_id] = boot
        if self._db is not None:
            self._db.execute("INSERT OR REPLACE INTO boots VALUES (?, ?)", (node_id, boot))
