"""Flow files: the shipped flow is valid, and each kind of mistake is named with file and line."""

from __future__ import annotations

import subprocess
import sys
from textwrap import dedent

import pytest

from advisor.flow import FlowError, default_flows_dir, load_flow

SOURCE = "001_93f2846bbbe84c4b.txt"
VALID = dedent(
    f"""\
    flow: tiny
    title: Tiny
    intro: A tiny flow.
    sources:
      {SOURCE}: {{language: nl, title: An article}}
    questions:
      - id: size
        kind: single
        text: How big?
        options:
          - id: small
            text: Small
          - id: big
            text: Big
      - id: owner
        kind: yes_no
        text: Is there an owner?
      - id: amount
        kind: number
        text: How many?
        when: {{size: big}}
    advice:
      verdicts:
        outsource: {{title: Outsource, text: Do it.}}
        in_house: {{title: Keep it, text: Do not.}}
      reasons:
        - id: small_size
          supports: in_house
          weight: 2
          when: {{size: small}}
          text: It is small.
          source:
            {SOURCE}: minimaal drie jaar
      decide:
        - id: small_in_house
          verdict: in_house
          when: {{score: {{in_house: {{at_least: 2}}}}}}
          text: Small things stay.
          source:
            {SOURCE}: minimaal drie jaar
        - id: otherwise
          verdict: outsource
          text: The rest goes.
          source:
            {SOURCE}: faire prijs
      red_flags:
        - id: no_owner
          severity: high
          area: readiness
          when: {{owner: false}}
          title: No owner
          why: Nobody steers.
          instead: Name one.
          source:
            {SOURCE}: minimaal drie jaar
      report:
        - {{id: reasons, title: Why}}
        - {{id: flags, title: Red flags}}
        - {{id: next_steps, title: Next steps}}
      areas:
        - {{id: readiness, title: Readiness}}
    """
)


def write(tmp_path, text):
    path = tmp_path / "flow.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problem(tmp_path, old, new):
    assert old in VALID, old
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    return path, str(caught.value)


def line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_shipped_flow_and_a_small_valid_flow_load(tmp_path):
    flow = load_flow(default_flows_dir() / "advisor.yaml")
    assert flow.questions[0].id == "duration"
    tiny = load_flow(write(tmp_path, VALID))
    assert [q.id for q in tiny.questions] == ["size", "owner", "amount"]


def test_the_version_changes_with_the_content(tmp_path):
    first = load_flow(write(tmp_path, VALID)).version
    second = load_flow(write(tmp_path, VALID.replace("How big?", "How large?"))).version
    assert first != second


def test_a_comment_or_blank_line_leaves_the_version_alone(tmp_path):
    """Open conversations are migrated when the version changes: not for a comment."""
    first = load_flow(write(tmp_path, VALID)).version
    commented = "# reviewed by the consultants\n\n" + VALID.replace("\n", "  # note\n", 1)
    assert load_flow(write(tmp_path, commented)).version == first


@pytest.mark.parametrize(
    ("old", "new", "words", "anchor"),
    [
        (
            "  - id: owner\n",
            "  - id: size\n",
            "duplicate question id 'size'",
            "  - id: size\n    kind: yes_no",
        ),
        ("      - id: big\n", "      - id: small\n", "duplicate option id 'small'", None),
        ("    text: Is there an owner?\n", "", "missing required field 'text' in 'owner'", None),
        ("    kind: yes_no\n", "    kind: maybe\n", "unknown kind 'maybe'", "kind: maybe"),
        ("when: {size: big}", "when: {sise: big}", "unknown question 'sise'", "when: {sise"),
        ("when: {size: big}", "when: {size: huge}", "unknown option 'huge'", "when: {size: huge"),
        (
            "    text: How big?\n",
            "    text: How big?\n    next: nowhere\n",
            "which is not a question",
            None,
        ),
        (
            "when: {size: big}",
            "when: {amount: {below: 3}}",
            "can never be reached",
            "when: {amount",
        ),
        (
            "    text: How big?\n",
            "    text: How big?\n    next: amount\n",
            "'owner' can never be reached",
            None,
        ),
        (
            "      source:\n        001_93f2846bbbe84c4b.txt: faire prijs\n",
            "",
            "names no source article",
            None,
        ),
        (
            "      source:\n        001_93f2846bbbe84c4b.txt: faire prijs\n",
            "      source:\n        002_0b9e4a3e38fbbadb.txt: faire prijs\n",
            "unknown source",
            None,
        ),
        (
            "        001_93f2846bbbe84c4b.txt: faire prijs\n",
            "        001_93f2846bbbe84c4b.txt: a phrase much longer than six words here\n",
            "is over 6 words",
            None,
        ),
        (
            "      source:\n        001_93f2846bbbe84c4b.txt: faire prijs\n",
            "      source: 001_93f2846bbbe84c4b.txt\n",
            "needs an anchor per article",
            None,
        ),
        (
            "      text: The rest goes.\n",
            "      text: The rest goes.\n      when: {size: big}\n",
            "takes what no other rule decides",
            None,
        ),
        (
            "{score: {in_house: {at_least: 2}}}",
            "{score: {in_house - sideways: {at_least: 2}}}",
            "unknown verdict 'sideways' in the score",
            None,
        ),
        (
            "      text: It is small.\n",
            "      text: It is {tiny} small.\n",
            "'{tiny}' is not a question id",
            None,
        ),
        ("      why: Nobody steers.\n", "", "missing required field 'why'", None),
        ("when: {owner: false}", "when: {owner: maybe}", "is yes/no", None),
        ("when: {owner: false}", "when: {owner: {between: 1}}", "unknown operator 'between'", None),
        ("    text: How many?\n", "    text: How many?\n    next: size\n", "loop", None),
        ("  - id: big\n", "  - id: big\n  broken: [\n", "invalid YAML", None),
    ],
)
def test_each_mistake_is_one_line_naming_file_and_line(tmp_path, old, new, words, anchor):
    path, message = problem(tmp_path, old, new)
    first = message.splitlines()[0]
    assert str(path) in first
    assert any(words in line for line in message.splitlines()), message
    if anchor:
        text = VALID.replace(old, new, 1)
        expected = line_of(text, anchor.splitlines()[0]) if "\n" not in anchor else None
        if expected:
            assert f"{path}:{expected}:" in message, message


def test_advisor_check_fails_on_a_broken_flow(tmp_path):
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(
        VALID.replace("kind: yes_no", "kind: maybe"), encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", "--flows", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"{folder / 'tiny.yaml'}:" in result.stderr and "unknown kind 'maybe'" in result.stderr


def test_advisor_check_passes_on_the_shipped_flows():
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
