"""Per-user link profiles from a scenario's optional ``[link]`` table, with defaults.

```toml
[link]
seed = 7                        # optional; default: the scenario seed
[link.default]                  # every profile key (LinkProfile.keys()); a distance may be a range
distance_m = { min = 10, max = 200 }   # drawn once per user from the seed
modulation = "qpsk"
fading = { model = "rician", k = 4 }   # or a model name: fading = "rayleigh"
[[link.user]]                   # overrides for some users
ids = ["user-0003"]
distance_m = 400
error_mode = "corrupt"
```

The shared scenario parser keeps the table raw in ``Scenario.link`` (the vocabulary
does not know the link's types); it is decoded and validated here, so a scenario
built in code (``aaas.parse_scenario(dict)``) keeps its link profiles.
"""

from __future__ import annotations

import tomllib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aaas import ConfigError, Scenario

from .profile import LinkProfile

__all__ = ["LinkProfiles", "load_link_profiles", "parse_link_table"]


@dataclass(kw_only=True)
class LinkProfiles:
    """The default profile, per-user overrides, and ranges drawn per user."""

    default: LinkProfile = field(default_factory=LinkProfile)
    """Profile of any user without an override."""
    users: dict[str, LinkProfile] = field(default_factory=dict)
    """Explicit per-user profiles (win over everything else)."""
    distance_range: tuple[float, float] | None = None
    """When set, each user's distance is drawn uniformly in [min, max) from the seed."""
    seed: int = 0
    """Seed of the per-user draws (a user's draw depends only on the seed and its id)."""

    @classmethod
    def perfect(cls) -> LinkProfiles:
        return cls(default=LinkProfile.perfect())

    def for_user(self, user_id: str) -> LinkProfile:
        if user_id in self.users:
            return self.users[user_id]
        if self.distance_range is None:
            return self.default
        rng = np.random.default_rng([self.seed, zlib.crc32(user_id.encode())])
        lo, hi = self.distance_range
        return self.default.replace(distance_m=float(rng.uniform(lo, hi)))

    def set_user(self, user_id: str, profile: LinkProfile) -> None:
        self.users[user_id] = profile


def _distance_range(raw: Mapping[str, Any], where: str) -> tuple[float, float] | None:
    value = raw.get("distance_m")
    if not isinstance(value, dict):
        return None
    lo, hi = value.get("min"), value.get("max")
    if not isinstance(lo, int | float) or not isinstance(hi, int | float) or not 0 < lo <= hi:
        raise ConfigError(f"{where}: distance_m range needs 0 < min <= max, got {value!r}")
    if set(value) - {"min", "max"}:
        raise ConfigError(f"{where}: distance_m range takes only min and max")
    return float(lo), float(hi)


def _profile(base: LinkProfile, raw: Mapping[str, Any], where: str) -> LinkProfile:
    try:
        return base.replace(**raw)
    except ConfigError as exc:  # say where: the file and the table
        raise ConfigError(f"{where}: {exc}") from None


def parse_link_table(table: Mapping[str, Any], *, seed: int = 0,
                     where: str = "[link]") -> LinkProfiles:
    """Build LinkProfiles from a parsed ``[link]`` table (ConfigError on anything invalid)."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = set(table) - {"seed", "default", "user"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (allowed: default, seed, user)")
    if not isinstance(table.get("default", {}), Mapping):
        raise ConfigError(f"{where}.default must be a table")
    if not isinstance(table.get("user", []), list):
        raise ConfigError(f"{where}: [[link.user]] must be an array of tables")
    raw_default = dict(table.get("default", {}))
    dist = _distance_range(raw_default, f"{where}.default")
    if dist is not None:
        raw_default["distance_m"] = dist[0]
    default = _profile(LinkProfile(), raw_default, f"{where}.default")
    users: dict[str, LinkProfile] = {}
    for k, raw in enumerate(table.get("user", [])):
        w = f"{where} [[link.user]] #{k}"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{w} must be a table")
        raw = dict(raw)
        ids = raw.pop("ids", None)
        one = raw.pop("id", None)
        ids = [one] if one is not None else ids
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ConfigError(f"{w}: give id = \"...\" or ids = [\"...\"]")
        profile = _profile(default, raw, w)
        users.update(dict.fromkeys(ids, profile))
    link_seed = table.get("seed", seed)
    if isinstance(link_seed, bool) or not isinstance(link_seed, int):
        raise ConfigError(f"{where}: seed must be an integer")
    return LinkProfiles(default=default, users=users, distance_range=dist, seed=link_seed)


def load_link_profiles(scenario: Scenario | str | Path) -> LinkProfiles:
    """The link profiles of a scenario (its ``[link]`` table), or the defaults without one.

    A :class:`~aaas.Scenario` is read from its ``link`` field (nothing is re-read
    from disk); a path is read as a TOML file (missing: the defaults).
    """
    if isinstance(scenario, Scenario):
        if not scenario.link:
            return LinkProfiles(seed=scenario.seed)
        return parse_link_table(scenario.link, seed=scenario.seed,
                                where=f"{scenario.source} [link]")
    path = Path(scenario)
    if not path.is_file():
        return LinkProfiles()
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    seed = int(data.get("seed", 0)) if isinstance(data.get("seed", 0), int) else 0
    if "link" not in data:
        return LinkProfiles(seed=seed)
    return parse_link_table(data["link"], seed=seed, where=f"{path} [link]")
