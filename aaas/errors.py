"""The project's small exception tree.

Every error the project raises on purpose derives from :class:`AaasError`.
Misuse errors also inherit the matching builtin, so callers that only know the
builtin (``except ValueError``) still catch them.
"""

from __future__ import annotations

from .schemas import ErrorCode

__all__ = ["AaasError", "ConfigError", "ProtocolError"]


class AaasError(Exception):
    """Base class of every error raised by the emulator on purpose."""


class ConfigError(AaasError, ValueError):
    """A scenario, a command-line option or a broker URL is invalid."""


class ProtocolError(AaasError, ValueError):
    """A message does not follow the MQTT contract.

    ``code`` is a short stable reason, one of :class:`~aaas.schemas.ErrorCode`
    (``malformed``, ``schema_version``, ``invalid``, ``steps_out_of_range``, ...).
    It is what error replies carry and what the ``bad_input`` metrics are
    labelled with.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
