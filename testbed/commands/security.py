"""``aaas security``: identities, TLS and the generated ACL of a secure testbed."""

from __future__ import annotations

import argparse
from pathlib import Path

from testbed.options import Subparsers, add_scenario

__all__ = ["register"]


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "security", help="create credentials, TLS certificates and the broker ACL",
        description="Per-identity credentials, a private CA and a Mosquitto config with a TLS "
        "listener and the ACL generated from the contract (docs/security.md).")
    cmds = p.add_subparsers(dest="security_command", metavar="COMMAND", required=True)
    init = cmds.add_parser(
        "init", help="create or extend a security folder for a scenario",
        description="Create DIR (CA, broker and link certificates, one password per identity, "
        "mosquitto.passwd, mosquitto.acl, mosquitto.conf). Run it again for a larger scenario "
        "or more hosts: what was issued before stays valid.")
    add_scenario(init)
    init.add_argument("--out", type=Path, required=True, metavar="DIR",
                      help="the security folder")
    init.add_argument("--users", type=int, default=None, metavar="N",
                      help="number of users (default: the scenario's)")
    init.add_argument("--host", action="append", default=[], metavar="NAME",
                      help="a name or address clients use for the broker, in its certificate "
                      "(repeatable; localhost and 127.0.0.1 are always in)")
    init.add_argument("--port", type=int, default=8883, help="TLS port (default: 8883)")
    init.add_argument("--bind", default="0.0.0.0", metavar="ADDR",
                      help="address the broker listens on (default: 0.0.0.0)")
    init.set_defaults(run=_init)
    rev = cmds.add_parser(
        "revoke", help="revoke identities (then SIGHUP the broker)",
        description="Remove identities' passwords and ACL grants; they are never issued "
        "again. Mosquitto takes the change on SIGHUP.")
    rev.add_argument("--out", type=Path, required=True, metavar="DIR",
                     help="the security folder")
    rev.add_argument("names", nargs="+", metavar="IDENTITY")
    rev.set_defaults(run=_revoke)


def _init(args: argparse.Namespace) -> int:
    from msgspec.structs import replace

    from aaas import ConfigError, load_scenario
    from broker.security import init_security

    scenario = load_scenario(args.scenario)
    if args.users is not None:
        if args.users < 1:
            raise ConfigError("--users must be >= 1")
        scenario = replace(scenario, workload=replace(scenario.workload, users=args.users))
    d, issued = init_security(scenario, args.out, hosts=args.host or ["localhost"],
                              port=args.port, bind=args.bind)
    print(f"{d.root}: {len(issued)} identities issued now "
          f"({sum(1 for _ in d.secrets.glob('*.password'))} in all)")
    print(f"broker:  mosquitto -c {d.conf}")
    print(f"clients: --broker mqtts://HOST:{args.port} --broker-ca {d.ca} "
          f"--broker-secrets {d.secrets}  (or one identity's file: docs/security.md)")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from broker.security import revoke

    gone = revoke(args.out, args.names)
    print(f"revoked {', '.join(args.names)} ({len(gone)} had a password); "
          "send the broker SIGHUP to apply")
    return 0
