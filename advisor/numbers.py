"""Numbers the way people type them, in their own locale.

`12000`, `12 000`, `12,000` and `12.000` all mean twelve thousand where that is the
custom; a decimal separator is honoured only in the locale that uses it (`2,5` is two and a
half in Swedish, `2.5` in English). A count (`whole`) has no decimals at all, so there
`12.000` and `12,000` are twelve thousand in every locale, never a quiet twelve.
"""

from __future__ import annotations

import re
from functools import lru_cache

from babel import Locale
from babel.numbers import get_decimal_symbol, get_group_symbol

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")
_SIGNED = re.compile(r"^[+-]?\d+(\.\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")  # 12.000, 1,200,000


@lru_cache(maxsize=16)
def _symbols(locale: str) -> tuple[str, str]:
    parsed = Locale.parse(locale)
    return get_decimal_symbol(parsed), get_group_symbol(parsed)


def parse_number(text: str, locale: str = "en", *, whole: bool = False) -> int | float | None:
    """The number in `text`, or None when it is not one; `whole` for a count."""
    text = _SPACES.sub("", text.strip())
    if not text:
        return None
    if whole and _GROUPED.match(text):
        return int(re.sub(r"[.,]", "", text))
    decimal, group = _symbols(locale)
    group = "" if group.isspace() or group in "\u00a0\u202f" else group
    other = "," if decimal == "." else "."
    if group and group in text:
        # a group separator must separate groups of three digits, and come before the
        # decimals: "12.000,00" in English is not twelve (nor anything else for sure)
        if group in text.partition(decimal)[2]:
            return None
        head, *tail = text.lstrip("+-").split(decimal)[0].split(group)
        if not head or any(len(part) != 3 for part in tail):
            return None
        text = text.replace(group, "")
    elif other in text and decimal in text:
        return None
    elif other in text and re.fullmatch(rf"[+-]?\d{{1,3}}(\{other}\d{{3}})+", text):
        # 12,000 typed in a locale that groups with '.' or spaces: still twelve thousand
        text = text.replace(other, "")
    text = text.replace(decimal, ".")
    if not _SIGNED.match(text):
        return None
    number = float(text)
    return int(number) if number.is_integer() and "." not in text else number
