"""`python -m bench [--quick] [--runs N] [--out FILE]`: engine and storage, the whole bot, and the
usual way side by side; each figure as the median of the runs, with their min and max."""

from __future__ import annotations

import argparse
import gc
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
    parser.add_argument(
        "--markdown", metavar="JSON", help="print the tables of an --out file as Markdown"
    )
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return
    # the emulator and the users keep every call and message: without this the collector's
    # pauses in this process would be counted as the bot's latency
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
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


def cell(value: dict[str, float]) -> str:
    """`median (min–max)` with as many digits as the size of the number deserves."""

    def number(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"

    low, high = number(value["min"]), number(value["max"])
    return f"{number(value['median'])} ({low}–{high})"


def markdown(table: dict) -> str:
    """The results as the Markdown tables of bench/README.md."""
    engine_rows = [
        ("raw_sqlite_commits_per_s", "raw SQLite commits/s (one-row insert)"),
        ("answer_statements_per_s", "the statements of one answer, prepared, per s"),
        ("answers_per_s_1_conversation", "durable answers/s, 1 conversation"),
        ("answers_per_s_interleaved", "durable answers/s, 1,000 interleaved"),
        ("answers_per_s_concurrent", "durable answers/s, 1,000 at once (group commit)"),
        ("answers_per_commit", "... answers per commit"),
        ("concurrent_answer_p50_ms", "... one answer's latency p50, ms"),
        ("concurrent_answer_p99_ms", "... one answer's latency p99, ms"),
        ("ratio_raw_to_answers", "raw commits / durable answers"),
        ("ratio_statements_to_answers", "answer statements / durable answers"),
    ]
    lines = ["| engine and storage | median (min–max) |", "|---|---|"]
    lines += [f"| {title} | {cell(table[key])} |" for key, title in engine_rows]
    scenarios = sorted(
        {k.removeprefix("updates_per_s_") for k in table if k.startswith("updates_per_s_")}
        - {k.removeprefix("updates_per_s_") for k in table if k.endswith("_stored")},
        key=lambda name: (int(name.split("_")[0]), name),
    )
    columns = [
        ("updates_per_s", "updates/s"),
        ("cpu_ms_per_update", "CPU ms/update"),
        ("latency_ms_p50", "p50 ms"),
        ("latency_ms_p95", "p95 ms"),
        ("latency_ms_p99", "p99 ms"),
        ("rss_mb_after", "RSS after, MB"),
    ]
    lines += ["", "| whole bot | " + " | ".join(t for _, t in columns) + " |"]
    lines.append("|---" * (len(columns) + 1) + "|")
    for name in scenarios:
        cells = " | ".join(cell(table[f"{key}_{name}"]) for key, _ in columns)
        lines.append(f"| {name.replace('_', ' ')} | {cells} |")
    lines += [
        "",
        f"Start-up to the first getUpdates, empty database: {cell(table['startup_s_empty'])} s.",
    ]
    sizes = stored_sizes(table)
    header = " | ".join(f"advisor, {n:,} | usual, {n:,} | usual / advisor" for n in sizes)
    lines += ["", f"| side by side | {header} |", "|---" * (1 + 3 * len(sizes)) + "|"]
    for figure, title in SIDE_BY_SIDE:
        cells = []
        for n in sizes:
            cells.append(cell(table[f"{figure}_advisor_{n}_stored"]))
            cells.append(cell(table[f"{figure}_baseline_{n}_stored"]))
            cells.append(cell(table[f"ratio_{figure}_{n}_stored"]) + "×")
        lines.append(f"| {title} | {' | '.join(cells)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
