"""The benchmark runs on tiny sizes, so it never rots (timings are reported, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_quick_benchmark_runs_and_reports_every_figure(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    for key in (
        "raw_sqlite_commits_per_s",
        "answer_statements_per_s",
        "answers_per_s_interleaved",
        "startup_s_empty",
        "updates_per_s_50_users_flat_out",
        "latency_ms_p99_50_users_paced",
        "rss_mb_idle_advisor_10000_stored",
        "cpu_ms_per_update_baseline_10000_stored",
        "cpu_ms_per_update_with_save_baseline_10000_stored",
        "ratio_cpu_ms_per_update_10000_stored",
    ):
        assert figures[key]["median"] > 0, key
    assert "machine:" in result.stdout
    assert "10,000 stored conversations" in result.stdout
