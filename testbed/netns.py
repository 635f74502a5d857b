"""Hosts of their own on one machine: a testbed spread over Linux network namespaces.

Each role (the broker, every edge-node process, the orchestrator, every user-agent
shard, an ``ops`` host for probes) runs in a network namespace of its own with one
interface, ``eth0``, and its own address on a private /24. The hosts are joined by a
Linux bridge that lives in a further namespace (the *switch*), so nothing is added to
the machine's own network and nothing can take a loopback shortcut: every MQTT packet
crosses two veth pairs and a bridge, and a host is cut off by taking its ``eth0`` down
(:meth:`Netns.cut`), which is what a pulled cable or a dead Wi-Fi looks like to TCP.

Hand-written over ``ip`` (iproute2) rather than a library: pyroute2 would be a new
dependency for what are a dozen ``ip`` commands, and ``ip netns exec`` is also what an
operator types to look inside a host. Needs root (``CAP_SYS_ADMIN``); :func:`unavailable`
says why a machine cannot run it.

``python -m testbed.netns up|down|status`` (``scripts/netns-testbed.sh``) brings a whole
testbed up in the background and tears it down; the tests use :class:`Netns` and
:class:`NetnsTestbed` directly. Everything is torn down by the namespace prefix, so
``down`` also clears what a crashed run left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["Netns", "NetnsTestbed", "TestbedPlan", "main", "unavailable"]

BROKER_PORT = 1883
ORCH_METRICS_PORT = 9102


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check,
                          timeout=30)


def unavailable(prefix: str = "aaasprobe") -> str | None:
    """Why network namespaces cannot be used here, or None when they can."""
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_SYS_ADMIN); run the test as root"
    try:
        probe = _ip("netns", "add", f"{prefix}-{os.getpid()}", check=False)
    except FileNotFoundError:
        return "iproute2 (the ip command) is not installed"
    if probe.returncode != 0:
        return f"the kernel refuses network namespaces: {probe.stderr.strip()}"
    _ip("netns", "del", f"{prefix}-{os.getpid()}", check=False)
    return None


@dataclass
class Netns:
    """Namespaced hosts on a private bridge; torn down on exit, even after a failure.

    *prefix* names everything (``PREFIX-sw`` is the switch, ``PREFIX-HOST`` a host);
    *subnet* is the first three octets of the /24 (hosts get .10, .11, ...).
    """

    prefix: str
    subnet: str = "10.213.0"
    hosts: dict[str, str] = field(default_factory=dict)
    """Host name -> its address."""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def switch(self) -> str:
        return f"{self.prefix}-sw"

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def __enter__(self) -> Netns:
        self.down()  # what a crashed run with this prefix left behind
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.down()

    def add_host(self, host: str) -> str:
        """A new host with its own eth0 on the bridge; returns its address."""
        if host in self.hosts:
            raise ValueError(f"host {host!r} exists")
        index = len(self.hosts)
        addr = f"{self.subnet}.{10 + index}"
        ns, port = self.ns(host), f"p{index}"
        _ip("netns", "add", ns)
        # Both ends are made where they live: nothing touches the machine's own namespace.
        _ip("-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0",
            "netns", ns)
        _ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        self.hosts[host] = addr
        return addr

    def command(self, host: str, argv: Sequence[str]) -> list[str]:
        """*argv* run on *host* (``ip netns exec`` execs it: the pid is the command's)."""
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def spawn(self, host: str, argv: Sequence[str], *, log: Path | None = None,
              env: dict[str, str] | None = None,
              stdout: int | IO[bytes] | None = None) -> subprocess.Popen[bytes]:
        """Start *argv* on *host* (output to *log*, else *stdout*); stopped by :meth:`down`."""
        out: int | IO[bytes] | None = stdout
        if log is not None:
            out = log.open("wb")
        proc = subprocess.Popen(self.command(host, argv), stdout=out,
                                stderr=subprocess.STDOUT if log is not None else None,
                                env=env, start_new_session=True)
        self.procs.append(proc)
        return proc

    def cut(self, host: str) -> None:
        """Take the host's interface down: its peers see silence, not a reset."""
        _ip("-n", self.ns(host), "link", "set", "eth0", "down")

    def restore(self, host: str) -> None:
        _ip("-n", self.ns(host), "link", "set", "eth0", "up")

    def names(self) -> list[str]:
        """Namespaces with this prefix (also those of an earlier, crashed run)."""
        out = _ip("netns", "list", check=False).stdout
        return [line.split()[0] for line in out.splitlines()
                if line.split() and line.split()[0].startswith(f"{self.prefix}-")]

    def down(self, *, grace_s: float = 5.0) -> None:
        """Stop every process in the namespaces (SIGTERM, then SIGKILL) and delete them."""
        names = self.names()
        pids = {p.pid for p in self.procs if p.poll() is None}
        for ns in names:
            pids |= {int(x) for x in _ip("netns", "pids", ns, check=False).stdout.split()}
        _signal_all(pids, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while pids and time.monotonic() < deadline:
            pids = {pid for pid in pids if _alive(pid)}
            for p in self.procs:
                p.poll()  # reap our own children so they stop counting as alive
            time.sleep(0.1)
        _signal_all(pids, signal.SIGKILL)
        for p in self.procs:
            if p.poll() is None:
                p.wait(5)
        self.procs.clear()
        for ns in names:
            _ip("netns", "del", ns, check=False)
        self.hosts.clear()


def _signal_all(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours still answers kill(0); /proc says it is gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@dataclass(frozen=True, kw_only=True)
class TestbedPlan:
    """What runs where. Every process gets ``--scenario``, ``--time-scale`` and one epoch."""

    __test__ = False  # not a pytest class, despite its name

    scenario: str = "paper"
    """A shipped scenario name or a TOML path (every host reads the same file)."""
    node_groups: tuple[tuple[str, ...], ...] = ()
    """The ASP ids of each edge host (``edge-0``, ``edge-1``, ...)."""
    user_shards: int = 2
    """User-agent hosts (``users-0``...), each running ``--shard K/N``."""
    time_scale: float = 1.0
    policy: str = "least_loaded"
    seed: int = 0
    duration_s: float | None = None
    """The users' emulated horizon (default: the scenario's)."""
    users: int | None = None
    """The population (default: the scenario's)."""


@dataclass
class NetnsTestbed:
    """The AaaS processes on the hosts of a :class:`Netns`: broker, orchestrator, edge
    hosts and user-agent shards, plus an ``ops`` host for probes. Logs and the users'
    JSON summaries go to *workdir*."""

    net: Netns
    plan: TestbedPlan
    workdir: Path
    python: str = sys.executable
    epoch: float = field(default_factory=time.time)
    users: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def broker_url(self) -> str:
        return f"mqtt://{self.net.hosts['broker']}:{BROKER_PORT}"

    def aaas(self, *args: str) -> list[str]:
        return [self.python, "-m", "testbed.cli", "--log-level", "INFO", *args]

    def start(self) -> None:
        """Add the hosts and start everything; returns once the broker listens."""
        for host in ("broker", "ops", "orchestrator"):
            self.net.add_host(host)
        for i in range(len(self.plan.node_groups)):
            self.net.add_host(f"edge-{i}")
        for k in range(self.plan.user_shards):
            self.net.add_host(f"users-{k}")
        self._start_broker()
        common = ["--broker", self.broker_url, "--scenario", self.plan.scenario,
                  "--time-scale", f"{self.plan.time_scale:g}", "--clock-epoch", f"{self.epoch!r}"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.net.spawn("orchestrator", self.aaas(
            "orchestrator", *common, "--policy", self.plan.policy, "--seed", str(self.plan.seed),
            "--metrics-host", "0.0.0.0", "--metrics-port", str(ORCH_METRICS_PORT)),
            log=self.workdir / "orchestrator.log", env=env)
        for i, group in enumerate(self.plan.node_groups):
            self.net.spawn(f"edge-{i}", self.aaas("edge-node", *common, "--nodes", ",".join(group)),
                           log=self.workdir / f"edge-{i}.log", env=env)
        extra = ["--seed", str(self.plan.seed)]
        if self.plan.duration_s is not None:
            extra += ["--duration", f"{self.plan.duration_s:g}"]
        if self.plan.users is not None:
            extra += ["--users", str(self.plan.users)]
        n = self.plan.user_shards
        for k in range(n):
            self.users.append(self.net.spawn(f"users-{k}", self.aaas(
                "user-agent", *common, *extra, "--shard", f"{k}/{n}",
                "--json", str(self.summary_path(k))), log=self.workdir / f"users-{k}.log",
                env=env))

    def _start_broker(self) -> None:
        conf = self.workdir / "mosquitto.conf"
        # As broker/mosquitto.conf (no queue or in-flight caps), without persistence.
        conf.write_text(f"listener {BROKER_PORT} 0.0.0.0\nallow_anonymous true\n"
                        "max_connections -1\nmax_queued_messages 0\nmax_inflight_messages 0\n"
                        "connection_messages true\nlog_type error\nlog_type warning\n"
                        "log_type notice\nlog_timestamp_format %Y-%m-%dT%H:%M:%S\n")
        from broker import mosquitto_exe  # the composition root may use a service

        exe = mosquitto_exe()
        if exe is None:
            raise FileNotFoundError("mosquitto is not installed (scripts/setup.sh installs it)")
        self.net.spawn("broker", [exe, "-c", str(conf)], log=self.workdir / "mosquitto.log")
        self.wait_listening("broker", BROKER_PORT)

    def wait_listening(self, host: str, port: int, timeout: float = 15.0) -> None:
        """Wait until something on *host* accepts TCP on *port*, probed from ``ops``."""
        deadline = time.monotonic() + timeout
        probe = ("import socket,sys; s=socket.socket(); s.settimeout(1); "
                 f"sys.exit(s.connect_ex(({self.net.hosts[host]!r}, {port})))")
        while time.monotonic() < deadline:
            if subprocess.run(self.net.command("ops", [self.python, "-c", probe]),
                              check=False, timeout=10).returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{host}:{port} did not listen within {timeout:g} s")

    def summary_path(self, shard: int) -> Path:
        return self.workdir / f"users-{shard}.json"

    def wait_users(self, timeout: float) -> list[dict[str, object]]:
        """Wait for every user shard to finish; their JSON summaries."""
        deadline = time.monotonic() + timeout
        for k, proc in enumerate(self.users):
            left = max(0.1, deadline - time.monotonic())
            try:
                code = proc.wait(left)
            except subprocess.TimeoutExpired:
                raise TimeoutError(f"users-{k} still running after {timeout:g} s; see "
                                   f"{self.workdir}/users-{k}.log") from None
            if code != 0:
                raise RuntimeError(f"users-{k} exited with {code}; see "
                                   f"{self.workdir}/users-{k}.log")
        return [json.loads(self.summary_path(k).read_text()) for k in range(len(self.users))]

    def metrics(self, host: str, port: int) -> str:
        """A host's /metrics text, fetched from ``ops`` across the bridge."""
        code = ("import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("
                f"'http://{self.net.hosts[host]}:{port}/metrics', timeout=5).read().decode())")
        return subprocess.run(self.net.command("ops", [self.python, "-c", code]),
                              capture_output=True, text=True, check=True, timeout=20).stdout


def _node_groups(ids: list[str], hosts: int) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(ids[i::hosts]) for i in range(hosts))


def _up(args: argparse.Namespace) -> int:
    from aaas import load_scenario

    reason = unavailable()
    if reason:
        sys.stderr.write(f"netns-testbed: {reason}\n")
        return 2
    ids = [a.id for a in load_scenario(args.scenario).asps]
    plan = TestbedPlan(scenario=args.scenario, node_groups=_node_groups(ids, args.edge_hosts),
                       user_shards=args.user_shards, time_scale=args.time_scale,
                       policy=args.policy, seed=args.seed, duration_s=args.duration)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix=f"{args.prefix}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    net = Netns(args.prefix, args.subnet)
    net.__enter__()
    try:
        bed = NetnsTestbed(net, plan, workdir)
        bed.start()
    except BaseException:
        net.down()
        raise
    for host, addr in net.hosts.items():
        print(f"{host:14} {addr:15} ip netns exec {net.ns(host)} ...")
    print(f"broker: {bed.broker_url}; orchestrator metrics: "
          f"http://{net.hosts['orchestrator']}:{ORCH_METRICS_PORT}/metrics (from a host)")
    print(f"logs and summaries: {workdir}; tear down: scripts/netns-testbed.sh down")
    # The processes outlive this command (their own sessions); `down` finds them by namespace.
    net.procs.clear()
    return 0


def _down(args: argparse.Namespace) -> int:
    Netns(args.prefix, args.subnet).down()
    return 0


def _status(args: argparse.Namespace) -> int:
    for ns in sorted(Netns(args.prefix, args.subnet).names()):
        pids = _ip("netns", "pids", ns, check=False).stdout.split()
        addr = _ip("-n", ns, "-brief", "addr", "show", "dev", "eth0", check=False).stdout.strip()
        print(f"{ns:20} {len(pids)} processes  {addr}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="netns-testbed", description="An AaaS testbed with a "
                                "network namespace per host on a private bridge (needs root).")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--prefix", default="aaas", help="namespace prefix (default: aaas)")
    p.add_argument("--subnet", default="10.213.0", help="first three octets of the /24")
    p.add_argument("--scenario", default="paper")
    p.add_argument("--edge-hosts", type=int, default=2)
    p.add_argument("--user-shards", type=int, default=2)
    p.add_argument("--time-scale", type=float, default=1.0)
    p.add_argument("--policy", default="least_loaded")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--duration", type=float, default=None, help="the users' emulated horizon")
    p.add_argument("--workdir", default=None, help="logs and summaries (default: a temp dir)")
    args = p.parse_args(argv)
    return {"up": _up, "down": _down, "status": _status}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
