"""The aaas command: every subcommand explains itself, options are validated."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestrator.policies import POLICIES
from testbed.cli import build_parser, main


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


def test_cli_policy_choices_match_the_registry() -> None:
    # --policy's choices are the registry's names, not a copy of them
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    assert isinstance(sub, dict)
    for command in ("demo", "orchestrator"):
        policy = next(a for a in sub[command]._actions if a.dest == "policy")
        assert policy.choices is not None
        assert tuple(policy.choices) == POLICIES.names()
    assert POLICIES.names()[:6] == ("random", "round_robin", "least_loaded", "upper_bound",
                                   "upper_bound_blind", "sac")


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: aaas ") and len(out.splitlines()) > 3


def test_bad_broker_url_and_unknown_scenario_fail_clearly() -> None:
    run = [sys.executable, "-m", "testbed.cli"]
    bad = subprocess.run([*run, "orchestrator", "--broker", "http://x"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "mqtt://" in bad.stderr
    unknown = subprocess.run([*run, "demo", "--scenario", "nope"], capture_output=True,
                             text=True, timeout=60, check=False)
    assert unknown.returncode == 2
    assert "known names" in unknown.stdout + unknown.stderr
