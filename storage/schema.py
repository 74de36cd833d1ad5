"""The database schema as an ordered list of migrations (sqlite-utils `Migrations`).

Opening a database applies whatever is pending, so an older file is upgraded in place.
Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("advisor")


@migrations()
def m001_core(db: Database) -> None:
    db.table("users").create(
        {
            "id": int,
            "channel": str,
            "external_id": str,
            "name": str,
            "language": str,
            "language_chosen": int,
            "active": int,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"channel", "external_id", "created_at", "updated_at"},
        defaults={"language_chosen": 0, "active": 1},
    )
    db.table("users").create_index(["channel", "external_id"], unique=True)
    db.table("conversations").create(
        {
            "id": int,
            "user_id": int,
            "flow_id": str,
            "flow_version": str,
            "state": str,
            "answers": str,
            "path": str,
            "language": str,
            "status": str,
            "seq": int,
            "started_at": str,
            "updated_at": str,
            "finished_at": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"user_id", "flow_id", "flow_version", "state", "status", "seq"},
    )
    db.table("conversations").create_index(["user_id", "status"])
    db.table("answers").create(
        {
            "id": int,
            "conversation_id": int,
            "seq": int,
            "action": str,
            "question_id": str,
            "value": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("conversation_id", "conversations", "id")],
        not_null={"conversation_id", "seq", "action", "question_id", "created_at"},
    )
    db.table("answers").create_index(["conversation_id", "seq"], unique=True)
    db.table("summaries").create(
        {
            "id": int,
            "conversation_id": int,
            "user_id": int,
            "flow_id": str,
            "flow_version": str,
            "verdict": str,
            "main_goal": str,
            "flags": str,
            "data": str,
            "language": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("conversation_id", "conversations", "id"), ("user_id", "users", "id")],
        not_null={"conversation_id", "user_id", "verdict", "data", "created_at"},
    )
    db.table("summaries").create_index(["conversation_id"], unique=True)
    db.table("summaries").create_index(["user_id", "created_at"])


@migrations()
def m002_consultants(db: Database) -> None:
    db.table("consultants").create(
        {
            "id": int,
            "code": str,
            "name": str,
            "telegram_id": str,
            "language": str,
            "enabled": int,
            "created_at": str,
        },
        pk="id",
        not_null={"code", "name", "enabled", "created_at"},
        defaults={"enabled": 1},
    )
    db.table("consultants").create_index(["code"], unique=True)
    db.table("consultants").create_index(["telegram_id"])
    db.table("invites").create(
        {"id": int, "code": str, "created_at": str, "consultant_id": int, "redeemed_at": str},
        pk="id",
        not_null={"code", "created_at"},
        foreign_keys=[("consultant_id", "consultants", "id")],
    )
    db.table("invites").create_index(["code"], unique=True)
    # a client of a consultant and the client's current consent; consent_events keeps history
    db.table("clients").create(
        {
            "user_id": int,
            "consultant_id": int,
            "invited_at": str,
            "consent": str,
            "consent_at": str,
        },
        pk=("user_id", "consultant_id"),
        not_null={"invited_at", "consent"},
        foreign_keys=[("user_id", "users", "id"), ("consultant_id", "consultants", "id")],
    )
    db.table("clients").create_index(["consultant_id", "consent"])
    db.table("consent_events").create(
        {"id": int, "user_id": int, "consultant_id": int, "consent": str, "at": str},
        pk="id",
        not_null={"user_id", "consultant_id", "consent", "at"},
    )


@migrations()
def m003_ticks(db: Database) -> None:
    """The options ticked so far on the current multiple-choice question, so that quick
    presses each count, in order, and survive a restart of the bot."""
    db.table("conversations").add_column("ticks", str)


@migrations()
def m004_inbox_outbox(db: Database) -> None:
    """Exactly once: every update is kept from its arrival until its effect is committed
    (a repeated update id is dropped), and what the advisor owes a person (the report, a
    consultant's notification) waits in the outbox until it is sent."""
    db.table("inbox").create(
        {"update_id": int, "body": str, "received_at": str, "done_at": str},
        pk="update_id",
        not_null={"received_at"},
    )
    db.table("inbox").create_index(["done_at"])
    db.table("outbox").create(
        {
            "id": int,
            "user_id": int,
            "summary_id": int,
            "consultant_id": int,  # none: the report to the person; else a notification
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"user_id", "summary_id", "created_at"},
    )
    db.table("outbox").create_index(["sent_at"])


@migrations()
def m005_outbox_parts(db: Database) -> None:
    """How many parts of an owed report are sent (its messages, then its picture), so that
    a report cut short by a failure or a crash goes on from the part after, and no part
    arrives twice."""
    db.table("outbox").add_column("parts_sent", int, not_null_default=0)
