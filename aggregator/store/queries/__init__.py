"""Read queries the API and dashboard need, one module per resource.

Routes call these functions and never write SQL themselves, so a second store backend
(PostgreSQL behind the same functions) changes this folder, not the routes. The helpers
here build the two clause shapes every query shares: a province scope and a prefix search.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["in_provinces", "like_prefix"]


def like_prefix(text: str) -> str:
    """A LIKE pattern (with ``ESCAPE '\\'``) matching values that start with ``text``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def in_provinces(column: str, provinces: Sequence[str] | None) -> tuple[str, list[str]]:
    """``column IN (...)`` for a province scope (``1`` when None: every province)."""
    if provinces is None:
        return "1", []
    return f"{column} IN ({','.join('?' * len(provinces)) or 'NULL'})", list(provinces)
