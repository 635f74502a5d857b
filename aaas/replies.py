"""Error replies: what every process sends back for a bad message."""

from __future__ import annotations

import msgspec

from .contract import check_depth
from .errors import ProtocolError
from .schemas import ErrorInfo, ErrorReply

__all__ = ["error_reply", "guess_task_id"]


class _TaskIdOnly(msgspec.Struct):
    task_id: str | None = None


_guess = msgspec.json.Decoder(_TaskIdOnly)


def guess_task_id(raw: bytes) -> str | None:
    """The ``task_id`` of a payload that may be invalid, when it is readable."""
    try:
        check_depth(raw)
        tid = _guess.decode(raw).task_id
    except (msgspec.DecodeError, msgspec.ValidationError, ProtocolError, UnicodeDecodeError):
        # (invalid UTF-8 inside a string: a bit error on the link)
        return None
    return tid if isinstance(tid, str) and len(tid) <= 128 else None


def error_reply(exc: ProtocolError, *, topic: str, raw: bytes = b"",
                task_id: str | None = None) -> ErrorReply:
    """The ErrorReply for *exc*, echoing the task id when it can be read."""
    return ErrorReply(
        task_id=task_id if task_id is not None else guess_task_id(raw),
        topic=topic,
        error=ErrorInfo(code=exc.code, message=exc.message),
    )
