"""Callback data: what each button carries, built and read in this one module.

Every press carries all it means, so nothing waits in memory between two presses:

    a:<conversation>:<step>:<option>          answer a single choice or yes/no
    t:<conversation>:<step>:<option>          tick or untick an option of a multiple choice
    d:<conversation>:<step>                   Done on a multiple choice
    b:<conversation>:<step>  r:<…>            Back, Restart
    l:<language>  e:pdf|md  x:delete|keep  k:<consultant>:<0|1>

The ticks themselves are stored with the conversation, so quick presses all count (keyboards
sent before that carried them as a trailing bit set, still accepted and ignored). Each
pattern is the `pattern=` of one CallbackQueryHandler; a press whose conversation or step is
not the current one is refused by the service as stale.
"""

from __future__ import annotations

import re
from re import Match

from ..service import At

_AT = r"(\d{1,12}):(\d{1,6})"
ANSWER = re.compile(rf"^a:{_AT}:(\d{{1,3}})$")
TOGGLE = re.compile(rf"^t:{_AT}:(\d{{1,3}})(?::\d{{1,6}})?$")
DONE = re.compile(rf"^d:{_AT}(?::\d{{1,6}})?$")
BACK = re.compile(rf"^b:{_AT}$")
RESTART = re.compile(rf"^r:{_AT}$")
LANGUAGE = re.compile(r"^l:([a-z]{2})$")
EXPORT = re.compile(r"^e:(pdf|md)$")
DELETE = re.compile(r"^x:(delete|keep)$")
CONSENT = re.compile(r"^k:(\d{1,12}):([01])$")


def answer(at: At, option: int) -> str:
    return f"a:{at.conversation}:{at.seq}:{option}"


def toggle(at: At, option: int) -> str:
    return f"t:{at.conversation}:{at.seq}:{option}"


def done(at: At) -> str:
    return f"d:{at.conversation}:{at.seq}"


def back(at: At) -> str:
    return f"b:{at.conversation}:{at.seq}"


def restart(at: At) -> str:
    return f"r:{at.conversation}:{at.seq}"


def language(code: str) -> str:
    return f"l:{code}"


def export(kind: str) -> str:
    return f"e:{kind}"


def delete(confirmed: bool) -> str:
    return "x:delete" if confirmed else "x:keep"


def consent(consultant_id: int, granted: bool) -> str:
    return f"k:{consultant_id}:{int(granted)}"


def at(match: Match[str]) -> At:
    """Where a conversation press was made (ANSWER, TOGGLE, DONE, BACK, RESTART)."""
    return At(int(match.group(1)), int(match.group(2)))


def option(match: Match[str]) -> tuple[At, int]:
    """Where an ANSWER or TOGGLE press was made, and the number of its option."""
    return at(match), int(match.group(3))


def word(match: Match[str]) -> str:
    """What a LANGUAGE, EXPORT or DELETE press carries: `sv`, `pdf`, `delete` ..."""
    return match.group(1)


def consent_given(match: Match[str]) -> tuple[int, bool]:
    """The consultant of a CONSENT press, and whether the client agreed."""
    return int(match.group(1)), match.group(2) == "1"
