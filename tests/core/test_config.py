"""Scenario files load into typed config; bad ones fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from aaas import ConfigError, load_scenario, parse_scenario


def test_paper_scenario_has_the_papers_numbers() -> None:
    s = load_scenario("paper")
    assert len(s.asps) == 20
    assert all(600 <= a.capacity <= 1500 and a.capacity % 100 == 0 for a in s.asps)
    for a in s.asps:
        c = a.curve
        assert 0 <= c.ax < 100 and 0 <= c.ay < 0.5 and 150 <= c.bx < 250 and 0.5 <= c.by < 1
    w = s.workload
    assert (w.users, w.arrival_rate, w.horizon_s) == (1000, 0.001, 1e6)
    assert list(w.steps_choices) == list(range(100, 251, 10))
    assert s.crash.base_penalty == 2.0 and s.runtime.unit_s == 60.0


def test_agod_scenario_uses_the_reference_grids() -> None:
    s = load_scenario("agod")
    assert {a.capacity for a in s.asps} <= set(range(400, 901, 100))
    assert all(a.curve.ax % 10 == 0 and a.curve.bx % 10 == 0 for a in s.asps)


def test_same_seed_same_asps_and_different_seed_differs() -> None:
    assert load_scenario("paper").asps == load_scenario("paper").asps
    base = {"asps": {"count": 5}}
    assert parse_scenario({**base, "seed": 1}).asps != parse_scenario({**base, "seed": 2}).asps


def test_override_pins_one_asp() -> None:
    s = parse_scenario({"seed": 3, "asps": {"count": 3, "override": [
        {"index": 1, "capacity": 999, "ax": 10, "ay": 0.1, "bx": 200, "by": 0.9}]}})
    assert s.asps[1].capacity == 999 and s.asps[1].curve.by == 0.9


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"bogus": 1}, "unknown keys"),
        ({"asps": {"count": 0}}, "count must be > 0"),
        ({"asps": {"capacity": {"min": 5}}}, "min and max"),
        ({"asps": {"backend": "gpu-magic"}}, "unknown backend"),
        ({"workload": {"arrival_rate": "fast"}}, "must be a number"),
        ({"asps": {"count": 2, "override": [{"index": 5}]}}, "index 5"),
    ],
)
def test_invalid_scenarios_say_what_is_wrong(data: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse_scenario(data)


def test_unknown_scenario_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="paper"):
        load_scenario("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)


def test_answer_deadline_is_two_runtimes_plus_the_queue_timeout() -> None:
    s = parse_scenario({"runtime": {"a": 0.0, "b": 0.1, "c": 1.0, "unit_s": 60.0},
                        "limits": {"queue_timeout_s": 100.0}})
    assert s.runtime(100) == pytest.approx(660.0)
    assert s.answer_deadline_s(100) == pytest.approx(2 * 660.0 + 100.0)
