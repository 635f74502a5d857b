"""Content domains in the model (``[domains]``): the draw of roles and skills, the
per-domain curves, the users' mixes and their tasks' domains."""

from __future__ import annotations

import numpy as np
import pytest

from aaas import ConfigError, load_scenario, parse_scenario
from aaas.config import GENERALIST
from aaas.domains import task_domains, user_mixes
from user_agent import poisson_arrivals, scenario_arrivals


def two_domains(**domains: object) -> dict[str, object]:
    return {"name": "two", "seed": 3, "asps": {"count": 6},
            "domains": {"names": ["faces", "places"], "specialists": 2, **domains}}


def test_one_domain_is_the_paper_exactly() -> None:
    paper = load_scenario("paper")
    assert paper.domains.names == ("generic",)
    for a in paper.asps:
        assert a.curves == (a.curve,) and a.specialty == GENERALIST


def test_domains_change_no_capacity_and_no_drawn_curve() -> None:
    paper, domains = load_scenario("paper"), load_scenario("paper-domains")
    assert [(a.id, a.capacity, a.curve) for a in paper.asps] == \
        [(a.id, a.capacity, a.curve) for a in domains.asps]


def test_specialists_take_turns_then_generalists_and_skills_scale_the_rise() -> None:
    sc = parse_scenario(two_domains())
    assert [a.specialty for a in sc.asps] == ["faces", "places", "faces", "places",
                                             GENERALIST, GENERALIST]
    d = sc.domains
    for a in sc.asps:
        for k, name in enumerate(d.names):
            c = a.curve_for(k)
            skill = c.max_quality / a.curve.max_quality
            rng = d.generalist if a.specialty == GENERALIST else \
                d.own if a.specialty == name else d.other
            assert rng.min <= skill < rng.max
            assert (c.ax, c.bx) == (a.curve.ax, a.curve.bx)
            assert c(200) == pytest.approx(skill * a.curve(200))
        if a.specialty != GENERALIST:
            own = d.index(a.specialty)
            assert a.curve_for(own)(250) > a.curve_for(1 - own)(250)


def test_override_names_a_specialty_and_pins_skills() -> None:
    sc = parse_scenario(two_domains() | {"asps": {"count": 6, "override": [
        {"index": 4, "specialty": "places"}, {"index": 0, "skill": {"places": 0.5}}]}})
    assert sc.asps[4].specialty == "places"
    a = sc.asps[0]
    assert a.curve_for(1).max_quality == pytest.approx(0.5 * a.curve.max_quality)


@pytest.mark.parametrize(("change", "match"), [
    ({"domains": {"names": ["faces", "faces"]}}, "unique"),
    ({"domains": {"names": ["Faces"]}}, "lower-case"),
    ({"domains": {"names": ["faces", "places"], "specialists": 4}}, "needs 8 ASPs"),
    ({"domains": {"names": ["faces", "places"], "own": {"min": 0.5, "max": 1.5}}}, r"\[0, 1\]"),
    ({"domains": {"names": ["faces", "places"]},
      "asps": {"count": 6, "override": [{"index": 0, "skill": {"cats": 0.5}}]}}, "cats"),
    ({"asps": {"count": 6, "override": [{"index": 0, "specialty": "faces"}]}},
     "more than one name"),
])
def test_bad_domains_fail_at_load_and_say_why(change: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_scenario({"name": "bad", "asps": {"count": 6}, **change})


def test_users_have_fixed_mixes_and_tasks_follow_them() -> None:
    sc = load_scenario("paper-domains")
    mix = user_mixes(sc)
    assert mix.shape == (sc.workload.users, 2)
    np.testing.assert_allclose(mix.sum(axis=1), 1.0)
    np.testing.assert_array_equal(mix, user_mixes(sc))
    # concentration 0.5: many users mostly send one domain, some both
    assert ((mix[:, 0] < 0.1) | (mix[:, 0] > 0.9)).mean() > 0.3
    assert ((mix[:, 0] > 0.3) & (mix[:, 0] < 0.7)).mean() > 0.1
    pinned = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    users = np.repeat(np.arange(3), 2000)
    d = task_domains(pinned, users, np.random.default_rng(0))
    assert (d[users == 0] == 0).all() and (d[users == 1] == 1).all()
    assert abs(d[users == 2].mean() - 0.5) < 0.05


def test_one_domain_arrivals_are_the_same_as_before_domains() -> None:
    paper = load_scenario("paper")
    before = poisson_arrivals(paper.workload, paper.user_ids(), np.random.default_rng([1, 0]))
    now = scenario_arrivals(paper, np.random.default_rng([1, 0]))
    assert now == before and {a.domain for a in now} == {"generic"}


def test_live_arrivals_carry_their_users_domains() -> None:
    sc = load_scenario("paper-domains")
    arrivals = scenario_arrivals(sc, np.random.default_rng([5, 0]))
    mix = dict(zip(sc.user_ids(), user_mixes(sc)[:, 0], strict=True))
    faces = [a for a in arrivals if a.domain == "faces"]
    assert 0 < len(faces) < len(arrivals)
    # a task's domain is likely under its user's mix
    assert np.mean([mix[a.user_id] for a in faces]) > 0.6
