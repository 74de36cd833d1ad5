"""The terminal chat end to end, as a real process: scripted, resumed, killed and resumed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

from advisor.i18n import translator
from testkit.people import FLOW, PEAKS, asked, typed_lines

ONE_GOAL = {
    **PEAKS,
    "goals": ["cost"],
    "quality_access": ["recordings"],
    "security_checks": ["continuity_plan"],
}
ANSWERS = typed_lines(FLOW, ONE_GOAL)  # option numbers, one line per question asked
QUESTIONS = len(ANSWERS)
FIRST_TOTAL = asked(FLOW, ONE_GOAL)[0][0].total  # the first question's estimate of the total


def chat(db, *args, stdin="", lang="en"):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), "--lang", lang, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def rows(db, sql):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_scripted_conversation_reaches_the_summary_and_saves_it(tmp_path):
    db = tmp_path / "a.db"
    result = chat(db, "--user", "ann", stdin="\n".join(ANSWERS) + "\n")
    assert result.returncode == 0, result.stderr
    assert f"[1/{FIRST_TOTAL}]" in result.stdout
    assert f"[{QUESTIONS}/{QUESTIONS}]" in result.stdout
    assert "Recommendation: Outsource the overflow, keep the core in-house" in result.stdout
    assert "The summary is saved." in result.stdout
    assert rows(db, "SELECT verdict FROM summaries") == [("overflow",)]


def test_option_ids_commas_back_restart_and_bad_input(tmp_path):
    db = tmp_path / "a.db"
    script = "1\npeaks\n9\nintegrated_systems, 2\nback\nback\n1\n1,2\nrestart\n3\nquit\n"
    result = chat(db, "--user", "bo", stdin=script)
    out = result.stdout
    assert "Please choose one of the options." in out
    assert "Earlier answer: We have recurring peaks that our team cannot absorb" in out
    steps = rows(db, "SELECT action, question_id, value FROM answers ORDER BY id")
    assert steps[:3] == [
        ("answer", "duration", '"ongoing"'),
        ("answer", "situation", '"peaks"'),
        ("answer", "inhouse_signals", '["integrated_systems","specialist_knowledge"]'),
    ]
    assert ("back", "complexity", "null") in steps
    assert rows(db, "SELECT status FROM conversations ORDER BY id") == [("restarted",), ("open",)]


def test_people_are_kept_apart_and_running_again_continues(tmp_path):
    db = tmp_path / "a.db"
    chat(db, "--user", "cy", stdin="1\n1\n")
    chat(db, "--user", "di", stdin="2\n")
    again = chat(db, "--user", "cy", stdin="quit\n")
    assert "Welcome back" in again.stdout and "Which of these are true" in again.stdout
    other = chat(db, "--user", "di", stdin="quit\n")
    assert "Is the campaign inbound" in other.stdout


def read_until(process, marker):
    lines = []
    for line in process.stdout:
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError("the chat ended before " + marker + ":\n" + "".join(lines))


def test_killed_between_two_answers_it_resumes_at_the_right_question(tmp_path):
    db = tmp_path / "a.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), "--user", "ed", "--lang", "en"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    read_until(process, "[1/")
    markers = ["[2/", "[3/", "[4/", "[5/", "[6/"]
    for answer, next_marker in zip(ANSWERS[:5], markers, strict=True):
        process.stdin.write(answer + "\n")
        process.stdin.flush()
        read_until(process, next_marker)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = chat(db, "--user", "ed", stdin="\n".join(ANSWERS[5:]) + "\n")
    assert "Welcome back" in resumed.stdout
    assert resumed.stdout.index("[6/") < resumed.stdout.index("[7/")
    assert "[1/" not in resumed.stdout
    answered = [q for (q,) in rows(db, "SELECT question_id FROM answers ORDER BY seq")]
    assert answered[:5] == [
        "duration",
        "situation",
        "inhouse_signals",
        "complexity",
        "monthly_contacts",
    ]
    assert len(answered) == len(set(answered)) == QUESTIONS
    assert rows(db, "SELECT verdict FROM summaries") == [("overflow",)]


def test_advise_prints_json_or_text_and_names_a_bad_answer(tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "situation: peaks\ninhouse_signals: [none]\ncomplexity: mixed\nmonthly_contacts: 12000\n"
        "duration: ongoing\ngoals: [cost]\nkpis_measurable: yes\ncommitment: long_term\n"
        "results_expected: 12_months\ncontract_length: 3_years_plus\npricing: per_hour\n"
        "history_data: two_years_daily\ninternal_owner: yes\nkeep_facilities: no\n"
        "provider_stage: not_started\nquality_access: [recordings]\nsecurity_checks: [gdpr]\n",
        encoding="utf-8",
    )

    def advise(*args):
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "advise", "--answers", str(answers), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    text = advise()
    assert text.returncode == 0 and "Outsource the overflow" in text.stdout
    import json

    data = json.loads(advise("--format", "json").stdout)
    assert data["verdict"]["id"] == "overflow"
    assert all(r["sources"] for r in data["reasons"] + data["flags"] + data["next_steps"])
    answers.write_text(answers.read_text().replace("pricing: per_hour", "pricing: barter"))
    bad = advise()
    assert bad.returncode == 1 and "pricing" in bad.stderr


def test_plain_advisor_without_a_token_is_the_terminal_chat_with_its_options(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--db", str(tmp_path / "a.db"), "--lang", "fi"],
        input="1\nquit\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert translator("fi")(FLOW.title) in result.stdout  # the flow's title, in Finnish
    assert rows(tmp_path / "a.db", "SELECT question_id FROM answers") == [("duration",)]


def test_a_tip_shows_the_red_flag_on_its_own_line_and_what_to_do_below_it(tmp_path):
    one_year = typed_lines(FLOW, {**ONE_GOAL, "contract_length": "1_year"})
    result = chat(tmp_path / "a.db", "--user", "cy", stdin="\n".join(one_year) + "\n")
    assert "⚠ A one-year contract is too short\n  Sign for at least three years." in result.stdout
