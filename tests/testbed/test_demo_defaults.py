"""The demo's defaults: a private Mosquitto (amqtt where none is installed) and SAC."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from aaas import load_scenario
from testbed.brokers import running_broker
from testbed.cli import build_parser
from testbed.commands.demo import default_policy
from testbed.demo import DemoOptions, run_demo
from tests.helpers.brokers import require_mosquitto
from tests.helpers.stack import small_scenario


def test_demo_runs_sac_by_default_where_a_checkpoint_ships() -> None:
    assert build_parser().parse_args(["demo"]).policy is None  # decided per scenario
    assert default_policy(load_scenario("paper"), None) == "sac"
    assert default_policy(load_scenario("agod"), None) == "sac"
    # A scenario of one's own ships no weights: the demo still runs.
    assert default_policy(small_scenario(), None) == "least_loaded"
    assert default_policy(small_scenario(), "my.pt") == "sac"


def test_broker_option_takes_a_kind_or_a_url() -> None:
    parser = build_parser()
    assert parser.parse_args(["demo", "--broker", "embedded"]).broker == "embedded"
    assert parser.parse_args(["demo", "--broker", "mosquitto"]).broker == "mosquitto"
    url = parser.parse_args(["demo", "--broker", "mqtt://h:1884"]).broker
    assert (url.host, url.port) == ("h", 1884)


async def test_default_broker_is_a_private_mosquitto() -> None:
    require_mosquitto()
    async with running_broker(None) as b:
        assert b.kind == "mosquitto" and b.url.host == "127.0.0.1"
        from testbed.options import require_broker

        await require_broker(b.url)


def test_private_mosquitto_leaves_no_folder_behind(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Every demo used to leave /tmp/aaas-mosquitto-* (its config and log) behind."""
    require_mosquitto()
    from broker.mosquitto import MosquittoProcess

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with MosquittoProcess() as b:
        assert b.workdir.parent == tmp_path and (b.workdir / "mosquitto.conf").exists()
    assert list(tmp_path.iterdir()) == []
    given = tmp_path / "kept"  # a folder the caller gave is the caller's to keep
    given.mkdir()
    with MosquittoProcess(workdir=given):
        pass
    assert (given / "mosquitto.log").exists()


@pytest.mark.parametrize("kind", ["embedded", pytest.param("mosquitto",
                                                           marks=pytest.mark.mosquitto)])
async def test_summary_records_which_broker_ran(kind: str) -> None:
    if kind == "mosquitto":
        require_mosquitto()
    scenario = small_scenario(asps=3, workload={"users": 5, "horizon_s": 40_000,
                                                "arrival_rate": 0.0003})
    summary = await run_demo(DemoOptions(scenario=scenario, broker=kind, time_scale=20_000,
                                         link=False, progress=False))
    assert summary["broker"] == kind
    tasks = summary["tasks"]
    assert tasks["sent"] > 0 and tasks["finished"] == tasks["sent"]
