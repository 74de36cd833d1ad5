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

from advisor.flow import FlowError, open_flow
from advisor.i18n import negotiate, translator
from advisor.messages import error_text
from advisor.report import as_text, build_report, to_json
from advisor.yamlfile import load_yaml

from . import credentials, files, operators
from .housekeeping import AnswersError, advise
from .logs import guard, hide, setup
from .service import AdvisorService, StorageError

log = logging.getLogger("advisor")
TOKEN_FILE_HELP = (
    "file holding the bot token (default $TELEGRAM_BOT_TOKEN_FILE or $TELEGRAM_BOT_TOKEN)"
)


def system_language() -> str:
    """The language of the terminal's locale (LC_ALL, LC_MESSAGES, LANG), negotiated."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value and value not in ("C", "POSIX"):
            return negotiate(value.split(".")[0].split("@")[0])
    return "en"


def cmd_chat(args: argparse.Namespace) -> int:
    from .terminal import TerminalChat

    flow = open_flow(args.flow)
    language = negotiate(args.lang) if args.lang else system_language()
    with AdvisorService.at_path(flow, args.db) as service:
        user = service.people.person(
            "terminal", args.user or getpass.getuser(), name=args.user, language_tag=language
        )
        return TerminalChat(service, user, translator(language)).run()


def cmd_run(args: argparse.Namespace) -> int:
    from telegram.error import InvalidToken, NetworkError

    from .telegram.app import BotConfig, build_application, run

    token = credentials.bot_token(args.token_file)
    if not token:
        print(
            "advisor: no Telegram bot token: set TELEGRAM_BOT_TOKEN or pass --token-file PATH "
            "(create a bot with @BotFather). Without a token, `advisor chat` runs in the terminal.",
            file=sys.stderr,
        )
        return 2
    if args.webhook_url and not args.webhook_url.startswith("https://"):
        print(
            "advisor: the webhook URL must start with https:// (Telegram sends updates over "
            "HTTPS only; put a reverse proxy with a certificate in front)",
            file=sys.stderr,
        )
        return 2
    secret = credentials.webhook_secret(args.webhook_secret_file) if args.webhook_url else None
    if args.webhook_url and not secret:
        print(
            "advisor: webhook mode needs a secret token: --webhook-secret-file PATH or "
            "TELEGRAM_WEBHOOK_SECRET (1-256 characters A-Z a-z 0-9 _ -)",
            file=sys.stderr,
        )
        return 2
    setup(args.verbose, logging.INFO)
    config = BotConfig(
        token=token,
        api_url=args.api_url or os.environ.get("TELEGRAM_API_URL"),
        file_url=args.file_url or os.environ.get("TELEGRAM_FILE_URL"),
        webhook_url=args.webhook_url,
        webhook_secret=secret,
        listen=args.listen,
        port=args.port,
        max_rate=float(os.environ.get("ADVISOR_MAX_RATE") or 30),
    )
    flow = open_flow(args.flow)
    from advisor.catalogs import check_catalogs

    if problems := check_catalogs([flow], complete=False):
        print("advisor: the translation catalogs are broken:", file=sys.stderr)
        for problem in problems[:20]:
            print(f"  {problem}", file=sys.stderr)
        return 2
    with AdvisorService.at_path(flow, args.db) as service:
        application = build_application(service, config)
        try:
            run(application, config)
        except InvalidToken:
            print(
                "advisor: Telegram rejected the bot token; check TELEGRAM_BOT_TOKEN",
                file=sys.stderr,
            )
            return 1
        except NetworkError as error:  # printed through logs.guard(): the token never shows
            print(f"advisor: cannot reach the Bot API: {error}", file=sys.stderr)
            return 1
        if service.gone is not None:
            print(f"advisor: stopped: {service.gone}; restore it and start again", file=sys.stderr)
            return 1
    return 0


def cmd_advise(args: argparse.Namespace) -> int:
    flow = open_flow(args.flow)
    t = translator(negotiate(args.lang) if args.lang else "en")
    try:
        answers = load_yaml(Path(args.answers).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        print(f"advisor: cannot read {args.answers}: {error}", file=sys.stderr)
        return 2
    if isinstance(answers, dict) and isinstance(answers.get("answers"), dict):
        answers = answers["answers"]  # a scenario file: the answers beside what to expect
    if not isinstance(answers, dict):
        print(f"advisor: {args.answers} must map question ids to answers", file=sys.stderr)
        return 2
    try:
        rec = advise(flow, answers, locale=t.language)
    except AnswersError as error:
        for question_id, problem in error.problems.items():
            print(f"{args.answers}: {question_id}: {error_text(problem, t)}", file=sys.stderr)
        return 1
    if args.format == "json":
        json.dump(to_json(flow, rec, t), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(as_text(build_report(flow, rec, t), t))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Outsourcing advisor: talk it through on Telegram or in the terminal.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v -v: the libraries too)"
    )
    sub = parser.add_subparsers(dest="command")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument(
            "--db", default=None, help="SQLite file (default $ADVISOR_DB or ./advisor.db)"
        )
        p.add_argument("--flow", default=None, help="flow file (default: the shipped advisor flow)")
        return p

    chat = command("chat", "talk to the advisor in the terminal")
    chat.add_argument("--user", help="who is talking (default: your account name)")
    chat.add_argument("--lang", help="language: en, sv, nl, fi or pl (default: the system locale)")
    chat.set_defaults(func=cmd_chat)

    advise = command("advise", "print the recommendation for a complete set of answers")
    advise.add_argument("--answers", required=True, help="YAML file: question id -> answer")
    advise.add_argument("--format", choices=("text", "json"), default="text")
    advise.add_argument("--lang", help="language of the output (default en)")
    advise.set_defaults(func=cmd_advise)

    run_bot = command("run", "run the Telegram bot (polling, or webhook with --webhook-url)")
    run_bot.add_argument("--token-file", metavar="PATH", help=TOKEN_FILE_HELP)
    run_bot.add_argument(
        "--api-url",
        help="Bot API base URL, the token is appended (default $TELEGRAM_API_URL "
        "or https://api.telegram.org/bot)",
    )
    run_bot.add_argument(
        "--file-url", help="Bot API file base URL (default: derived from --api-url)"
    )
    run_bot.add_argument("--webhook-url", help="public HTTPS URL for webhook mode")
    run_bot.add_argument(
        "--webhook-secret-file",
        metavar="PATH",
        help="file holding the webhook secret (default $TELEGRAM_WEBHOOK_SECRET_FILE, "
        "or the secret itself in $TELEGRAM_WEBHOOK_SECRET)",
    )
    run_bot.add_argument(
        "--listen",
        default="127.0.0.1",
        help="webhook address to listen on (default 127.0.0.1: behind a reverse proxy)",
    )
    run_bot.add_argument("--port", type=int, default=8443, help="webhook port to listen on")
    run_bot.set_defaults(func=cmd_run)

    consult = command("consultants", "register consultants, invite them, print their share links")
    consult.add_argument("action", choices=("add", "list", "disable", "invite", "link"))
    consult.add_argument("name", nargs="?", help="NAME for add; ID or CODE for disable and link")
    consult.add_argument("--telegram-id", help="the consultant's Telegram user id (add)")
    consult.add_argument("--lang", help="language their share link presets for clients (add)")
    consult.add_argument("--bot-username", help="the bot's @username, for the share link")
    consult.add_argument(
        "--token-file", metavar="PATH", help=TOKEN_FILE_HELP + ", to ask for the username"
    )
    consult.add_argument("--api-url", help="Bot API base URL for getMe")
    consult.add_argument("--json", action="store_true", help="one JSON object per consultant")
    consult.set_defaults(func=operators.cmd_consultants)

    exp = command("export", "write finished summaries as CSV, JSON, Markdown or PDF")
    exp.add_argument("--format", choices=("csv", "json", "markdown", "pdf"), default="csv")
    exp.add_argument("--out", help="file (csv, json) or folder (markdown, pdf); default stdout")
    exp.add_argument("--lang", help="language of texts in json, markdown and pdf (default en)")
    exp.add_argument("--since", help="only summaries created on or after this date (YYYY-MM-DD)")
    exp.add_argument("--conversation", type=int, help="only the summary of this conversation")
    exp.add_argument("--consultant", help="only the consenting clients of this consultant code")
    exp.add_argument("--force", action="store_true", help="replace files that already exist")
    exp.set_defaults(func=operators.cmd_export)

    stats = command("stats", "conversations started, finished, drop-off per question, verdicts")
    stats.add_argument("--format", choices=("text", "json"), default="text")
    stats.set_defaults(func=operators.cmd_stats)

    purge = command("purge", "delete finished and abandoned conversations past a retention period")
    purge.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    purge.set_defaults(func=operators.cmd_purge)

    backup = command("backup", "copy the live database consistently (SQLite online backup)")
    backup.add_argument("destination", help="the file to write (a new file, owner-only)")
    backup.add_argument("--force", action="store_true", help="replace the file if it exists")
    backup.set_defaults(func=operators.cmd_backup)

    check = command("check", "validate every flow file and the translation catalogs")
    check.add_argument("--flows", help="folder of flow files (default: the shipped flows/)")
    check.set_defaults(func=operators.cmd_check)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> frozenset[str]:
    """The names of the subcommands (`run`, `chat`, `export` ...)."""
    return frozenset(
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    )


def main(argv: Sequence[str] | None = None) -> int:
    # from here on the environment's secrets never show in output, a traceback included
    hide(os.environ.get(credentials.TOKEN), os.environ.get(credentials.WEBHOOK_SECRET))
    guard()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if retired := credentials.retired_option(argv):
        print(f"advisor: {retired}", file=sys.stderr)
        return 2
    if not any(word in subcommands(parser) for word in argv) and not {"-h", "--help"} & set(argv):
        # the main job: the bot when a token is configured, else the terminal chat; its
        # options (`advisor --db x.db`) are the chosen subcommand's
        token_file = any(word.startswith("--token-file") for word in argv)
        main_job = "run" if credentials.configured() or token_file else "chat"
        flags = [word for word in argv if word in ("-v", "-vv", "--verbose")]
        argv = [*flags, main_job, *(word for word in argv if word not in flags)]
    args = parser.parse_args(argv)
    setup(args.verbose)
    try:
        return args.func(args)
    except FlowError as error:
        print(f"advisor: {error}", file=sys.stderr)
        return 2
    except StorageError as error:
        print(f"advisor: the database cannot be used: {error}", file=sys.stderr)
        return 2
    except (credentials.SecretError, files.OutputError) as error:
        print(f"advisor: {error}", file=sys.stderr)
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
