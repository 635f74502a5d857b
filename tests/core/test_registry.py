"""aaas.registry: names in code and from entry points, clear errors, broken plug-ins skipped."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aaas import ConfigError
from aaas.registry import Registry

GROUP = "aaas.test_plugins"


def _install_fake_dist(site: Path, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """A distribution as importlib.metadata sees it: a dist-info folder with
    METADATA and entry_points.txt, and its modules, on a folder put on sys.path."""
    dist = site / "fake_plugins-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugins\nVersion: 1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}")
    for mod, text in modules.items():
        (site / f"{mod}.py").write_text(text)


def test_register_add_get_names_items() -> None:
    reg: Registry[Callable[[], int]] = Registry("number")

    @reg.register("one")
    def _one() -> int:
        return 1

    reg.add("two", lambda: 2)
    assert reg.names() == ("one", "two")
    assert "one" in reg and "three" not in reg
    assert reg.get("one") is _one
    assert [n for n, _ in reg.items()] == ["one", "two"]


def test_unknown_name_lists_the_known_ones() -> None:
    reg: Registry[str] = Registry("colour")
    reg.add("red", "r")
    reg.add("blue", "b")
    with pytest.raises(ConfigError, match=r"unknown colour 'green' \(known: red, blue\)"):
        reg.get("green")


def test_a_name_registered_twice_in_code_is_refused() -> None:
    reg: Registry[str] = Registry("colour")
    reg.add("red", "r")
    with pytest.raises(ValueError, match="already registered"):
        reg.add("red", "r2")
    with pytest.raises(ValueError, match="empty"):
        reg.add(" red", "r3")


def test_entry_points_are_listed_without_import_and_loaded_on_get(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_fake_dist(tmp_path, {"good": "fake_good:VALUE", "builtin": "fake_good:OTHER"},
                       {"fake_good": "VALUE = 'from outside'\nOTHER = 'shadowed'\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[str] = Registry("thing", entry_point_group=GROUP)
    reg.add("builtin", "in code")
    assert reg.names() == ("builtin", "good")
    assert "fake_good" not in sys.modules  # listed, not imported
    assert reg.get("good") == "from outside"
    assert reg.get("builtin") == "in code"  # code wins over an entry point of the same name
    monkeypatch.delitem(sys.modules, "fake_good")


def test_a_broken_entry_point_is_logged_and_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _install_fake_dist(tmp_path, {"broken": "fake_broken:VALUE", "wrong": "fake_ok:NUMBER",
                                  "ok": "fake_ok:VALUE"},
                       {"fake_broken": "import no_such_module_anywhere\nVALUE = 'x'\n",
                        "fake_ok": "VALUE = 'fine'\nNUMBER = 3\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[str] = Registry("thing", entry_point_group=GROUP,
                                  check=lambda obj: isinstance(obj, str))
    with caplog.at_level(logging.WARNING, logger="aaas.registry"):
        loaded = dict(reg.items())
    assert loaded == {"ok": "fine"}
    assert "broken" in caplog.text and "ModuleNotFoundError" in caplog.text
    assert "wrong" in caplog.text and "not a thing" in caplog.text
    assert reg.names() == ("ok",)
    with pytest.raises(ConfigError, match=r"'broken' could not be loaded.*no_such_module"):
        reg.get("broken")
    monkeypatch.delitem(sys.modules, "fake_ok")
