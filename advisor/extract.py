"""A Babel extractor for flow files, so `pybabel extract` finds their texts.

Registered as the `advisor_flow` extraction method (see babel.cfg and pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from .yamlfile import LineDict, LineList, load_yaml

TEXT_KEYS = ("title", "intro", "text", "label", "summary", "topic", "help", "why", "instead")
TITLE_MAPS = ("sections", "areas")


def extract_flow(
    fileobj: BinaryIO, keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Yield (line, function, message, comments) for every user-visible text in a flow."""
    data = load_yaml(fileobj.read().decode("utf-8"))
    yield from _walk(data, [])


def _walk(node: Any, path: list[str]) -> Iterator[tuple[int, str | None, str, list[str]]]:
    if isinstance(node, LineDict):
        where = node.get("id")
        trail = [*path, str(where)] if where else path
        for key, value in node.items():
            line = node.line_of(key) or 1
            if key in TEXT_KEYS and isinstance(value, str):
                comment = f"{'/'.join(trail)}: {key}" if trail else key
                if key == "label":
                    comment += " (a button: 32 characters at most)"
                yield line, None, value, [comment]
            elif key in TITLE_MAPS and isinstance(value, LineDict):
                for name, title in value.items():
                    if isinstance(title, str):
                        yield value.line_of(name) or line, None, title, [f"{key}: {name}"]
            else:
                yield from _walk(value, [*trail, str(key)] if not where else trail)
    elif isinstance(node, LineList):
        for item in node:
            yield from _walk(item, path)
