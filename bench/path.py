"""What the benchmark's users answer: the same path through the flow for every bot."""

from __future__ import annotations

# The answers, question by question, by button label; a string is typed (the number question).
# The last label of a list is the one that answers; the ones before it are ticks.
PATH: list[tuple[str, list[str] | str]] = [
    ("duration", ["An ongoing customer service"]),
    ("situation", ["Recurring peaks"]),
    ("inhouse_signals", ["None of these", "Done"]),
    ("complexity", ["A mix of simple and complex"]),
    ("monthly_contacts", "12000"),
    ("customer_languages", ["One language"]),
    ("goals", ["Lower cost", "Done"]),
    ("kpis_measurable", ["Yes"]),
    ("commitment", ["Long-term from the start"]),
    ("results_expected", ["Within a year"]),
    ("contract_length", ["Three or four years"]),
    ("pricing", ["Per hour"]),
    ("history_data", ["Two years of daily figures"]),
    ("processes_documented", ["Yes, and they are up to date"]),
    ("internal_owner", ["Yes"]),
    ("keep_facilities", ["No"]),
    ("provider_stage", ["Not started"]),
    ("quality_access", ["Recorded calls", "Done"]),
    ("security_checks", ["GDPR procedures", "Done"]),
]
