"""Mosquitto's password hash, so no password ever goes through a command line.

Hand-written rather than calling ``mosquitto_passwd -b`` (which takes the password
as an argument, visible in ``ps``): Mosquitto 2's format is documented and short,
``$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>``, and
``tests/security`` checks that a real Mosquitto accepts what this writes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

__all__ = ["hash_password", "verify_password"]

_ITERATIONS = 101  # mosquitto_passwd's default
_SALT_BYTES = 12


def hash_password(password: str, *, salt: bytes | None = None,
                  iterations: int = _ITERATIONS) -> str:
    """The ``$7$...`` hash Mosquitto's password_file takes."""
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    """Whether *password* matches a ``$7$`` hash."""
    try:
        _, kind, iterations, salt, digest = hashed.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    mine = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt),
                               int(iterations))
    return hmac.compare_digest(mine, base64.b64decode(digest))
