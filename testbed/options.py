"""Options every command shares, parsed once at the entry point."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.logging import RichHandler

from aaas.clock import EmulatedClock
from aaas.datachannel import DeliverySettings
from aaas.errors import AaasError
from aaas.mqtt import BrokerURL

__all__ = [
    "Subparsers",
    "add_broker",
    "add_clock",
    "add_delivery",
    "add_logging",
    "add_metrics",
    "add_policy",
    "add_scenario",
    "broker_or_default",
    "delivery_settings",
    "deprecated_alias",
    "finish_broker",
    "finish_scenario",
    "make_clock",
    "metrics_server",
    "require_broker",
    "resolve_clock",
    "serve_metrics",
    "setup_logging",
    "steps_list",
]


Subparsers = argparse._SubParsersAction  # [argparse.ArgumentParser], spelled in annotations


def _broker_url(text: str) -> BrokerURL:
    try:
        return BrokerURL.parse(text)
    except ValueError as exc:  # argparse would print only "invalid value"
        raise argparse.ArgumentTypeError(str(exc)) from None


def deprecated_alias(new: str) -> type[argparse.Action]:
    """An action that stores like *new* and warns that its option is now spelled *new*."""

    class Deprecated(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: Any, option_string: str | None = None) -> None:
            # argparse has `deprecated=` (and this message) only from Python 3.13.
            sys.stderr.write(f"{parser.prog}: warning: option '{option_string}' is deprecated "
                             f"here: use {new}\n")
            setattr(namespace, self.dest, values)

    return Deprecated


SERVICE_BROKER = "mqtt://127.0.0.1:1883, retrying until it answers"
"""What a service command connects to without --broker (:func:`broker_or_default`)."""


def add_broker(p: argparse.ArgumentParser, *, default: str = SERVICE_BROKER,
               keywords: tuple[str, ...] = ()) -> None:
    """``--broker URL`` and how to log in to it (TLS files, secrets from a file or the
    environment); *default* says in the help what the command does without it.
    :func:`finish_broker` folds the other options into ``args.broker``.

    *keywords* are words the option also takes instead of a URL (the demo's
    ``embedded`` and ``mosquitto``: which broker to start); they are kept as strings.
    """
    def parse(text: str) -> BrokerURL | str:
        return text if text in keywords else _broker_url(text)

    p.add_argument(
        "--broker", type=parse, default=os.environ.get("AAAS_BROKER"),
        metavar="URL" if not keywords else "URL|" + "|".join(keywords),
        help="MQTT broker, mqtt[s]://[user@]host[:port]; mqtts is TLS, port 8883 by default "
        f"(env AAAS_BROKER; default: {default}). No password here: see --broker-password-file",
    )
    g = p.add_argument_group("broker credentials (docs/security.md)")
    g.add_argument("--broker-ca", default=os.environ.get("AAAS_BROKER_CA"), metavar="FILE",
                   help="CA certificate that signed the broker's (mqtts; env AAAS_BROKER_CA; "
                   "default: the system's CAs)")
    g.add_argument("--broker-cert", default=os.environ.get("AAAS_BROKER_CERT"), metavar="FILE",
                   help="client certificate, PEM (mqtts; env AAAS_BROKER_CERT)")
    g.add_argument("--broker-key", default=os.environ.get("AAAS_BROKER_KEY"), metavar="FILE",
                   help="the client certificate's key, PEM (env AAAS_BROKER_KEY)")
    g.add_argument("--broker-password-file", default=os.environ.get("AAAS_BROKER_PASSWORD_FILE"),
                   metavar="FILE", help="read the password of the URL's user from FILE (or give "
                   "it in env AAAS_BROKER_PASSWORD; never on the command line)")
    g.add_argument("--broker-secrets", default=os.environ.get("AAAS_BROKER_SECRETS"),
                   metavar="DIR", help="per-identity passwords, DIR/<client id>.password, as "
                   "'aaas security init' writes them: each user, node and the orchestrator "
                   "logs in as itself (env AAAS_BROKER_SECRETS)")


_PASSWORD_IN_URL = re.compile(r"mqtts?://[^/@:]*:[^/@]*@")


def finish_broker(args: argparse.Namespace, argv: Sequence[str]) -> None:
    """Fold the credential options into ``args.broker`` (a BrokerURL), once, after parsing.

    A password written in a --broker URL on the command line is refused: every user
    of the machine sees it in ``ps``.
    """
    if not hasattr(args, "broker_ca"):
        return
    if any(_PASSWORD_IN_URL.match(a.removeprefix("--broker=")) for a in argv):
        raise AaasError("--broker: a password on the command line is visible to every user "
                        "in ps; put it in a file (--broker-password-file) or in env "
                        "AAAS_BROKER_PASSWORD")
    if isinstance(args.broker, str):  # a keyword (the demo's `mosquitto`, `embedded`)
        return
    url: BrokerURL | None = args.broker
    password = os.environ.get("AAAS_BROKER_PASSWORD")
    if args.broker_password_file:
        try:
            password = Path(args.broker_password_file).read_text().strip()
        except OSError as exc:
            raise AaasError(f"--broker-password-file: {exc}") from None
    extra = {k: v for k, v in (("ca_file", args.broker_ca), ("cert_file", args.broker_cert),
                               ("key_file", args.broker_key),
                               ("secrets_dir", args.broker_secrets)) if v}
    if password and (url is None or url.password is None):
        extra["password"] = password
    if extra:
        url = (url or BrokerURL()).with_options(**extra)
        if (url.ca_file or url.cert_file) and not url.tls:
            raise AaasError(f"--broker-ca/--broker-cert need a TLS URL: mqtts://{url.host}")
        url.tls_context()  # a missing or bad file: one line now, not at connect time
    args.broker = url


def add_policy(p: argparse.ArgumentParser, *, default: str | None = "least_loaded",
               default_help: str = "least_loaded") -> None:
    """``--policy`` and ``--checkpoint``; a *default* of None lets the command decide
    (``aaas demo``: sac where a checkpoint ships for the scenario), as *default_help* says."""
    # The registry's names, entry points included (listed without importing them;
    # light: torch is imported only when sac is built).
    from orchestrator.policies import POLICIES

    p.add_argument("--policy", choices=POLICIES.names(), default=default,
                   help=f"ASP-selection policy (default: {default_help})")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="the policy's weights, for policies that have some (sac; default: "
                   "the checkpoint shipped for the scenario)")


def add_scenario(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", default=os.environ.get("AAAS_SCENARIO", "paper"),
                   metavar="NAME|PATH",
                   help="scenario: a shipped name (paper, agod; see 'aaas scenario list') or a "
                   "TOML path (default: paper)")


def finish_scenario(args: argparse.Namespace) -> None:
    """Load the scenario a command names and decode its ``[link]`` table, once, after parsing.

    The vocabulary keeps ``[link]`` raw (it does not know the link's types); here, where
    every command's scenario is read, the link package decodes it, so a bad table ends
    any command at once, in one line naming the key (ConfigError, exit code 2), before
    anything starts, not when the link does. Commands load the scenario again themselves.
    """
    name = getattr(args, "scenario", None)
    if not isinstance(name, str):  # a command without a scenario
        return
    from aaas.config import load_scenario
    from link import load_link_profiles

    load_link_profiles(load_scenario(name))


def add_clock(p: argparse.ArgumentParser, default: float = 1.0) -> None:
    p.add_argument("--time-scale", type=float, default=default, metavar="X",
                   help=f"emulated seconds per wall second (default: {default:g})")
    p.add_argument("--clock-epoch", type=float, default=None, metavar="UNIX_S",
                   help="wall time (Unix s) at which emulated time was 0; give every process "
                   "of a testbed the same value (default: now)")
    p.add_argument("--follow-clock", action="store_true",
                   help="take the time scale and epoch from the orchestrator's retained clock "
                   "on the broker (aaas/v1/clock) instead of --time-scale/--clock-epoch")


def add_delivery(p: argparse.ArgumentParser, *, previews: bool = False) -> None:
    """``--delivery`` and its settings (docs/protocol.md#content-over-webrtc);
    *previews*: also ``--preview-every`` (commands that run edge nodes)."""
    d = DeliverySettings()
    p.add_argument("--delivery", choices=("mqtt", "webrtc", "auto"), default="mqtt",
                   help="how content travels: mqtt (inline, through the broker), webrtc "
                   "(a data channel between node and user, signalled over MQTT; the "
                   "'webrtc' extra) or auto (webrtc for content of at least "
                   "--delivery-threshold bytes); both fall back to mqtt (default: mqtt)")
    p.add_argument("--delivery-threshold", type=int, default=d.threshold_bytes,
                   metavar="BYTES", help="auto: smallest content sent over WebRTC "
                   f"(default: {d.threshold_bytes})")
    p.add_argument("--delivery-setup-timeout", type=float, default=d.setup_timeout_s,
                   metavar="SECONDS", help="wall seconds for a peer connection to open before "
                   f"falling back to mqtt (default: {d.setup_timeout_s:g})")
    p.add_argument("--delivery-idle", type=float, default=d.idle_close_s, metavar="SECONDS",
                   help="close a peer connection idle this many wall seconds "
                   f"(default: {d.idle_close_s:g})")
    if previews:
        p.add_argument("--preview-every", type=int, default=d.preview_every, metavar="K",
                       help="repaint nodes send a user that takes WebRTC a small preview "
                       "(PNG, at most 64x64) of its task every K diffusion steps over the data "
                       f"channel; 0: none (default: {d.preview_every})")


def delivery_settings(args: argparse.Namespace) -> DeliverySettings:
    """The :class:`DeliverySettings` the ``--delivery*`` options describe."""
    try:
        return DeliverySettings(mode=args.delivery, threshold_bytes=args.delivery_threshold,
                                setup_timeout_s=args.delivery_setup_timeout,
                                idle_close_s=args.delivery_idle,
                                preview_every=getattr(args, "preview_every", 0))
    except ValueError as exc:
        raise AaasError(f"--delivery: {exc}") from None


def add_metrics(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                   help="serve Prometheus /metrics on this port (0: any free port; default: off)")
    p.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                   help="address for /metrics (default: 127.0.0.1)")


def add_logging(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-level", default=os.environ.get("AAAS_LOG_LEVEL", "INFO"),
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level (default: INFO)")


def add_spread(p: argparse.ArgumentParser, *, orchestrator: bool = False) -> None:
    """``--spread``/``--no-spread``: the demo's testbed over processes (testbed.spread), and
    ``--spread-orchestrator`` (its default: *orchestrator*)."""
    p.add_argument("--spread", action=argparse.BooleanOptionalAction, default=None,
                   help="run the edge nodes and the link in processes of their own, so the "
                   "testbed uses more than one core (default: when the workload offers at "
                   "least 30 tasks per wall second and no --metrics-port, WebRTC or --secure "
                   "needs one process; docs/performance.md)")
    p.add_argument("--spread-orchestrator", action=argparse.BooleanOptionalAction,
                   default=orchestrator,
                   help="when the testbed spreads, run the orchestrator in a process of its "
                   "own too, apart from the users; each process's CPU is in the summary "
                   "(cpu_s). On 2 cores the fourth busy process costs more than it gives "
                   f"(docs/performance.md) (default: {'on' if orchestrator else 'off'})")


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(name)s: %(message)s", datefmt="[%X]",
                        handlers=[RichHandler(rich_tracebacks=True, show_path=False)])
    for noisy in ("amqtt", "transitions", "aaas.mqtt.paho", "aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


async def resolve_clock(args: argparse.Namespace, url: BrokerURL, *,
                        identity: str | None = None) -> EmulatedClock:
    """The testbed's clock (--follow-clock), or the one the options describe; *identity*
    is the one to read it as when the broker has per-identity secrets."""
    if getattr(args, "follow_clock", False):
        from aaas.clock_sync import fetch_clock

        return await fetch_clock(url, identity=identity)
    return make_clock(args)


def make_clock(args: argparse.Namespace) -> EmulatedClock:
    """The clock the options describe."""
    if args.clock_epoch is None:
        return EmulatedClock(scale=args.time_scale)
    return EmulatedClock(scale=args.time_scale, wall_epoch=args.clock_epoch)


def broker_or_default(args: argparse.Namespace) -> BrokerURL:
    """The --broker URL, or a local broker on the standard port."""
    return args.broker if args.broker is not None else BrokerURL()


def metrics_server(
    args: argparse.Namespace, registry: Any
) -> contextlib.AbstractContextManager[Any]:
    """A /metrics server for *registry* when --metrics-port was given."""
    if args.metrics_port is None:
        return contextlib.nullcontext()
    return serve_metrics(registry, host=args.metrics_host, port=args.metrics_port)


@contextlib.contextmanager
def serve_metrics(registry: Any, *, host: str, port: int) -> Iterator[Any]:
    """``monitoring.MetricsServer`` while entered; a busy port is an AaasError (one line)."""
    from monitoring import MetricsServer

    server = MetricsServer(registry, host=host, port=port)
    try:
        server.__enter__()
    except OSError as exc:  # EADDRINUSE, EACCES, a bad address: not a bug, a setting
        raise AaasError(f"--metrics-port {port}: cannot serve /metrics on {host}:{port}: "
                        f"{exc.strerror or exc}") from None
    try:
        yield server
    finally:
        server.__exit__(None, None, None)


async def require_broker(url: BrokerURL, *, timeout: float = 10.0,
                         identity: str | None = None) -> None:
    """Return once the broker at *url* accepts a connection; AaasError (one line) if not.

    For commands that must reach the broker before anything else (the demo with
    --broker); services instead keep retrying, since they may start before it.
    """
    import aiomqtt

    try:
        async with asyncio.timeout(timeout), aiomqtt.Client(
                **url.client_kwargs(identity),
                protocol=aiomqtt.ProtocolVersion.V311):
            return
    except TimeoutError:
        reason = f"no answer within {timeout:g} s"
    except aiomqtt.MqttError as exc:
        reason = str(exc)
    raise AaasError(f"cannot reach the MQTT broker at {url}: {reason}")


def steps_list(text: str) -> list[int]:
    """argparse type of a list of step counts: comma-separated integers >= 1."""
    try:
        steps = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        msg = f"expected comma-separated integers, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not steps or min(steps) < 1:
        raise argparse.ArgumentTypeError("steps must be integers >= 1")
    return steps
