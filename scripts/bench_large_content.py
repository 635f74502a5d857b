"""What a user of a link profile can expect for large content: transfer time, bytes on
air per delivered byte, closes by the link, and outages (docs/link.md).

Runs the link's own channel (link.DirectionChannel, the code the proxy runs) on the
uplink of users at given distances, sending content in the pieces the user agent sends
(user_agent.task.CONTENT_PIECE_BYTES); a piece whose connection the link closes is sent
again after a reconnect (``--reconnect-s`` emulated s). Emulated seconds throughout:
the same at every time scale.

    .venv/bin/python scripts/bench_large_content.py --scenario paper --mb 10
"""

from __future__ import annotations

import argparse

import numpy as np

from aaas import load_scenario
from link import DirectionChannel, load_link_profiles
from user_agent.task import CONTENT_PIECE_BYTES


def transfer(ch: DirectionChannel, size: int, t: float,
             reconnect_s: float) -> tuple[float, int, int]:
    """(seconds, bytes on air, closes) to move *size* bytes in pieces from emulated *t*."""
    start, air, closes, left = t, 0, 0, size
    while left > 0:
        piece = min(CONTENT_PIECE_BYTES, left)
        tx = ch.transmit(b"\0" * piece, t)
        air += tx.bytes_payload + tx.bytes_retx
        t = tx.deliver_s
        if tx.closed is not None:
            closes += 1
            t += reconnect_s
            continue
        left -= piece
    return t - start, air, closes


def outages(ch: DirectionChannel, seconds: float) -> tuple[float, float]:
    """(share of time, mean length in s) below the outage threshold, block by block."""
    t, down, runs, run, in_out = 0.0, 0.0, [], 0.0, False
    while t < seconds:
        end = ch.block_end(t)
        bad = ch.snr_at(t) < ch.threshold
        if bad:
            down += end - t
            run += end - t
        elif in_out:
            runs.append(run)
            run = 0.0
        in_out, t = bad, end
    return down / seconds, float(np.mean(runs)) if runs else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="paper")
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--transfers", type=int, default=8)
    ap.add_argument("--reconnect-s", type=float, default=2.0)
    ap.add_argument("--distances", default="10,40,60,80,100,120")
    args = ap.parse_args()
    base = load_link_profiles(load_scenario(args.scenario)).for_user("user-0000")
    size = int(args.mb * 1e6)
    print(f"{args.scenario}: {args.mb:g} MB up, {args.transfers} transfers per distance, "
          f"pieces of {CONTENT_PIECE_BYTES} B")
    print("distance_m  mean_snr_db  transfer_s(median)  transfer_s(max)  air/payload  "
          "closes/transfer  outage_share  outage_mean_s")
    for d in (float(x) for x in args.distances.split(",")):
        ch = DirectionChannel(profile=base.replace(distance_m=d), uplink=True,
                              rng=np.random.default_rng(int(d)))
        t, secs, air, closes = 0.0, [], 0, 0
        for _ in range(args.transfers):
            s, a, c = transfer(ch, size, t, args.reconnect_s)
            secs.append(s)
            air, closes, t = air + a, closes + c, t + s + 1.0
        share, mean_len = outages(DirectionChannel(profile=base.replace(distance_m=d),
                                                   uplink=True, rng=np.random.default_rng(1)),
                                  600.0)
        print(f"{d:10.0f}  {10 * np.log10(ch.mean_snr):11.1f}  {np.median(secs):18.1f}  "
              f"{max(secs):15.1f}  {air / (size * args.transfers):11.2f}  "
              f"{closes / args.transfers:15.1f}  {share:12.4f}  {mean_len:13.3f}")


if __name__ == "__main__":
    main()
