"""Errors the engine raises, each with a message id the front ends translate."""

from __future__ import annotations

from typing import Any


class InvalidAnswer(ValueError):
    """An input the current question cannot take. `code` is a message id for the front end."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
