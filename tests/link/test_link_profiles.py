"""Per-user link profiles from a scenario's [link] table."""

from __future__ import annotations

from pathlib import Path

import pytest

from aaas import ConfigError, load_scenario
from broker.link import LinkProfile, load_link_profiles, parse_link_table

SCENARIO = """
name = "linked"
seed = 5
[asps]
count = 2
[workload]
users = 4
[link]
[link.default]
distance_m = { min = 20, max = 300 }
modulation = "16qam"
fading = "rician"
rician_k = 4
[[link.user]]
ids = ["user-0003", "pi-1"]
distance_m = 500
error_mode = "corrupt"
gilbert = { p_good_bad = 0.02, p_bad_good = 0.4, loss_bad = 0.9 }
"""


def test_scenario_with_link_table(tmp_path: Path) -> None:
    path = tmp_path / "linked.toml"
    path.write_text(SCENARIO)
    scenario = load_scenario(path)  # the shared parser accepts [link]
    profiles = load_link_profiles(scenario)
    a, b = profiles.for_user("user-0000"), profiles.for_user("user-0001")
    assert a.modulation == "16qam"
    assert a.fading == "rician"
    assert a.rician_k == 4.0
    assert 20 <= a.distance_m < 300
    assert a.distance_m != b.distance_m
    assert profiles.for_user("user-0000") == a  # drawn from the seed: stable
    over = profiles.for_user("pi-1")
    assert over.distance_m == 500.0
    assert over.error_mode == "corrupt"
    assert over.gilbert is not None
    assert over.gilbert.loss_bad == 0.9
    assert over.modulation == "16qam"  # inherits the default


def test_scenario_without_link_table_gets_defaults() -> None:
    profiles = load_link_profiles(load_scenario("agod"))
    assert profiles.for_user("user-0001") == LinkProfile()


@pytest.mark.parametrize("table", [
    {"default": {"modulation": "64qam"}},
    {"default": {"distance_m": "near"}},
    {"default": {"distance_m": {"min": 5}}},
    {"user": [{"distance_m": 3}]},
    {"unknown": 1},
    {"default": {"warp": 9}},
])
def test_bad_link_tables_are_refused(table: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        parse_link_table(table)
