"""The `advisor` command line: the terminal chat, the Telegram bot and the operator's tools.

Each subcommand calls the same functions the chat front ends call.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from advisor.flow import FlowError, default_flows_dir, load_flow, load_flows
from advisor.i18n import LANGUAGES, negotiate, translator
from advisor.messages import error_text
from advisor.report import as_text, build_report, to_json
from advisor.yamlfile import load_yaml

from .service import AdvisorService, AnswersError, StorageError, advise, backup, purge

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
    from .terminal import TerminalChat

    flow = open_flow(args)
    language = negotiate(args.lang) if args.lang else system_language()
    with AdvisorService.at_path(flow, args.db) as service:
        user = service.person(
            "terminal", args.user or getpass.getuser(), name=args.user, language_tag=language
        )
        return TerminalChat(service, user, translator(language)).run()


class RedactToken(logging.Filter):
    """Keeps the bot token out of every log line (httpx and PTB log request URLs)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = None
        if (
            record.exc_info
            and record.exc_info[1] is not None
            and self.token in str(record.exc_info[1])
        ):
            record.exc_info = None
            record.msg = f"{record.msg} (details withheld: they contained the token)"
        return True


def cmd_run(args: argparse.Namespace) -> int:
    from telegram.error import InvalidToken, NetworkError

    from .telegram.app import BotConfig, build_application, run

    token = args.token or os.environ.get("TELEGRAM_BOT_TOKEN")
    if not token:
        print(
            "advisor: no Telegram bot token: set TELEGRAM_BOT_TOKEN or pass --token "
            "(create a bot with @BotFather). Without a token, `advisor chat` runs in the terminal.",
            file=sys.stderr,
        )
        return 2
    secret = args.webhook_secret or os.environ.get("TELEGRAM_WEBHOOK_SECRET")
    if args.webhook_url and not secret:
        print(
            "advisor: webhook mode needs a secret token: --webhook-secret or "
            "TELEGRAM_WEBHOOK_SECRET (1-256 characters A-Z a-z 0-9 _ -)",
            file=sys.stderr,
        )
        return 2
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
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
    flow = open_flow(args)
    from advisor.catalogs import check_catalogs

    if problems := check_catalogs([flow], complete=False):
        print("advisor: the translation catalogs are broken:", file=sys.stderr)
        for problem in problems[:20]:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if args.webhook_url and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        print("advisor: the webhook secret may use only A-Z a-z 0-9 _ - (1-256)", file=sys.stderr)
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
        except NetworkError as error:
            message = str(error).replace(token, "<token>")
            print(f"advisor: cannot reach the Bot API: {message}", file=sys.stderr)
            return 1
    return 0


def bot_username(args: argparse.Namespace) -> str | None:
    """The bot's username: --bot-username, or getMe with the configured token and API URL."""
    if args.bot_username:
        return args.bot_username.lstrip("@")
    token = args.token or os.environ.get("TELEGRAM_BOT_TOKEN")
    if not token:
        return None
    import asyncio

    from telegram import Bot
    from telegram.error import TelegramError

    api_url = args.api_url or os.environ.get("TELEGRAM_API_URL") or "https://api.telegram.org/bot"

    async def get_me() -> str:
        async with Bot(token, base_url=api_url) as bot:
            return bot.username

    try:
        return asyncio.run(get_me())
    except TelegramError as error:
        message = str(error).replace(token, "<token>")
        print(f"advisor: cannot ask Telegram for the bot's name: {message}", file=sys.stderr)
        return None


def cmd_consultants(args: argparse.Namespace) -> int:
    from .consulting import describe
    from .telegram.consultants import share_link

    with AdvisorService.at_path(open_flow(args), args.db) as service:
        consultants = service.consultants
        if args.action == "invite":
            code = consultants.invite()
            print(code)
            print(f"The new consultant sends the bot: /consultant {code}", file=sys.stderr)
            return 0
        if args.action == "add":
            if not args.name:
                print("advisor: consultants add needs a NAME", file=sys.stderr)
                return 2
            chosen = [consultants.add(args.name, telegram_id=args.telegram_id, language=args.lang)]
        elif args.action == "disable":
            found = consultants.disable(args.name or "")
            if found is None:
                print(f"advisor: no consultant {args.name!r}", file=sys.stderr)
                return 1
            chosen = [found]
        elif args.action == "link":
            found = consultants.find(args.name or "")
            if found is None:
                print(f"advisor: no consultant {args.name!r}", file=sys.stderr)
                return 1
            chosen = [found]
        else:
            chosen = consultants.all()
        username = bot_username(args) if args.action in ("add", "link", "list") else None
        for consultant in chosen:
            row = describe(consultant)
            if username:
                row["link"] = share_link(username, consultant, consultant.language)
            if args.json:
                print(json.dumps(row, ensure_ascii=False))
                continue
            state = "enabled" if consultant.enabled else "disabled"
            print(f"{consultant.id}\t{consultant.code}\t{state}\t{consultant.name}")
            if username:
                print(f"\tlink: {row['link']}")
            print(f"\tclients without the link send the bot: /start c{consultant.code}")
        if not username and args.action in ("add", "link"):
            print(
                "advisor: pass --bot-username or a token to print the share link", file=sys.stderr
            )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from advisor import export

    flow = open_flow(args)
    t = translator(negotiate(args.lang) if args.lang else "en")
    with AdvisorService.at_path(flow, args.db) as service:
        summaries = service.summaries(
            since=args.since, conversation_id=args.conversation, consultant_code=args.consultant
        )
        if sys.stderr.isatty():
            summaries = export.progress(
                summaries, 1000, lambda n: print(f"\r{n} summaries", end="", file=sys.stderr)
            )
        if args.format in ("csv", "json"):
            with contextlib.ExitStack() as stack:
                out = sys.stdout
                if args.out:
                    out = stack.enter_context(open(args.out, "w", encoding="utf-8", newline=""))
                if args.format == "csv":
                    count = export.write_csv(flow, summaries, out)
                else:
                    count = export.write_json(flow, summaries, t, out)
        else:
            count = _export_documents(args, flow, t, summaries)
    if count == 0:
        print("advisor export: no finished summary matched", file=sys.stderr)
    elif args.out:
        print(f"advisor export: {count} summaries to {args.out}", file=sys.stderr)
    return 0


def _export_documents(args, flow, t, summaries) -> int:
    """PDF or Markdown: one file per summary in --out (a folder), or Markdown to stdout."""
    from advisor import export

    if args.format == "pdf" and not args.out:
        print("advisor export: --format pdf needs --out FOLDER", file=sys.stderr)
        return 0
    folder = Path(args.out) if args.out else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for summary in summaries:
        rec, created = summary.recommendation, summary.created_at
        if args.format == "pdf":
            (folder / export.file_name(summary, "pdf")).write_bytes(
                export.pdf(flow, rec, t, created)
            )
        elif folder is not None:
            text = export.markdown(flow, rec, t, created)
            (folder / export.file_name(summary, "md")).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(export.markdown(flow, rec, t, created) + "\n---\n\n")
        count += 1
    return count


def cmd_stats(args: argparse.Namespace) -> int:
    flow = open_flow(args)
    with AdvisorService.at_path(flow, args.db) as service:
        stats = service.stats()
    if args.format == "json":
        json.dump(stats, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    order = [q.id for q in flow.questions]
    for language, entry in sorted(stats.items()):
        print(
            f"language {language}: {entry['started']} started, {entry['finished']} finished, "
            f"{entry['open']} open, {entry['restarted']} restarted"
        )
        print("  stopped at (drop-off funnel):")
        for question in order:
            if entry["stopped_at"].get(question):
                print(f"    {question:<22} {entry['stopped_at'][question]:>7}")
        print("  verdicts:")
        for verdict, count in sorted(entry["verdicts"].items(), key=lambda kv: -kv[1]):
            print(f"    {verdict:<22} {count:>7}")
        print("  most frequent red flags:")
        for flag, count in sorted(entry["flags"].items(), key=lambda kv: -kv[1])[:10]:
            print(f"    {flag:<28} {count:>7}")
    if not stats:
        print("no conversations yet")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    if args.older_than < 0:
        print("advisor: --older-than takes a number of days, 0 or more", file=sys.stderr)
        return 2
    deleted, cutoff = purge(args.db, args.older_than)
    print(f"advisor purge: deleted {deleted} conversation(s) untouched since {cutoff[:10]}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    copied = backup(args.db, args.destination)
    print(f"advisor backup: {copied} copied to {args.destination}")
    return 0


def cmd_advise(args: argparse.Namespace) -> int:
    flow = open_flow(args)
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
    names = ", ".join(
        f"{f.id} ({len(f.questions)} questions, version {f.version})" for f in flows.values()
    )
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
    run_bot.add_argument("--token", help="bot token (default $TELEGRAM_BOT_TOKEN)")
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
        "--webhook-secret", help="webhook secret (default $TELEGRAM_WEBHOOK_SECRET)"
    )
    run_bot.add_argument("--listen", default="0.0.0.0", help="webhook address to listen on")
    run_bot.add_argument("--port", type=int, default=8443, help="webhook port to listen on")
    run_bot.set_defaults(func=cmd_run)

    consult = command("consultants", "register consultants, invite them, print their share links")
    consult.add_argument("action", choices=("add", "list", "disable", "invite", "link"))
    consult.add_argument("name", nargs="?", help="NAME for add; ID or CODE for disable and link")
    consult.add_argument("--telegram-id", help="the consultant's Telegram user id (add)")
    consult.add_argument("--lang", help="language their share link presets for clients (add)")
    consult.add_argument("--bot-username", help="the bot's @username, for the share link")
    consult.add_argument("--token", help="bot token, to ask Telegram the username (getMe)")
    consult.add_argument("--api-url", help="Bot API base URL for getMe")
    consult.add_argument("--json", action="store_true", help="one JSON object per consultant")
    consult.set_defaults(func=cmd_consultants)

    exp = command("export", "write finished summaries as CSV, JSON, Markdown or PDF")
    exp.add_argument("--format", choices=("csv", "json", "markdown", "pdf"), default="csv")
    exp.add_argument("--out", help="file (csv, json) or folder (markdown, pdf); default stdout")
    exp.add_argument("--lang", help="language of texts in json, markdown and pdf (default en)")
    exp.add_argument("--since", help="only summaries created on or after this date (YYYY-MM-DD)")
    exp.add_argument("--conversation", type=int, help="only the summary of this conversation")
    exp.add_argument("--consultant", help="only the consenting clients of this consultant code")
    exp.set_defaults(func=cmd_export)

    stats = command("stats", "conversations started, finished, drop-off per question, verdicts")
    stats.add_argument("--format", choices=("text", "json"), default="text")
    stats.set_defaults(func=cmd_stats)

    purge = command("purge", "delete finished and abandoned conversations past a retention period")
    purge.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    purge.set_defaults(func=cmd_purge)

    backup = command("backup", "copy the live database consistently (SQLite online backup)")
    backup.add_argument("destination", help="the file to write")
    backup.set_defaults(func=cmd_backup)

    check = command("check", "validate every flow file and the translation catalogs")
    check.add_argument("--flows", help="folder of flow files (default: the shipped flows/)")
    check.set_defaults(func=cmd_check)
    parser.commands = frozenset(sub.choices)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(word in parser.commands for word in argv) and not {"-h", "--help"} & set(argv):
        # the main job: the bot when a token is configured, else the terminal chat; its
        # options (`advisor --db x.db`) are the chosen subcommand's
        main_job = "run" if os.environ.get("TELEGRAM_BOT_TOKEN") else "chat"
        flags = [word for word in argv if word in ("-v", "--verbose")]
        argv = [*flags, main_job, *(word for word in argv if word not in flags)]
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
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
