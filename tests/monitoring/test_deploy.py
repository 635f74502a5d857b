"""docker/: the compose file validates, images copy only files that exist, every command
parses with the real ``aaas`` CLI, and the Mosquitto config runs (with passwords and ACL)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from broker import free_port, wait_port
from testbed.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
ENV = {"AAAS_CLOCK_EPOCH": "1700000000"}


def _compose() -> dict:
    text = (DOCKER / "compose.yml").read_text()
    # The interpolation docker-compose does: ${VAR}, ${VAR:-default}, ${VAR:?error}.
    def sub(m: re.Match[str]) -> str:
        name, op, rest = m.group(1), m.group(2), m.group(3)
        if name in ENV:
            return ENV[name]
        if op == ":-":
            return rest
        raise AssertionError(f"{name} is required")
    return yaml.safe_load(re.sub(r"\$\{(\w+)(:[-?])?([^}]*)\}", sub, text))


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_three_images() -> None:
    assert {p.stem for p in DOCKERFILES} == {"edge", "orchestrator", "user"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.stem)
def test_dockerfile_copies_only_existing_files(dockerfile: Path) -> None:
    copies = [rest for word, rest in _instructions(dockerfile) if word in ("COPY", "ADD")]
    assert copies
    ignore = Path(f"{dockerfile}.dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for rest in copies:
        *sources, _dest = [a for a in shlex.split(rest) if not a.startswith("--")]
        for src in sources:
            assert (ROOT / src).exists(), f"{dockerfile.name}: COPY {src}: no such file"
            assert src.rstrip("/") in allowed, f"{dockerfile.name}: {src} is .dockerignored"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.stem)
def test_dockerfile_copies_what_pip_install_needs(dockerfile: Path) -> None:
    """Every package of the distribution (the `aaas` command lives in testbed/) and the
    licence files: setuptools refuses to build without them."""
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in meta["tool"]["setuptools"]["packages"]["find"]["include"]}
    needed = packages | set(meta["project"]["license-files"]) | {"pyproject.toml"}
    copies = [rest for word, rest in _instructions(dockerfile) if word in ("COPY", "ADD")]
    sources = {a.rstrip("/") for rest in copies
               for a in shlex.split(rest)[:-1] if not a.startswith("--")}
    assert not needed - sources, f"{dockerfile.name} does not copy {sorted(needed - sources)}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.stem)
def test_dockerfile_command_parses(dockerfile: Path) -> None:
    steps = dict(_instructions(dockerfile))
    entry = yaml.safe_load(steps["ENTRYPOINT"])
    cmd = yaml.safe_load(steps["CMD"])
    assert entry == ["aaas"]
    build_parser().parse_args(cmd)


HEAVY = ("torch", "torchvision", "cv2", "scipy", "diffusers", "piq", "amqtt", "gymnasium",
         "matplotlib")
BLOCKER = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {HEAVY!r}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import testbed.cli, user_agent, link, monitoring
testbed.cli.build_parser()
"""


def test_user_image_needs_no_torch() -> None:
    """The user image installs only the `user` extra, and what it runs imports nothing heavy."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["user"]
    assert not [d for d in deps if re.split(r"[<>=\[ ]", d)[0] in HEAVY]
    installs = [rest for word, rest in _instructions(DOCKER / "user.Dockerfile") if word == "RUN"]
    assert any('pip install -c constraints.txt ".[user]"' in r for r in installs)
    res = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert res.returncode == 0, res.stderr


def test_compose_services_and_files() -> None:
    conf = _compose()
    services = conf["services"]
    assert {"mosquitto", "link", "edge", "orchestrator", "users", "prometheus",
            "grafana"} <= set(services)
    gpu = services["edge"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]
    for name, svc in services.items():
        if "build" in svc:
            assert (DOCKER / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("."):
                assert (DOCKER / src).exists() or src == "./models", f"{name}: {src}"


def test_compose_commands_parse_with_the_real_cli() -> None:
    parser = build_parser()
    services = _compose()["services"]
    for name in ("link", "edge", "orchestrator", "users"):
        args = parser.parse_args(shlex.split(services[name]["command"]))
        assert args.command in ("link", "edge-node", "orchestrator", "user-agent"), name
        assert args.metrics_host == "0.0.0.0"
    targets = yaml.safe_load((DOCKER / "targets" / "compose.yml").read_text())
    ports = {t.split(":")[1] for group in targets for t in group["targets"]}
    for name in ("link", "edge", "orchestrator", "users"):
        port = shlex.split(services[name]["command"])
        assert port[port.index("--metrics-port") + 1] in ports, name


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose is not installed (scripts/setup.sh installs it)")
def test_docker_compose_config_validates() -> None:
    res = subprocess.run(["docker-compose", "-f", str(DOCKER / "compose.yml"), "config", "-q"],
                         env={**os.environ, **ENV}, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    res = subprocess.run(["docker-compose", "-f", str(DOCKER / "compose.yml"), "config", "-q"],
                         env={k: v for k, v in os.environ.items() if k != "AAAS_CLOCK_EPOCH"},
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0
    assert "AAAS_CLOCK_EPOCH" in res.stderr



@pytest.mark.skipif(shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists(),
                    reason="mosquitto is not installed")
def test_mosquitto_config_with_passwords_and_acl(tmp_path: Path) -> None:
    port = free_port()
    passwd = tmp_path / "mosquitto.passwd"
    shutil.copy(ROOT / "broker" / "mosquitto.passwd.example", passwd)
    subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True, timeout=30)
    conf = (ROOT / "broker" / "mosquitto.conf").read_text()
    conf = conf.replace("listener 1883 0.0.0.0", f"listener {port} 127.0.0.1")
    conf = conf.replace("/mosquitto/data/", f"{tmp_path}/")
    if os.geteuid() == 0:  # mosquitto run as root drops to its own user: keep root here
        conf += "user root\n"
    conf = conf.replace("allow_anonymous true", f"allow_anonymous false\npassword_file {passwd}\n"
                        f"acl_file {ROOT / 'broker' / 'mosquitto.acl'}")
    (tmp_path / "m.conf").write_text(conf)
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(tmp_path / "m.conf")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_port(port, what="mosquitto")
        def pub(*extra: str) -> int:
            return subprocess.run(["mosquitto_pub", "-p", str(port), "-q", "1", "-m", "x",
                                   *extra], capture_output=True, timeout=10).returncode
        assert pub("-u", "user", "-P", "change-me-user", "-i", "user-0001",
                   "-t", "aaas/v1/users/user-0001/request") == 0
        assert pub("-i", "anon", "-t", "aaas/v1/users/anon/request") != 0  # no anonymous
        assert pub("-u", "user", "-P", "wrong", "-i", "user-0001",
                   "-t", "aaas/v1/users/user-0001/request") != 0
    finally:
        proc.terminate()
        proc.wait(10)
