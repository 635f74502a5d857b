"""``aaas report``: plots and a one-page summary of a finished run."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from testbed.options import Subparsers, deprecated_alias


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report", help="PNG plots and an HTML summary of a finished run",
        description="Plot a finished run (outcomes over time, latency distribution, per-node "
        "load, bandwidth) and write a one-page report.html, from the demo's JSON "
        "(aaas demo --json PATH --json-records) or from Prometheus range queries.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-json", type=Path, metavar="PATH", dest="json_path",
                     help="the demo's summary, written with --json-records")
    # The old spelling: --json is an output everywhere else (docs/cli.md).
    src.add_argument("--json", type=Path, dest="json_path", action=deprecated_alias("--from-json"),
                     help=argparse.SUPPRESS)
    src.add_argument("--prometheus", metavar="URL",
                     help="a Prometheus that scraped the run, e.g. http://localhost:9090")
    p.add_argument("--start", type=float, default=None, metavar="UNIX_S",
                   help="with --prometheus: start of the run (default: an hour before --end)")
    p.add_argument("--end", type=float, default=None, metavar="UNIX_S",
                   help="with --prometheus: end of the run (default: now)")
    p.add_argument("--out", type=Path, default=Path("report"), metavar="DIR",
                   help="output folder (default: ./report)")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from monitoring.report import write_report
    from monitoring.report_data import from_demo_json, from_prometheus

    if args.json_path is not None:
        data = from_demo_json(args.json_path)
    else:
        end = args.end if args.end is not None else time.time()
        start = args.start if args.start is not None else end - 3600
        data = from_prometheus(args.prometheus, start, end)
    for path in write_report(data, args.out):
        print(path)  # the files written, one per line (scripts use them)
    return 0
