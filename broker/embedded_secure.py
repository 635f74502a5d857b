"""The secure testbed's model on the embedded amqtt broker, as far as amqtt goes.

:class:`SecureEmbeddedBroker` serves TLS with the broker certificate of an
``aaas security init`` folder and loads two amqtt plugins written here:

* :class:`IdentityAuthPlugin` checks the user name and password against the folder's
  ``mosquitto.passwd`` (Mosquitto's ``$7$`` hashes; amqtt's own file plugin takes only
  Argon2 or the old sha512-crypt, so the same file could not serve both brokers) and
  refuses a client id other than the user name: Mosquitto's
  ``use_username_as_clientid``, so no identity takes over another's session;
* :class:`RouteAclPlugin` grants each identity what its role may publish, subscribe to
  and receive, from the same route table as Mosquitto's ACL
  (``broker.security.acl.role_rules``, ``%u`` replaced by the identity).

Where amqtt falls short (docs/security.md): it speaks MQTT 3.1.1 only and answers a
refused subscription or publish the 3.1.1 way (a failure code in SUBACK; a refused
publish is acknowledged and dropped); revocation needs a restart (no SIGHUP reload);
and it is about 2.5 times slower than Mosquitto, so the secure demo uses Mosquitto.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.plugins.topic_checking import TopicAccessControlListPlugin

from aaas import BrokerURL, Role

from .embedded import EmbeddedBroker
from .security import SecurityDir, verify_password
from .security.acl import role_rules

__all__ = ["IdentityAuthPlugin", "RouteAclPlugin", "SecureEmbeddedBroker"]

log = logging.getLogger("aaas.broker")


class IdentityAuthPlugin(BaseAuthPlugin):
    """Password check against ``mosquitto.passwd``; the client id must be the user name."""

    @dataclass
    class Config:
        password_file: str = ""
        """Mosquitto's password file (``$7$`` hashes) of the security folder."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._hashes: dict[str, str] = {}
        for line in Path(self.config.password_file).read_text().splitlines():
            name, sep, hashed = line.partition(":")
            if sep:
                self._hashes[name] = hashed

    async def authenticate(self, *, session: Any) -> bool:
        name, password = session.username, session.password
        if isinstance(password, bytes):
            password = password.decode(errors="replace")
        hashed = self._hashes.get(name or "")
        if hashed is None or not verify_password(password or "", hashed):
            log.info("embedded broker: refused %r (bad user name or password)", name)
            return False
        if session.client_id != name:
            log.info("embedded broker: refused %r with client id %r", name, session.client_id)
            return False
        return True


class RouteAclPlugin(BaseTopicPlugin):
    """Publish / subscribe / receive grants from the contract's route table, per identity."""

    @dataclass
    class Config:
        identities_file: str = ""
        """``identities.txt`` of the security folder: ``name role`` lines."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._roles: dict[str, Role | None] = {}
        for line in Path(self.config.identities_file).read_text().splitlines():
            name, _, role = line.partition(" ")
            if name:
                self._roles[name] = None if role == "observer" else Role(role)
        self._grants: dict[str, dict[str, list[str]]] = {}

    def _grants_of(self, name: str) -> dict[str, list[str]]:
        grants = self._grants.get(name)
        if grants is None:
            grants = {"read": [], "write": []}
            if name in self._roles:
                for rule in role_rules(self._roles[name]):
                    grants[rule.access].append(rule.topic.replace("%u", name))
            self._grants[name] = grants
        return grants

    async def topic_filtering(self, *, session: Any = None, topic: str | None = None,
                              action: Any = None) -> bool:
        if session is None or not session.username or not topic:
            return False
        access = "write" if action == Action.PUBLISH else "read"
        return any(TopicAccessControlListPlugin.topic_ac(topic, allowed)
                   for allowed in self._grants_of(session.username)[access])


class SecureEmbeddedBroker(EmbeddedBroker):
    """The embedded broker with TLS, per-identity passwords and the route-table ACL."""

    def __init__(self, security: Path, *, host: str = "127.0.0.1", port: int = 0,
                 logger: logging.Logger | None = None) -> None:
        super().__init__(host=host, port=port, logger=logger)
        self.dir = SecurityDir(security)

    @property
    def url(self) -> BrokerURL:
        return BrokerURL(host="localhost", port=self.port, tls=True, ca_file=str(self.dir.ca),
                         secrets_dir=str(self.dir.secrets))

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}",
                                      "ssl": True, "certfile": str(self.dir.cert),
                                      "keyfile": str(self.dir.key)}},
            "plugins": {
                f"{__name__}.IdentityAuthPlugin": {"password_file": str(self.dir.passwd)},
                f"{__name__}.RouteAclPlugin": {
                    "identities_file": str(self.dir.root / "identities.txt")},
            },
        }
