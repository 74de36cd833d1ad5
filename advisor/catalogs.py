"""Checks of the translation catalogs against the messages the code and flows use."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from babel.messages.pofile import read_po

from .flow import BUTTON_LIMIT, Flow
from .i18n import DOMAIN, LANGUAGES, catalog_path, locales_dir, placeholders, translator

KEYWORDS = {"N_": None, "_": None, "plural": (1, 2)}  # as `pybabel extract -k plural:1,2`


def template_path() -> Path:
    return locales_dir() / f"{DOMAIN}.pot"


def unextracted(root: Path) -> list[str]:
    """Messages of the code and flows under `root` that are not in the template yet (a
    string added without `pybabel extract`), as problems. Only in a source checkout, where
    `babel.cfg` says what is extracted; elsewhere there is nothing to compare."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    config = root / "babel.cfg"
    if not config.exists():
        return []
    with config.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call,unused-ignore]
    found: dict[str, str] = {}
    for filename, lineno, message, _, _ in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault(_texts(message)[0], f"{filename}:{lineno}")
    with template_path().open("rb") as handle:
        template = {_texts(m.id)[0] for m in read_po(handle) if m.id}
    return [
        f"{where}: not in {template_path().name} yet: run pybabel extract (README, Translations)"
        for text, where in sorted(found.items(), key=lambda item: item[1])
        if text not in template
    ]


def _texts(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """A message's id or string as a tuple: one text, or the singular and plural forms."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def expected_messages(flows: Iterable[Flow]) -> dict[str, str]:
    """Every message id the advisor uses, with where it comes from: the template and flows."""
    expected: dict[str, str] = {}
    path = template_path()
    if path.exists():
        with path.open("rb") as handle:
            for message in read_po(handle):
                if message.id:
                    expected[_texts(message.id)[0]] = f"{path}:{message.lineno}"
    for flow in flows:
        for text, line, _ in flow.texts():
            expected.setdefault(text, f"{flow.path}:{line or 1}")
    return expected


def check_catalogs(
    flows: Iterable[Flow], languages: Iterable[str] = LANGUAGES, *, complete: bool = True
) -> list[str]:
    """Problems in the catalogs: missing, fuzzy or empty translations, mismatched fields.

    With `complete=False` only what would break the running bot counts (an unreadable
    catalog, placeholders that do not match); a missing translation falls back to English.
    """
    problems: list[str] = []
    expected = expected_messages(list(flows))
    for language in languages:
        path = catalog_path(language)
        if not path.exists():
            problems.append(f"{path}:1: the {language} catalog is missing")
            continue
        with path.open("rb") as handle:
            try:
                catalog = read_po(handle, locale=language, abort_invalid=True)
            except Exception as error:  # babel raises PoFileError and others
                problems.append(f"{path}:1: cannot read the catalog: {error}")
                continue
        for msgid, origin in expected.items():
            message = catalog.get(msgid)
            if message is None:
                if complete:
                    problems.append(f"{path}:1: missing translation of {msgid!r} (from {origin})")
                continue
            where = f"{path}:{message.lineno}"
            strings = _texts(message.string)
            if message.fuzzy and complete:
                problems.append(f"{where}: fuzzy translation of {msgid!r}")
            if not all(s and s.strip() for s in strings):
                if complete:
                    problems.append(f"{where}: empty translation of {msgid!r}")
                continue
            wanted = set().union(*(placeholders(s) for s in _texts(message.id)))
            for string in strings:
                found = placeholders(string)
                if found != wanted:
                    problems.append(
                        f"{where}: placeholders {sorted(found)} do not match "
                        f"{sorted(wanted)} in {msgid!r}"
                    )
    return problems


def check_buttons(flows: Iterable[Flow], languages: Iterable[str] = LANGUAGES) -> list[str]:
    """Option buttons longer than a phone shows (`BUTTON_LIMIT`), in any language: such an
    option needs a shorter `label` in the flow, or a shorter translation of it."""
    problems: list[str] = []
    for language in languages:
        t = translator(language)
        for flow in flows:
            for question in flow.questions:
                for option in question.options:
                    shown = t(option.button)
                    if len(shown) > BUTTON_LIMIT:
                        problems.append(
                            f"{flow.path}:{question.line or 1}: the button of {question.id}."
                            f"{option.id} has {len(shown)} characters in {language} (at most "
                            f"{BUTTON_LIMIT}): {shown!r}"
                        )
    return problems
