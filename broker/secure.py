"""A private Mosquitto with TLS, per-identity passwords and the generated ACL.

For ``aaas demo --secure`` and the attack tests: it runs the config that
``aaas security init`` writes (``broker.security``) on a port of its own, bound to
127.0.0.1. Kept apart from :mod:`broker.mosquitto` (the open lab broker).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from aaas import BrokerURL, ConfigError

from .embedded import free_port
from .mosquitto import mosquitto_exe, start_broker, stop_process
from .security import SecurityDir, mosquitto_config

__all__ = ["SecureMosquitto"]


class SecureMosquitto:
    """Mosquitto on ``mqtts://127.0.0.1:port`` with *security*'s credentials while entered."""

    def __init__(self, security: Path, *, port: int = 0, workdir: Path | None = None) -> None:
        exe = mosquitto_exe()
        if exe is None:
            raise ConfigError("mosquitto is not installed: run scripts/setup.sh "
                              "(or apt-get install mosquitto)")
        self.exe = exe
        self.dir = SecurityDir(security)
        if not self.dir.passwd.exists():
            raise ConfigError(f"{security}: run 'aaas security init' first")
        self.port = port or free_port()
        self._own_dir = workdir is None  # removed on exit; a folder given is the caller's
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="aaas-secure-mosquitto-"))
        self.log_path = self.workdir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> BrokerURL:
        """The broker for a process that logs in as itself (per-identity secrets)."""
        return BrokerURL(host="localhost", port=self.port, tls=True, ca_file=str(self.dir.ca),
                         secrets_dir=str(self.dir.secrets))

    def __enter__(self) -> SecureMosquitto:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(mosquitto_config(self.dir, port=self.port, bind="127.0.0.1")
                        + "log_dest stdout\nconnection_messages true\n")
        try:
            self._proc = start_broker([self.exe, "-c", str(conf)], port=self.port,
                                      log_path=self.log_path, what="mosquitto (TLS)")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def reload(self) -> None:
        """Re-read the password file and the ACL (after a revoke), as SIGHUP does."""
        if self._proc is not None:
            self._proc.send_signal(1)
            time.sleep(0.2)

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)
