"""The identities of a testbed: one per process and per emulated user, each with a role."""

from __future__ import annotations

from dataclasses import dataclass

from aaas import ConfigError, Role, Scenario

__all__ = ["OBSERVER", "Identity", "identities_for"]

OBSERVER = "observer"
"""A read-only identity for people and dashboards (MQTT Explorer, mosquitto_sub)."""


@dataclass(frozen=True, order=True)
class Identity:
    """A name that logs in to the broker (user name = client id) and its role."""

    name: str
    role: Role | None
    """None for the read-only observer (no role of the contract)."""


def identities_for(scenario: Scenario) -> list[Identity]:
    """Every identity a testbed of *scenario* needs: the orchestrator, the link, an
    operator, the observer, one per ASP and one per user."""
    out = [Identity("orchestrator", Role.ORCHESTRATOR), Identity("link", Role.LINK),
           Identity("operator", Role.OPERATOR), Identity(OBSERVER, None)]
    out += [Identity(a.id, Role.EDGE_NODE) for a in scenario.asps]
    out += [Identity(u, Role.USER) for u in scenario.user_ids()]
    names = [i.name for i in out]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"identities must be unique across roles; {dup} repeat")
    return out
