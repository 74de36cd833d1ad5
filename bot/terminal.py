"""The terminal chat: the same engine and storage as Telegram, with numbered options.

On a terminal it prompts; with piped input it reads one answer per line, so a whole
conversation can be scripted. Every answer is committed before the next question appears.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from typing import TextIO

from advisor.i18n import N_, Translator
from advisor.messages import error_text, greeting, progress_bar
from advisor.report import answer_text, as_text, build_report

from .service import (
    AdvisorService,
    Asking,
    Finished,
    InvalidAnswer,
    Prompt,
    StaleConversation,
    Step,
    StorageError,
    Turn,
    User,
)

COMMANDS = {
    "back": N_("back"),
    "restart": N_("restart"),
    "quit": N_("quit"),
}


class TerminalChat:
    """One person's conversation on a terminal (or a script's, through a pipe)."""

    def __init__(
        self,
        service: AdvisorService,
        user: User,
        t: Translator,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
    ) -> None:
        self.service = service
        self.flow = service.flow
        self.user = user
        self.t = t
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = stdin.isatty()
        self.step: Step | None = None  # the last step shown: its question is being answered
        self.commands = {name: {name, t(word).casefold()} for name, word in COMMANDS.items()}

    def say(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def lines(self) -> Iterator[str]:
        while True:
            if self.interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = self.stdin.readline()
            if not line:
                return
            yield line.rstrip("\n")

    def run(self) -> int:
        t = self.t
        step = self.step = self.service.current(self.user, t.language)
        self.say(t(self.flow.title))
        self.say()
        self.say(greeting(self.flow, t, resumed=step.resumed, migrated=step.migrated))
        self.say(
            t(
                N_(
                    "Answer with the number of an option. Type “{back}” to go back, "
                    "“{restart}” to start over or “{quit}” to stop; your answers are saved."
                ),
                back=t(COMMANDS["back"]),
                restart=t(COMMANDS["restart"]),
                quit=t(COMMANDS["quit"]),
            )
        )
        if self.show(step.turn):
            return 0
        for line in self.lines():
            try:
                next_step = self.handle(line.strip())
            except InvalidAnswer as error:
                self.say(error_text(error, t, self.option_text(error)))
                continue
            except StaleConversation:  # another process moved on: show where it stands
                next_step = self.service.current(self.user, t.language)
            except StorageError as error:
                self.say(error_text(error.code, t))
                continue
            if next_step is None:
                self.say(t(N_("Your answers are saved. Run the chat again to continue.")))
                return 0
            self.step = next_step
            if self.show(next_step.turn):
                return 0
        self.say()
        self.say(t(N_("Your answers are saved. Run the chat again to continue.")))
        return 0

    def handle(self, line: str) -> Step | None:
        word = line.casefold()
        if word in self.commands["quit"]:
            return None
        if word in self.commands["back"]:
            return self.service.back(self.user)
        if word in self.commands["restart"]:
            return self.service.restart(self.user, self.t.language)
        if self.step is None or not isinstance(self.step.turn, Asking):
            raise InvalidAnswer("already_finished")
        value = self.parse(self.step.turn.prompt, line)
        return self.service.answer(self.user, value, locale=self.t.language, at=self.step.at)

    def parse(self, prompt: Prompt, line: str) -> object:
        """For a question with options (yes/no too): numbers, labels or option ids, several
        separated by commas for "choose all that apply"; else the text as typed."""
        if not line and prompt.default is not None:
            return prompt.default
        if not prompt.options:
            return line
        labels = {self.t(o.text).casefold(): o.id for o in prompt.options}
        parts = line.replace(";", ",").split(",") if prompt.multiple else [line]
        picked = []
        for part in filter(None, (p.strip() for p in parts)):
            if part.isdigit() and 1 <= int(part) <= len(prompt.options):
                picked.append(prompt.options[int(part) - 1].id)
            else:
                picked.append(labels.get(part.casefold(), part))
        return picked if prompt.multiple else (picked[0] if picked else "")

    def option_text(self, error: InvalidAnswer) -> str:
        option = error.params.get("option")
        if not option:
            return ""
        for question in self.flow.questions:
            found = question.option(option)
            if found:
                return self.t(found.text)
        return option

    def show(self, turn: Turn) -> bool:
        """Print what comes next; True when the conversation has ended with its summary."""
        t = self.t
        for flag in turn.tips:
            self.say(f"⚠ {t(flag.title)}\n  {t(flag.instead)}")  # as the Telegram tip shows it
        if isinstance(turn, Finished):
            report = build_report(self.flow, turn.recommendation, t, date.today())
            self.say()
            self.say(as_text(report, t))
            self.say()
            self.say(t(N_("The summary is saved.")))
            return True
        prompt = turn.prompt
        self.say()
        self.say(f"[{prompt.step}/{prompt.total}] {progress_bar(prompt.step, prompt.total)}")
        self.say(t(prompt.text))
        if prompt.question.help:
            self.say(t(prompt.question.help))
        for number, option in enumerate(prompt.options, 1):
            self.say(f"  {number}. {t(option.text)}")
        if prompt.multiple:
            self.say(t(N_("Several numbers may be given, separated by commas.")))
        if prompt.default is not None:
            earlier = answer_text(self.flow, prompt.question, prompt.default, t)
            self.say(t(N_("Earlier answer: {answer} (press Enter to keep it)"), answer=earlier))
        return False
