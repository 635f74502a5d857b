"""``aaas link`` (the emulated wireless link) and ``aaas channel`` (a channel calculator)."""

from __future__ import annotations

import argparse
import json
import math
import os
import ssl
from pathlib import Path

from testbed.options import Subparsers, add_clock, add_metrics, add_scenario

__all__ = ["register"]


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``link`` and ``channel`` to the ``aaas`` parser."""
    p = sub.add_parser("link", help="run the emulated wireless link in front of a broker",
                       description="An MQTT-aware TCP proxy: users connect to it, it relays "
                       "each one to the broker through that user's channel (scenario [link]).")
    p.add_argument("--listen", default="127.0.0.1:1884", metavar="HOST:PORT",
                   help="where users connect (default: 127.0.0.1:1884)")
    p.add_argument("--upstream", required=True, metavar="URL",
                   help="the real broker, mqtt[s]://host:port")
    tls = p.add_argument_group("TLS and credentials (docs/security.md): the link terminates "
                               "the users' TLS and opens its own to the broker")
    tls.add_argument("--upstream-ca", default=os.environ.get("AAAS_BROKER_CA"), metavar="FILE",
                     help="CA of the broker's certificate (mqtts upstream; env AAAS_BROKER_CA)")
    tls.add_argument("--upstream-secrets", default=os.environ.get("AAAS_BROKER_SECRETS"),
                     metavar="DIR", help="per-identity passwords; the control client logs in "
                     "as 'link' (env AAAS_BROKER_SECRETS)")
    tls.add_argument("--tls-cert", default=None, metavar="FILE",
                     help="serve users over TLS with this certificate (PEM; 'aaas security "
                     "init' writes link.pem)")
    tls.add_argument("--tls-key", default=None, metavar="FILE", help="its key (link.key)")
    add_scenario(p)
    add_clock(p)
    add_metrics(p)
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the channels (default: the scenario seed)")
    p.add_argument("--perfect", action="store_true", help="a perfect channel for every user")
    p.set_defaults(run=_run_link)

    from link.channel import FADING_MODELS, MODULATIONS  # light: numpy, no broker

    c = sub.add_parser("channel", help="analytic vs Monte-Carlo BER, PER and outage",
                       description="Sanity-check a channel setting: closed forms next to "
                       "Monte-Carlo estimates.")
    c.add_argument("--snr-db", type=float, required=True, help="mean SNR (Es/N0) in dB")
    c.add_argument("--modulation", choices=MODULATIONS, default="qpsk")
    c.add_argument("--fading", choices=FADING_MODELS.names(), default="none",
                   help="fading model (the registry link.channel.FADING_MODELS)")
    c.add_argument("--rician-k", type=float, default=6.0,
                   help="Rician K factor (linear), for a model with a k setting")
    c.add_argument("--frame-bytes", type=int, default=1500, help="frame length L/8 (default 1500)")
    c.add_argument("--frames", type=int, default=10_000, help="Monte-Carlo frames (default 10000)")
    c.add_argument("--outage-snr-db", type=float, default=0.0,
                   help="outage threshold in dB (default 0)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", type=_json_path, nargs="?", const="-", default=None, metavar="PATH",
                   dest="json_path", help="write the figures as JSON ('-', or no PATH: print "
                   "them instead of the table)")
    c.set_defaults(run=_run_channel)


def _json_path(text: str) -> Path | str:
    return "-" if text == "-" else Path(text)


def _run_channel(args: argparse.Namespace) -> int:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from link.channel import channel_report, make_fading

    fading = make_fading(args.fading, k=args.rician_k)
    report = channel_report(snr_db=args.snr_db, modulation=args.modulation, fading=fading,
                            frame_bytes=args.frame_bytes, frames=args.frames,
                            outage_snr_db=args.outage_snr_db, rng=np.random.default_rng(args.seed))
    data = report.as_json()
    if args.json_path == "-":
        print(json.dumps(data))
        return 0
    if args.json_path is not None:
        args.json_path.parent.mkdir(parents=True, exist_ok=True)
        args.json_path.write_text(json.dumps(data, indent=2) + "\n")
    table = Table(title=f"{args.modulation} at {args.snr_db:g} dB, {args.fading} fading, "
                  f"{args.frame_bytes}-byte frames")
    for col in ("", "analytic", "empirical"):
        table.add_column(col, justify="right")
    for key in ("ber", "per", "outage"):
        table.add_row(key.upper(), f"{data[key + '.analytic']:.4g}",
                      f"{data[key + '.empirical']:.4g}")
    Console().print(table)
    return 0


def _split_listen(value: str) -> tuple[str, int]:
    from aaas import ConfigError

    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--listen {value!r}: expected HOST:PORT")
    return host, int(port)


def _run_link(args: argparse.Namespace) -> int:
    import asyncio

    from aaas import BrokerURL, EmulatedClock
    from testbed.service import Service

    host, port = _split_listen(args.listen)
    upstream = BrokerURL.parse(args.upstream).with_options(
        ca_file=args.upstream_ca, secrets_dir=args.upstream_secrets)
    listen_tls = _listen_tls(args)
    svc = Service.from_args(args, url=upstream)
    _check_epoch(args)

    async def serve(clock: EmulatedClock, stop: asyncio.Event) -> int:
        import numpy as np

        from link import LinkProfiles, LinkProxy, load_link_profiles

        profiles = LinkProfiles.perfect() if args.perfect else load_link_profiles(svc.scenario)
        seed = svc.scenario.seed if args.seed is None else args.seed
        async with LinkProxy(upstream=upstream, listen_host=host, listen_port=port,
                             profiles=profiles, clock=clock, rng=np.random.default_rng(seed),
                             registry=svc.registry, listen_tls=listen_tls) as link:
            await stop.wait()
            _log_stats(link.stats().as_dict())
        return 0

    # --follow-clock: the orchestrator's clock, read through the upstream broker
    return svc.run(serve, identity="link")


def _listen_tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if args.tls_cert is None:
        return None
    from aaas import ConfigError

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"--tls-cert/--tls-key: {exc}") from None
    return ctx


def _check_epoch(args: argparse.Namespace) -> None:
    if args.clock_epoch is not None and not math.isfinite(args.clock_epoch):
        from aaas import ConfigError

        raise ConfigError("--clock-epoch must be finite")


def _log_stats(stats: dict[str, float]) -> None:
    import logging

    logging.getLogger("aaas.link").info("link totals: %s", stats)
