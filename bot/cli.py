"""The `advisor` command line: the terminal chat, the Telegram bot and the operator's tools.

Each subcommand calls the same functions the chat front ends call.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from advisor.engine import AnswersError, Engine
from advisor.flow import FlowError, default_flows_dir, load_flow, load_flows
from advisor.i18n import LANGUAGES, negotiate, translator
from advisor.messages import error_text
from advisor.report import as_text, build_report, to_json
from advisor.yamlfile import load_yaml
from storage import StorageError, Store, default_path

log = logging.getLogger("advisor")
FLOW_FILE = "advisor.yaml"


def system_language() -> str:
    """The language of the terminal's locale (LC_ALL, LC_MESSAGES, LANG), negotiated."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value and value not in ("C", "POSIX"):
            return negotiate(value.split(".")[0].split("@")[0])
    return "en"


def flow_path(args: argparse.Namespace) -> Path:
    return Path(args.flow) if args.flow else default_flows_dir() / FLOW_FILE


def open_flow(args: argparse.Namespace):
    return load_flow(flow_path(args))


def cmd_chat(args: argparse.Namespace) -> int:
    from .service import AdvisorService
    from .terminal import TerminalChat

    flow = open_flow(args)
    language = negotiate(args.lang) if args.lang else system_language()
    with Store(args.db) as store:
        user = store.user("terminal", args.user or getpass.getuser(), name=args.user, language=language)
        service = AdvisorService(flow, store)
        if not args.resume and store.open_conversation(user.id) is None:
            log.debug("starting a new conversation for %s", user.id)
        return TerminalChat(service, user, translator(language)).run()


def cmd_advise(args: argparse.Namespace) -> int:
    flow = open_flow(args)
    t = translator(negotiate(args.lang) if args.lang else "en")
    try:
        answers = load_yaml(Path(args.answers).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        print(f"advisor: cannot read {args.answers}: {error}", file=sys.stderr)
        return 2
    if not isinstance(answers, dict):
        print(f"advisor: {args.answers} must map question ids to answers", file=sys.stderr)
        return 2
    try:
        _, turn = Engine(flow).run(answers, locale=t.language)
    except AnswersError as error:
        for question_id, problem in error.problems.items():
            print(f"{args.answers}: {question_id}: {error_text(problem, t)}", file=sys.stderr)
        return 1
    rec = turn.recommendation
    if args.format == "json":
        json.dump(to_json(flow, rec, t), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(as_text(build_report(flow, rec, t), t))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from advisor.catalogs import check_catalogs

    directory = Path(args.flows) if args.flows else default_flows_dir()
    problems: list[str] = []
    flows = {}
    try:
        flows = load_flows(directory)
    except FlowError as error:
        problems.extend(error.problems)
    if not flows and not problems:
        problems.append(f"{directory}: no flow files (*.yaml) found")
    problems.extend(check_catalogs(list(flows.values())))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"advisor check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    names = ", ".join(f"{f.id} ({len(f.questions)} questions, version {f.version})" for f in flows.values())
    print(f"advisor check: OK: {names}; catalogs: {', '.join(LANGUAGES)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Outsourcing advisor: talk it through on Telegram or in the terminal.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--db", default=None, help=f"SQLite file (default $ADVISOR_DB or {default_path()})")
        p.add_argument("--flow", default=None, help="flow file (default: the shipped advisor flow)")
        return p

    chat = command("chat", "talk to the advisor in the terminal")
    chat.add_argument("--user", help="who is talking (default: your account name)")
    chat.add_argument("--lang", help="language: en, sv, nl, fi or pl (default: the system locale)")
    chat.add_argument("--resume", action="store_true", help="continue an unfinished conversation")
    chat.set_defaults(func=cmd_chat)

    advise = command("advise", "print the recommendation for a complete set of answers")
    advise.add_argument("--answers", required=True, help="YAML file: question id -> answer")
    advise.add_argument("--format", choices=("text", "json"), default="text")
    advise.add_argument("--lang", help="language of the output (default en)")
    advise.set_defaults(func=cmd_advise)

    check = command("check", "validate every flow file and the translation catalogs")
    check.add_argument("--flows", help="folder of flow files (default: the shipped flows/)")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        # the main job: the bot when a token is configured, else the terminal chat
        args = parser.parse_args(["chat", *(argv or [])])
    try:
        return args.func(args)
    except FlowError as error:
        print(f"advisor: {error}", file=sys.stderr)
        return 2
    except StorageError as error:
        print(f"advisor: the database cannot be used: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`advisor export | head`): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
