"""Languages: gettext catalogs from `locales/`, negotiation and locale formatting with Babel.

The `.po` files are the source of truth. They are compiled in memory the first time a
language is used (about a millisecond per catalog), so no compiled `.mo` file is committed
or needed; `pybabel compile` still works for translators who want them.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from string import Formatter
from typing import Literal

from babel import Locale, negotiate_locale
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = {
    "en": "English",
    "sv": "Svenska",
    "nl": "Nederlands",
    "fi": "Suomi",
    "pl": "Polski",
}
DEFAULT_LANGUAGE = "en"
DOMAIN = "messages"
_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def placeholders(text: str) -> set[str]:
    """The `{name}` fields of a format string (`<broken braces>` when it does not parse)."""
    try:
        return {name for _, name, _, _ in Formatter().parse(text) if name}
    except ValueError:
        return {"<broken braces>"}


def locales_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "locales"


def negotiate(tag: str | None) -> str:
    """The supported language closest to an IETF tag (`sv-SE`, `nl_BE`, `pt-br`), else English."""
    if not tag or not _TAG.match(tag.strip()):
        return DEFAULT_LANGUAGE
    wanted = tag.strip().replace("-", "_")
    found = negotiate_locale([wanted, wanted.split("_")[0]], list(LANGUAGES), sep="_")
    return found or DEFAULT_LANGUAGE


def catalog_path(language: str) -> Path:
    return locales_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str) -> Catalog:
    with catalog_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


class Translator:
    """Translated and locale-formatted text for one language."""

    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self.locale = Locale.parse(language)
        self._translations = translations

    def __call__(self, message: str, /, **params: object) -> str:
        text = self._translations.gettext(message)
        return text.format(**params) if params else text

    def plural(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return text.format(n=self.number(n), **params)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def date(self, value: date | datetime) -> str:
        return format_date(value, format="long", locale=self.locale)

    def list(self, items: Iterable[str], style: Literal["standard", "or"] = "standard") -> str:
        """`a, b and c` (or with `style="or"`, `a, b or c`) in the language's own way."""
        words = [*items]
        return format_list(words, style=style, locale=self.locale) if words else ""


@lru_cache(maxsize=len(LANGUAGES))
def translator(language: str) -> Translator:
    """The Translator for a supported language, its catalog compiled once per process."""
    language = language if language in LANGUAGES else negotiate(language)
    path = catalog_path(language)
    if not path.exists():
        return Translator(language, gettext.NullTranslations())
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(language))
    buffer.seek(0)
    return Translator(language, gettext.GNUTranslations(buffer))
