"""`python -m bench [--quick] [--runs N] [--out FILE]`: engine and storage, the whole bot, and the
usual way side by side; each figure as the median of the runs, with their min and max."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from pathlib import Path

from . import bot, engine

SIDE_BY_SIDE = [
    ("startup_s", "start-up to first getUpdates, s"),
    ("rss_mb_idle", "resident memory at start, MB"),
    ("rss_mb_after", "resident memory after the users, MB"),
    ("updates_per_s", "updates per second"),
    ("cpu_ms_per_update", "bot CPU per update while serving, ms"),
    ("cpu_ms_per_update_with_save", "... counting the save at shutdown, ms"),
    ("latency_ms_p50", "latency p50, ms"),
    ("latency_ms_p99", "latency p99, ms"),
]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, under a minute")
    parser.add_argument("--runs", type=int, default=1, help="repeat and report min/median/max")
    parser.add_argument("--out", default=None, help="write the results as JSON here too")
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        figures = {**engine.run(args.quick), **bot.run(args.quick)}
        runs.append({**figures, **ratios(figures)})
    table = {
        key: {
            "min": min(run[key] for run in runs),
            "median": statistics.median(run[key] for run in runs),
            "max": max(run[key] for run in runs),
        }
        for key in runs[0]
    }
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}; {args.runs} run(s)"
        f"{', quick sizes' if args.quick else ''}"
    )
    print(f"\n{'figure':<44} {'median':>10} {'min':>10} {'max':>10}")
    for key, value in table.items():
        print(f"{key:<44} {value['median']:>10.2f} {value['min']:>10.2f} {value['max']:>10.2f}")
    print_side_by_side(table)
    if args.out:
        Path(args.out).write_text(json.dumps(table, indent=2))


def stored_sizes(figures: dict) -> list[int]:
    return sorted(
        int(key.split("_")[-2]) for key in figures if key.startswith("startup_s_advisor_")
    )


def ratios(figures: dict[str, float]) -> dict[str, float]:
    """The usual way against the advisor: how many times more it costs (or less it does)."""
    out = {}
    for stored in stored_sizes(figures):
        for figure, _ in SIDE_BY_SIDE:
            ours = figures[f"{figure}_advisor_{stored}_stored"]
            theirs = figures[f"{figure}_baseline_{stored}_stored"]
            out[f"ratio_{figure}_{stored}_stored"] = theirs / ours if ours else float("nan")
    return out


def print_side_by_side(table: dict) -> None:
    print("\nside by side (medians): the advisor, the usual way, and usual / advisor")
    for stored in stored_sizes(table):
        print(f"\n{stored:,} stored conversations")
        for figure, title in SIDE_BY_SIDE:
            ours = table[f"{figure}_advisor_{stored}_stored"]["median"]
            theirs = table[f"{figure}_baseline_{stored}_stored"]["median"]
            ratio = table[f"ratio_{figure}_{stored}_stored"]["median"]
            print(f"  {title:<40} {ours:>10.2f} {theirs:>10.2f} {ratio:>8.2f}x")


if __name__ == "__main__":
    main()
