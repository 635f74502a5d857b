"""Per-user link profiles from a scenario's [link] table."""

from __future__ import annotations

from pathlib import Path

import pytest

from aaas import ConfigError, load_scenario
from link import (
    FADING_MODELS,
    LINK_FAULTS,
    LinkProfile,
    error_modes,
    fault_chain,
    load_link_profiles,
    parse_link_table,
)
from link.channel import NoFading, Rician
from link.faults import Corrupt, Latency, Outage

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


def test_scenario_built_in_code_keeps_its_link_table() -> None:
    import tomllib

    from aaas import parse_scenario

    scenario = parse_scenario(tomllib.loads(SCENARIO))  # no file behind it
    assert scenario.link["default"]["modulation"] == "16qam"
    profiles = load_link_profiles(scenario)
    a = profiles.for_user("user-0000")
    assert a.modulation == "16qam"
    assert a.fading == Rician(k=4.0)
    assert 20 <= a.distance_m < 300
    assert profiles.for_user("pi-1").error_mode == "corrupt"
    assert profiles.seed == 5


def test_clean_fading_form_equals_the_flat_keys() -> None:
    flat = parse_link_table({"default": {"fading": "rician", "rician_k": 4}}).default
    clean = parse_link_table({"default": {"fading": {"model": "rician", "k": 4}}}).default
    assert flat == clean
    assert clean.fading == Rician(k=4.0)
    assert clean.fading != Rician()
    # A user override naming the same model keeps the default's settings.
    users = parse_link_table({"default": {"fading": {"model": "rician", "k": 2}},
                              "user": [{"id": "u", "fading": "rician", "distance_m": 9}]})
    assert users.for_user("u").fading == Rician(k=2.0)
    assert parse_link_table({"default": {"fading": "none"}}).default.fading == NoFading()


@pytest.mark.parametrize("fading", [
    "nakagami-q", {"model": "rician", "k": -1}, {"model": "rician", "m": 2}, {"k": 3}, 7,
])
def test_bad_fading_is_refused(fading: object) -> None:
    with pytest.raises(ConfigError):
        parse_link_table({"default": {"fading": fading}})


def test_fading_models_and_faults_are_registered_by_name() -> None:
    assert set(FADING_MODELS.names()) >= {"none", "rayleigh", "rician"}
    assert FADING_MODELS.get("rician") is Rician
    assert set(LINK_FAULTS.names()) >= {"outage", "arq", "corrupt", "latency"}
    assert set(error_modes()) == {"arq", "corrupt"}
    with pytest.raises(ConfigError, match="rayleigh"):  # the error lists the known names
        FADING_MODELS.get("nakagami-q")
    with pytest.raises(ConfigError, match="error mode"):
        LinkProfile(error_mode="latency")  # a fault, but it puts nothing on the air


def test_the_fault_chain_follows_the_profile() -> None:
    chain = fault_chain(LinkProfile().replace(error_mode="corrupt", retry_limit=3, latency_s=0.5,
                                              outage_close_s=9.0))
    assert [f.name for f in chain] == ["outage", "corrupt", "latency"]
    outage, corrupt, latency = chain
    assert isinstance(outage, Outage) and outage.close_s == 9.0
    assert isinstance(corrupt, Corrupt) and corrupt.arq.retry_limit == 3
    assert latency == Latency(latency_s=0.5)
    extra = parse_link_table({"default": {"faults": [{"fault": "latency", "latency_s": 0.25}]}})
    assert [f.name for f in fault_chain(extra.default)] == ["outage", "arq", "latency", "latency"]
    with pytest.raises(ConfigError):
        parse_link_table({"default": {"faults": [{"fault": "warp"}]}})
