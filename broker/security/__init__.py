"""Identities, TLS and the broker ACL of a secure testbed (``aaas security init``).

* :mod:`.identities`: one identity per process and per emulated user, by role;
* :mod:`.acl`: the Mosquitto ACL, generated from the contract's route table;
* :mod:`.passwords`: Mosquitto's password hash;
* :mod:`.pki`: a private CA and the broker's certificate (``cryptography``);
* :mod:`.init`: the folder ``aaas security init`` writes, and its Mosquitto config.
"""

from .acl import acl_rules, render_acl
from .identities import Identity, identities_for
from .init import SecurityDir, init_security, mosquitto_config, revoke
from .passwords import hash_password, verify_password

__all__ = [
    "Identity",
    "SecurityDir",
    "acl_rules",
    "hash_password",
    "identities_for",
    "init_security",
    "mosquitto_config",
    "render_acl",
    "revoke",
    "verify_password",
]
