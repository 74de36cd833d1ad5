"""The terminal chat: the same engine and storage as Telegram, with numbered options.

On a terminal it prompts; with piped input it reads one answer per line, so a whole
conversation can be scripted. Every answer is committed before the next question appears.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from typing import TextIO

from advisor.flow import DONT_KNOW
from advisor.i18n import N_, Translator
from advisor.messages import error_text, greeting, progress_bar
from advisor.report import DONT_KNOW_TEXT, answer_text, as_text, build_report

from .service import (
    AdvisorService,
    Asking,
    At,
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
        self.say(greeting(self.flow, t, resumed=step.resumed))
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
        if step.migrated:
            self.say(
                t(N_("The questions were updated since your last visit; your answers were kept."))
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
        at = At(self.step.stored.id, self.step.stored.seq)
        return self.service.answer(self.user, value, locale=self.t.language, at=at)

    def parse(self, prompt: Prompt, line: str) -> object:
        """Numbers or option ids for choices, yes/no words, or the text as typed."""
        if not line and prompt.default is not None:
            return prompt.default
        if prompt.kind in ("single", "multiple"):
            options = prompt.options
            picked = []
            for part in line.replace(";", ",").split(",") if prompt.multiple else [line]:
                part = part.strip()
                if part.isdigit() and 1 <= int(part) <= len(options):
                    picked.append(options[int(part) - 1].id)
                elif part:
                    picked.append(part)
            return picked if prompt.multiple else (picked[0] if picked else "")
        if prompt.kind == "yes_no":
            word = line.casefold()
            yes = {"1", self.t(N_("Yes")).casefold(), "yes", "y"}
            no = {"2", self.t(N_("No")).casefold(), "no", "n"}
            unsure = (
                {"3", self.t(DONT_KNOW_TEXT).casefold()} if prompt.question.dont_know else set()
            )
            if word in unsure:
                return DONT_KNOW
            return True if word in yes else False if word in no else line
        return line

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
            self.say(f"⚠ {t(flag.title)}. {t(flag.instead)}")
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
        if prompt.kind in ("single", "multiple"):
            for number, option in enumerate(prompt.options, 1):
                self.say(f"  {number}. {t(option.text)}")
            if prompt.multiple:
                self.say(t(N_("Several numbers may be given, separated by commas.")))
        elif prompt.kind == "yes_no":
            yes, no = t(N_("Yes")), t(N_("No"))
            self.say(f"  1. {yes}\n  2. {no}")
            if prompt.question.dont_know:
                self.say(f"  3. {t(DONT_KNOW_TEXT)}")
        if prompt.default is not None:
            earlier = answer_text(self.flow, prompt.question, prompt.default, t)
            self.say(t(N_("Earlier answer: {answer} (press Enter to keep it)"), answer=earlier))
        return False
