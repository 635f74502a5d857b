"""``aaas demo --secure``: the demo on a private TLS Mosquitto with per-identity passwords.

It creates (or extends) a security folder for the run's scenario with
``broker.security.init_security`` (a CA, the broker's and the link's certificates,
one password per identity, the ACL generated from the contract), starts
``broker.secure.SecureMosquitto`` on it, and gives the demo an ``mqtts://`` URL whose
per-identity secrets make every node, the orchestrator, the link and each user log
in as itself. The link terminates the users' TLS with its own certificate.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

from aaas.config import Scenario
from aaas.mqtt import BrokerURL

__all__ = ["secure_broker"]

log = logging.getLogger("aaas.demo")


@contextlib.contextmanager
def secure_broker(scenario: Scenario, *, security_dir: Path | None = None
                  ) -> Iterator[tuple[BrokerURL, ssl.SSLContext]]:
    """A TLS Mosquitto for *scenario*'s identities: (its URL, the link's TLS context)."""
    from broker.secure import SecureMosquitto
    from broker.security import init_security

    with contextlib.ExitStack() as stack:
        if security_dir is None:
            security_dir = Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix="aaas-secure-"))) / "security"
        d, issued = init_security(scenario, security_dir, hosts=["localhost", "127.0.0.1"])
        log.info("security folder %s: %d identities (%d new)", d.root,
                 sum(1 for _ in d.secrets.glob("*.password")), len(issued))
        broker = stack.enter_context(SecureMosquitto(d.root))
        link_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        link_tls.load_cert_chain(d.link_cert, d.link_key)
        log.info("private TLS Mosquitto at %s (per-identity passwords, generated ACL)",
                 broker.url)
        yield broker.url, link_tls
