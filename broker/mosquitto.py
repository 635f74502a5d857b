"""Running a local Mosquitto: for the tests, the benchmarks and a one-host testbed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from aaas import BrokerURL, ConfigError

from .embedded import free_port

__all__ = ["MosquittoChild", "MosquittoProcess", "mosquitto_exe", "start_broker", "stop_process",
           "wait_port"]


def wait_port(port: int, *, host: str = "127.0.0.1", timeout: float = 15.0,
              what: str = "server") -> None:
    """Return once something accepts TCP connections on host:port; raise after *timeout*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on {host}:{port} within {timeout:g} s")


def start_broker(cmd: list[str], *, port: int, log_path: Path, what: str,
                 timeout_s: float = 15.0) -> subprocess.Popen[bytes]:
    """Start a broker logging to *log_path*; return once it listens on *port*.

    It gets a session of its own: Ctrl-C in a terminal signals the whole foreground
    process group, and the broker must outlive its parent's clean shutdown (outbox
    flush, offline status); the parent stops it (:func:`stop_process`). If it never
    listens, it is stopped and the error carries the end of its log.
    """
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            wait_port(port, what=what, timeout=0.25)
            return proc
        except TimeoutError:
            continue
    why = (f"exited with code {proc.returncode}" if proc.poll() is not None
           else f"did not listen on 127.0.0.1:{port} within {timeout_s:g} s")
    stop_process(proc)
    tail = log_path.read_text(errors="replace")[-2000:].strip()
    raise TimeoutError(f"{what} {why}; its log ends:\n{tail}")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if the broker is not gone within *grace_s*."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def mosquitto_exe() -> str | None:
    """The mosquitto binary (Debian puts it in /usr/sbin, often not on PATH)."""
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


class MosquittoChild:
    """A Mosquitto child process with its config and log in a folder of its own.

    The folder is made here and removed on exit, unless *workdir* is given (then it is
    the caller's). Subclasses write the config and call :meth:`_start` on entry.
    """

    def __init__(self, *, port: int, workdir: Path | None, prefix: str) -> None:
        exe = mosquitto_exe()
        if exe is None:
            raise ConfigError("mosquitto is not installed: run scripts/setup.sh "
                              "(or apt-get install mosquitto)")
        self.exe = exe
        self.port = port or free_port()
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=prefix))
        self.log_path = self.workdir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self, config: str, *, what: str) -> None:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(config)
        try:
            self._proc = start_broker([self.exe, "-c", str(conf)], port=self.port,
                                      log_path=self.log_path, what=what)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class MosquittoProcess(MosquittoChild):
    """A Mosquitto on 127.0.0.1:*port* (0: a free one) while entered.

    *config* is appended to a minimal configuration (anonymous access, no limits
    on queued or in-flight messages).
    """

    def __init__(self, *, port: int = 0, config: str = "", workdir: Path | None = None) -> None:
        super().__init__(port=port, workdir=workdir, prefix="aaas-mosquitto-")
        self.config = config

    @property
    def url(self) -> BrokerURL:
        return BrokerURL(host="127.0.0.1", port=self.port)

    def __enter__(self) -> MosquittoProcess:
        self._start(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                    f"max_queued_messages 0\nmax_inflight_messages 0\n{self.config}\n",
                    what="mosquitto")
        return self
