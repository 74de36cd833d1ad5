"""The operator's commands: consultants, exports, statistics, retention, backups, checks.

`advisor consultants|export|stats|purge|backup|check`; each calls the service, as the chat's
own /export and /clients do (`check` reads the flows and catalogs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from advisor.flow import FlowError, default_flows_dir, load_flows, open_flow
from advisor.i18n import LANGUAGES, negotiate, translator

from . import credentials, files, housekeeping
from .service import AdvisorService


def bot_username(args: argparse.Namespace) -> str | None:
    """The bot's username: --bot-username, or getMe with the configured token and API URL."""
    if args.bot_username:
        return args.bot_username.lstrip("@")
    token = credentials.bot_token(args.token_file)
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
    except TelegramError as error:  # printed through logs.guard(): the token never shows
        print(f"advisor: cannot ask Telegram for the bot's name: {error}", file=sys.stderr)
        return None


def cmd_consultants(args: argparse.Namespace) -> int:
    from .consulting import describe, share_link

    with AdvisorService.at_path(open_flow(args.flow), args.db) as service:
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
            try:
                added = consultants.add(args.name, telegram_id=args.telegram_id, language=args.lang)
            except ValueError as error:
                print(f"advisor: {error}", file=sys.stderr)
                return 2
            chosen = [added]
        elif args.action in ("disable", "link"):
            find = consultants.disable if args.action == "disable" else consultants.find
            found = find(args.name or "")
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
                "advisor: pass --bot-username, or configure the token (TELEGRAM_BOT_TOKEN or "
                "--token-file), to print the share link",
                file=sys.stderr,
            )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from advisor import export

    if args.format == "pdf" and not args.out:
        print("advisor export: --format pdf needs --out FOLDER", file=sys.stderr)
        return 2

    flow = open_flow(args.flow)
    t = translator(negotiate(args.lang) if args.lang else "en")
    summaries = housekeeping.summaries(
        args.db,
        since=args.since,
        conversation_id=args.conversation,
        consultant_code=args.consultant,
    )
    if sys.stderr.isatty():
        summaries = export.progress(
            summaries, 1000, lambda n: print(f"\r{n} summaries", end="", file=sys.stderr)
        )
    if args.format in ("csv", "json"):
        with contextlib.ExitStack() as stack:
            out = sys.stdout
            if args.out:
                out = stack.enter_context(files.new_text(args.out, args.force))
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

    folder = files.output_folder(args.out) if args.out else None
    count = 0
    for summary in summaries:
        rec, created = summary.recommendation, summary.created_at
        if folder is not None:
            if args.format == "pdf":
                name, data = export.file_name(summary, "pdf"), export.pdf(flow, rec, t, created)
            else:
                name = export.file_name(summary, "md")
                data = export.markdown(flow, rec, t, created).encode("utf-8")
            with files.new_binary(folder / name, args.force) as file:
                file.write(data)
        else:
            sys.stdout.write(export.markdown(flow, rec, t, created) + "\n---\n\n")
        count += 1
    return count


def cmd_stats(args: argparse.Namespace) -> int:
    flow = open_flow(args.flow)
    stats = housekeeping.stats(args.db)
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
    deleted, cutoff = housekeeping.purge(args.db, args.older_than)
    print(f"advisor purge: deleted {deleted} conversation(s) untouched since {cutoff[:10]}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    copied = housekeeping.backup(args.db, args.destination, force=args.force)
    print(f"advisor backup: {copied} copied to {args.destination}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from advisor.catalogs import check_buttons, check_catalogs, unextracted
    from advisor.i18n import locales_dir

    directory = Path(args.flows) if args.flows else default_flows_dir()
    problems: list[str] = []
    flows = {}
    try:
        flows = load_flows(directory)
    except FlowError as error:
        problems.extend(error.problems)
    if not flows and not problems:
        problems.append(f"{directory}: no flow files (*.yaml) found")
    problems.extend(unextracted(locales_dir().parent))
    problems.extend(check_catalogs(list(flows.values())))
    problems.extend(check_buttons(list(flows.values())))
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
