"""The namespace harness itself: hosts reach each other only over the bridge, a cut host
is unreachable until restored, and everything is torn down, also after a failure and
after a run that crashed without tearing down."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from testbed.netns import Netns, unavailable


def _connect(net: Netns, host: str, addr: str, port: int) -> int:
    """connect_ex's errno from *host* (0 connected, 111 refused, 11 timed out)."""
    code = (f"import socket; s = socket.socket(); s.settimeout(1.5); "
            f"print(s.connect_ex(({addr!r}, {port})))")
    out = subprocess.run(net.command(host, [sys.executable, "-c", code]), capture_output=True,
                         text=True, timeout=20, check=True)
    return int(out.stdout)


def _listen_in(net: Netns, host: str, port: int) -> subprocess.Popen[bytes]:
    code = (f"import socket, time; s = socket.socket(); s.bind(('0.0.0.0', {port})); "
            "s.listen(); print('up', flush=True); time.sleep(60)")
    proc = net.spawn(host, [sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"up"
    return proc


def test_hosts_talk_over_the_bridge_and_a_cut_host_goes_silent(netns: Netns) -> None:
    netns.add_host("a")
    b = netns.add_host("b")
    _listen_in(netns, "b", 18830)
    assert _connect(netns, "a", b, 18830) == 0
    netns.cut("b")
    assert _connect(netns, "a", b, 18830) == 11  # silence, no reset: a pulled cable
    netns.restore("b")
    assert _connect(netns, "a", b, 18830) == 0


def test_no_loopback_shortcut_to_the_machine(netns: Netns) -> None:
    netns.add_host("a")
    with socket.socket() as server:  # a service on the machine's own loopback
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert _connect(netns, "a", "127.0.0.1", port) == 111  # the host's own lo


def test_torn_down_after_a_failure_and_after_a_crashed_run(tmp_path: object) -> None:
    reason = unavailable()
    if reason:
        pytest.skip(f"no network namespaces: {reason}")
    prefix = f"aaash{os.getpid() % 100000}"
    started: list[subprocess.Popen[bytes]] = []

    def failing_run() -> None:
        with Netns(prefix, subnet="10.213.8") as net:
            net.add_host("a")
            started.append(net.spawn("a", ["sleep", "60"]))
            raise RuntimeError("a failing test")

    with pytest.raises(RuntimeError):
        failing_run()
    assert started[0].poll() is not None
    assert Netns(prefix).names() == []

    # A run that died without tearing down: its namespaces and processes are left ...
    crashed = Netns(prefix, subnet="10.213.8")
    crashed.__enter__()
    crashed.add_host("a")
    orphan = crashed.spawn("a", ["sleep", "60"])
    assert len(crashed.names()) == 2
    # ... and the next one (or `netns-testbed.sh down`) clears them by the prefix.
    Netns(prefix).down()
    assert orphan.wait(10) is not None
    assert Netns(prefix).names() == []
