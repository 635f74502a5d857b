"""A private Mosquitto with TLS, per-identity passwords and the generated ACL.

For ``aaas demo --secure`` and the attack tests: it runs the config that
``aaas security init`` writes (``broker.security``) on a port of its own, bound to
127.0.0.1. Kept apart from :mod:`broker.mosquitto` (the open lab broker).
"""

from __future__ import annotations

import time
from pathlib import Path

from aaas import BrokerURL, ConfigError

from .mosquitto import MosquittoChild
from .security import SecurityDir, mosquitto_config

__all__ = ["SecureMosquitto"]


class SecureMosquitto(MosquittoChild):
    """Mosquitto on ``mqtts://127.0.0.1:port`` with *security*'s credentials while entered."""

    def __init__(self, security: Path, *, port: int = 0, workdir: Path | None = None) -> None:
        self.dir = SecurityDir(security)
        if not self.dir.passwd.exists():
            raise ConfigError(f"{security}: run 'aaas security init' first")
        super().__init__(port=port, workdir=workdir, prefix="aaas-secure-mosquitto-")

    @property
    def url(self) -> BrokerURL:
        """The broker for a process that logs in as itself (per-identity secrets)."""
        return BrokerURL(host="localhost", port=self.port, tls=True, ca_file=str(self.dir.ca),
                         secrets_dir=str(self.dir.secrets))

    def __enter__(self) -> SecureMosquitto:
        self._start(mosquitto_config(self.dir, port=self.port, bind="127.0.0.1")
                    + "log_dest stdout\nconnection_messages true\n", what="mosquitto (TLS)")
        return self

    def reload(self) -> None:
        """Re-read the password file and the ACL (after a revoke), as SIGHUP does."""
        if self._proc is not None:
            self._proc.send_signal(1)
            time.sleep(0.2)
