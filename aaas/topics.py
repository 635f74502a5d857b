"""Topic templates: one template compiles to an MQTT filter and a regex.

A template such as ``aaas/v1/users/{user_id}/request`` gives

* ``format(user_id="u1")`` -> ``aaas/v1/users/u1/request``;
* ``filter`` -> ``aaas/v1/users/+/request`` (what a subscriber uses);
* ``match("aaas/v1/users/u1/request")`` -> ``{"user_id": "u1"}``.

Nothing outside :mod:`aaas` spells a topic string; every process goes through
the templates in :mod:`aaas.contract`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ConfigError, ProtocolError
from .schemas import ErrorCode

__all__ = ["TopicTemplate", "validate_topic_value"]

_PARAM = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")
# A parameter value: one topic level, no wildcards, no separators.
_VALUE = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


def validate_topic_value(name: str, value: str) -> str:
    """Return *value* if it can stand in one topic level, else raise ProtocolError."""
    if not isinstance(value, str) or not _VALUE.match(value):
        raise ProtocolError(
            ErrorCode.INVALID,
            f"{name}={value!r} is not a valid topic level "
            "(1-128 characters of letters, digits, '_', '.', ':' or '-')",
        )
    return value


@dataclass(frozen=True)
class TopicTemplate:
    """An MQTT topic with named single-level parameters."""

    template: str
    """Levels separated by ``/``; a level ``{name}`` is a parameter."""
    params: tuple[str, ...] = field(init=False)
    filter: str = field(init=False)
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        levels = self.template.split("/")
        params: list[str] = []
        filter_levels: list[str] = []
        regex_levels: list[str] = []
        for level in levels:
            if not level or "+" in level or "#" in level:
                raise ConfigError(f"bad topic template level {level!r} in {self.template!r}")
            m = _PARAM.match(level)
            if m:
                params.append(m.group(1))
                filter_levels.append("+")
                regex_levels.append(f"(?P<{m.group(1)}>[^/]+)")
            elif "{" in level or "}" in level:
                raise ConfigError(f"a parameter must fill a whole level: {self.template!r}")
            else:
                filter_levels.append(level)
                regex_levels.append(re.escape(level))
        object.__setattr__(self, "params", tuple(params))
        object.__setattr__(self, "filter", "/".join(filter_levels))
        object.__setattr__(self, "_regex", re.compile("^" + "/".join(regex_levels) + "$"))

    def format(self, **values: str) -> str:
        """Fill every parameter; each value must be one valid topic level."""
        if set(values) != set(self.params):
            raise ConfigError(f"{self.template!r} takes {self.params}, got {tuple(values)}")
        return self.narrowed(**values)

    def narrowed(self, **values: str) -> str:
        """The subscription filter with the given parameters filled and the others ``+``."""
        unknown = set(values) - set(self.params)
        if unknown:
            raise ConfigError(f"{self.template!r} has no parameter {sorted(unknown)}")
        out = self.template
        for name in self.params:
            value = validate_topic_value(name, values[name]) if name in values else "+"
            out = out.replace("{" + name + "}", value)
        return out

    def match(self, topic: str) -> dict[str, str] | None:
        """The parameters of *topic*, or ``None`` when it is not of this template."""
        m = self._regex.match(topic)
        return None if m is None else m.groupdict()
