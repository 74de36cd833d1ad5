"""`python -m bench [--quick] [--runs N]`: engine, storage and whole-bot figures, as a table."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from pathlib import Path

from . import bot, engine


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, under a minute")
    parser.add_argument("--runs", type=int, default=1, help="repeat and report min/median/max")
    parser.add_argument("--out", default=None, help="write the results as JSON here too")
    args = parser.parse_args()
    runs = [{**engine.run(args.quick), **bot.run(args.quick)} for _ in range(args.runs)]
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}{' (quick sizes)' if args.quick else ''}"
    )
    print(f"{'figure':<36} {'min':>11} {'median':>11} {'max':>11}")
    table = {}
    for key in runs[0]:
        values = [run[key] for run in runs]
        table[key] = {"min": min(values), "median": statistics.median(values), "max": max(values)}
        print(
            f"{key:<36} {min(values):>11.2f} {statistics.median(values):>11.2f} "
            f"{max(values):>11.2f}"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
